/**
 * The chunk kernels' subgroup reductions on lavapipe (subgroup size 8; SwiftShader's 4 is covered in
 * tests/chunk/subgroups.test.ts), in f32 and with f16 operand tiles, against the float64 token recurrence,
 * next to the workgroup-memory path. T is not a multiple of the chunk and a chunk holds more rows than a
 * subgroup, so the reverse cumsum runs several segments and a partial last one.
 */
import { describe, expect, it } from 'vitest';
import { recurrentBackward, recurrentForward } from '@/engine/miras/chunk/naive';
import { capsFromDescription } from '@/engine/gpu/describe';
import type { ChunkScanConfig, ChunkScanInputs } from '@/engine/miras/chunk/types';
import { gradNames } from '@/engine/miras/chunk/types';
import { f16Gpu } from '../helpers/f16-gpu';
import { randomInputs, relErr, runChunkOnGpu } from '../chunk/harness';

type F = Float64Array;
// f16 bounds as in chunk-f16.test.ts (10 unit roundoffs of f16); f32 as tests/chunk/gpu.test.ts
const TOL = { f32: 1e-4, f16: 10 * 2 ** -11 };

describe('chunk-kernel subgroup reductions on lavapipe (subgroup size 8) vs float64', () => {
  for (const [label, c] of [['Gated DeltaNet', { rule: 'delta', gate: 'scalar' }], ['simple GLA', { rule: 'linear', gate: 'scalar' }]] as const) {
    it(`${label}: subgroup and workgroup-memory paths, f32 and f16`, async () => {
      const { device, description } = await f16Gpu();
      const caps = capsFromDescription(description);
      if (!caps.subgroups) throw new Error(`lavapipe should offer subgroups; got [${description.features}]`);
      const s = { B: 1, T: 29, H: 1, K: 16, V: 16 };
      const cfg: ChunkScanConfig = { ...c, scale: 0.25, initialState: true };
      const { x, dO, dht } = randomInputs(cfg, s, 4242);
      const xi = x as unknown as ChunkScanInputs<F>;
      const ref = recurrentForward(cfg, s, xi);
      const gref = recurrentBackward(cfg, s, xi, { do: dO, dht }) as unknown as Record<string, F>;
      for (const precision of ['f32', 'f16'] as const)
        for (const subgroups of [true, false]) {
          const r = await runChunkOnGpu(device, cfg, s, x, dO, dht, caps, { chunk: 16, workgroupSize: 64, subgroups, precision });
          const errs = [relErr(r.o, ref.o), relErr(r.ht, ref.ht), ...gradNames(cfg).map((n) => relErr(r.grads[n], gref[n]))];
          console.log(`[chunk subgroups lavapipe] ${label} ${precision}, subgroups ${subgroups}: max rel err ${Math.max(...errs).toExponential(1)} (dg ${relErr(r.grads.dg, gref.dg).toExponential(1)})`);
          expect(Math.max(...errs)).toBeLessThan(TOL[precision]);
        }
    });
  }
});
