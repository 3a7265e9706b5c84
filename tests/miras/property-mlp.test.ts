/**
 * Property test of the deep MLP memory kernel over random valid combinations AND shapes (the fixed option cases run at
 * d = 8 in mlp-gpu.test.ts): combinations drawn from the catalog (engine/miras/reference/random.ts: every bias,
 * every retention valid with an MLP, GD / momentum / mini-batch GD with random b and lag token, 1–3 layers,
 * expansion 1–2), head dims 16 and 32 (d_k ≠ d_v when the draw has no residual), T not a multiple of the
 * checkpoint interval or b. WebGPU (DEFAULT_CAPS) against the float64 tape oracle on o, final state and every
 * input gradient.
 */
import { describe, expect, it } from 'vitest';
import { testGpu } from '../helpers/gpu';
import { DEFAULT_CAPS } from '@/engine/plan/kernel';
import { mlpKernels } from '@/engine/miras/mlp/wgsl';
import { runScanKernels } from '@/engine/miras/recurrent/run';
import { Rng, randomCombo } from '@/engine/miras/reference/random';
import type { MirasMixer } from '@/engine/spec';
import { errors, fmtErrors, oracleCase } from './mlp-helpers';

describe('property: deep MLP memory kernel on random combinations and shapes', () => {
  const r = new Rng(31);
  for (let n = 0; n < 4; n++) {
    const c = randomCombo(r, { memories: ['mlp'] });
    const residual = n % 2 === 0; // every other draw without the residual, so d_k ≠ d_v
    const dk = n < 2 ? 32 : 16; // with the residual flip: d_k = d_v = 32, 32 → 16, 16 = 16, 16 → 32
    const dv = residual ? dk : dk === 16 ? 32 : 16;
    const time = 5 + Math.floor(r.next() * 8);
    const heads = 1 + Math.floor(r.next() * 2);
    const memory = { kind: c.memory.kind, params: { ...c.memory.params, residual } as Record<string, number | string | boolean> };
    const m: MirasMixer = { type: 'miras', heads, headDimK: dk, headDimV: dv, memory, bias: c.bias, retention: c.retention, learner: c.learner, block: c.block };
    const p = memory.params;
    const name = `#${n} mlp(${p.layers}×${p.expansion} ${p.activation}${p.layerNorm ? ' LN' : ''}${residual ? ' res' : ''})/${c.bias.kind}/${c.retention.kind}/${c.learner.kind}${c.learner.kind === 'chunk' ? `(b=${c.learner.params.chunkSize}${c.learner.params.lagToken ? ', lag' : ''})` : ''} H${heads} dk${dk} dv${dv} T${time}`;
    it(name, async () => {
      const { device } = await testGpu();
      const s = { batch: 1, time, heads, dk, dv };
      const oc = oracleCase(m, s, 300 + n);
      const k = mlpKernels(oc.mc, s, DEFAULT_CAPS, { checkpoint: 4 });
      const got = await runScanKernels(device, k, { inputs: oc.oracle.inputs(s), outputs: oc.oracle.outputs(s) }, oc.x, { o: oc.go, finalState: oc.gf });
      const errs = errors(got, oc);
      console.log(`[property mlp] ${name}: ${fmtErrors(errs)}`);
      for (const [e, v] of Object.entries(errs)) expect(v, e).toBeLessThan(e === 'o' || e === 'finalState' ? 1e-4 : 1e-3);
    });
  }
});
