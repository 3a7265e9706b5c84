/**
 * Fused recurrent WGSL scan vs B1's float64 oracle for every preset's Miras mixer the kernel covers, and
 * seeded property tests over random valid combinations (engine/miras/reference/random.ts) and shapes:
 * head dims 16..128, T not a multiple of the checkpoint interval or the chunk size. Tiny B·H for SwiftShader.
 * Max errors are printed per case; outputs must be within 1e-4 and gradients within 1e-3 (relative to scale).
 */
import { describe, expect, it } from 'vitest';
import { testGpu } from '../helpers/gpu';
import { DEFAULT_CAPS } from '@/engine/plan/kernel';
import type { MirasMixer } from '@/engine/spec';
import { PRESETS } from '@/engine/presets';
import { comboInputs, comboOutputs, recurrentUnsupported, resolveCombo } from '@/engine/miras/math/combo';
import { recurrentKernels } from '@/engine/miras/recurrent/codegen';
import { runScanKernels } from '@/engine/miras/recurrent/run';
import { referenceProviderFor } from '@/engine/miras/reference/provider';
import { Rng, randomCombo } from '@/engine/miras/reference/random';
import { gauss, randomInputs, relErr, rng } from './kernel-helpers';

async function check(label: string, m: MirasMixer, s: { batch: number; time: number; heads: number; dk: number; dv: number }, seed: number, checkpoint?: number) {
  const { device } = await testGpu();
  const c = resolveCombo(m);
  const x = randomInputs(c, s, seed);
  const r = rng(seed + 1);
  const oracle = referenceProviderFor(c.catalog);
  const want = oracle.referenceForward(x, s);
  const go = Float64Array.from(want.o, () => gauss(r));
  const gf = Float64Array.from(want.finalState, () => gauss(r));
  const wantG = oracle.referenceBackward(x, { o: go, finalState: gf }, s);
  const k = recurrentKernels(c, s, DEFAULT_CAPS, checkpoint ? { checkpoint } : {});
  const got = await runScanKernels(device, k, { inputs: comboInputs(c, s), outputs: comboOutputs(c, s) }, x, { o: go, finalState: gf });
  const eo = Math.max(relErr(got.o, want.o), relErr(got.finalState, want.finalState));
  const eg = Object.fromEntries(Object.keys(wantG).map((n) => [n, relErr(got.grads![n], wantG[n])]));
  const maxG = Math.max(...Object.values(eg));
  console.log(
    `[kernel] ${label} ${c.id} B${s.batch} T${s.time} H${s.heads} dk${s.dk} dv${s.dv} C${k.checkpoint}: fwd ${eo.toExponential(2)} bwd ${maxG.toExponential(2)} (${Object.entries(eg)
      .map(([n, e]) => `${n} ${e.toExponential(1)}`)
      .join(', ')})`,
  );
  expect(eo, `${label}: forward`).toBeLessThan(1e-4);
  for (const [n, e] of Object.entries(eg)) expect(e, `${label}: grad ${n}`).toBeLessThan(1e-3);
}

describe('presets: fused recurrent kernel vs float64 oracle', () => {
  const seen = new Set<string>();
  for (const p of PRESETS) {
    const spec = p.build({ vocabSize: 32, dModel: 32, nLayers: 2 });
    for (const layer of spec.layers) {
      const m = layer.mixer;
      if (m.type !== 'miras') continue;
      const key = `${p.name}:${JSON.stringify(m)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      it(`${p.name}`, async () => {
        let unsupported: string | null = null;
        try {
          resolveCombo(m);
        } catch (e) {
          unsupported = (e as Error).message;
        }
        if (unsupported) {
          // Say so loudly (never skip silently): these presets run on the reference/other kernels.
          console.log(`[kernel] ${p.name}: not a fused-recurrent combination (${unsupported})`);
          expect(unsupported).toMatch(/does not support/);
          return;
        }
        const heads = Math.min(m.heads, 2);
        await check(p.name, { ...m, heads }, { batch: 1, time: 9, heads, dk: m.headDimK, dv: m.headDimV }, 17, 4);
      });
    }
  }
});

describe('property: random valid combinations and shapes', () => {
  const dims = [16, 32, 64, 128];
  const rngC = new Rng(7);
  const shapeR = rng(77);
  for (let n = 0; n < 12; n++) {
    const combo = randomCombo(rngC, { memories: ['matrix', 'vector'], mlstm: false });
    if (recurrentUnsupported(combo)) {
      n--;
      continue;
    }
    const dk = dims[Math.floor(shapeR() * dims.length)];
    const dv = dims[Math.floor(shapeR() * (dk >= 64 ? 2 : dims.length))];
    const time = 5 + Math.floor(shapeR() * 12); // 5..16, rarely a multiple of the checkpoint interval
    const heads = dk * dv >= 64 * 64 ? 1 : 2;
    const m: MirasMixer = { type: 'miras', heads, headDimK: dk, headDimV: dv, memory: combo.memory, bias: combo.bias, retention: combo.retention, learner: combo.learner, block: combo.block };
    it(`#${n} ${combo.memory.kind}/${combo.bias.kind}/${combo.retention.kind}/${combo.learner.kind} dk${dk} dv${dv} T${time}`, async () => {
      await check(`random#${n}`, m, { batch: 1, time, heads, dk, dv }, 100 + n, 3);
    });
  }
});
