/**
 * Property test of the deep MLP memory kernel over random valid combinations AND shapes (the fixed option cases run at
 * d = 8 in mlp-gpu.test.ts): combinations drawn from the catalog (engine/miras/reference/random.ts: every bias,
 * every retention valid with an MLP, GD / momentum / mini-batch GD with random b and lag token, 1–3 layers,
 * expansion 1–2), head dims 16 and 32 (d_k ≠ d_v when the draw has no residual), T not a multiple of the
 * checkpoint interval or b. The kernel the engine registers (DEFAULT_CAPS) against the float64 oracle on o, final state
 * and every input gradient, with inputs in the ranges a block produces (small steps for super-quadratic biases).
 */
import { describe, it } from 'vitest';
import { Rng, randomCombo } from '@/engine/miras/reference/random';
import type { ComboInput } from '@/engine/miras/catalog';
import { kernelVsOracle } from './audit-helpers';

describe('property: deep MLP memory kernel on random combinations and shapes', () => {
  const r = new Rng(31);
  for (let n = 0; n < 4; n++) {
    const c = randomCombo(r, { memories: ['mlp'] });
    const residual = n % 2 === 0; // every other draw without the residual, so d_k ≠ d_v
    const dk = n < 2 ? 32 : 16; // with the residual flip: d_k = d_v = 32, 32 → 16, 16 = 16, 16 → 32
    const dv = residual ? dk : dk === 16 ? 32 : 16;
    const time = [7, 10, 11, 13][n]; // never a multiple of the default checkpoint interval round(√T)
    const heads = 1 + Math.floor(r.next() * 2);
    const memory = { kind: c.memory.kind, params: { ...c.memory.params, residual } as Record<string, number | string | boolean> };
    const combo: ComboInput = { memory, bias: c.bias, retention: c.retention, learner: c.learner, block: c.block };
    const p = memory.params;
    const name = `#${n} mlp(${p.layers}×${p.expansion} ${p.activation}${p.layerNorm ? ' LN' : ''}${residual ? ' res' : ''})/${c.bias.kind}/${c.retention.kind}/${c.learner.kind}${c.learner.kind === 'chunk' ? `(b=${c.learner.params.chunkSize}${c.learner.params.lagToken ? ', lag' : ''})` : ''} H${heads} dk${dk} dv${dv} T${time}`;
    it(name, () => kernelVsOracle(name, combo, { batch: 1, time, heads, dk, dv }, { kernel: /mlp/, seed: 300 + n }));
  }
});
