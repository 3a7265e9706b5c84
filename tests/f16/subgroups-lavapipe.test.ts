/**
 * The chunk kernels' subgroup reductions on lavapipe (subgroup size 8; SwiftShader's 4 is covered in
 * tests/chunk/subgroups.test.ts), in f32 and with f16 operand tiles, against the float64 token recurrence.
 * T is not a multiple of the chunk and a chunk holds more rows than a
 * subgroup, so the reverse cumsum runs several segments and a partial last one.
 */
import { describe, expect, it } from 'vitest';
import { capsFromDescription } from '@/engine/gpu/describe';
import type { ChunkScanConfig } from '@/engine/miras/chunk/types';
import { f16Gpu } from '../helpers/f16-gpu';
import { gpuErrors } from '../chunk/harness';

// f16 bounds as in chunk-f16.test.ts (10 unit roundoffs of f16); f32 as tests/chunk/gpu.test.ts
const TOL = { f32: 1e-4, f16: 10 * 2 ** -11 };

const CASES: [string, Omit<ChunkScanConfig, 'scale' | 'initialState'>, 'f32' | 'f16'][] = [
  ['Gated DeltaNet (chunk-end sum, WY dg cumsum)', { rule: 'delta', gate: 'scalar' }, 'f32'],
  ['Gated DeltaNet (chunk-end sum, WY dg cumsum)', { rule: 'delta', gate: 'scalar' }, 'f16'],
  ['simple GLA (dg kernel: total and cumsum)', { rule: 'linear', gate: 'scalar' }, 'f32'],
];

// the workgroup-memory path of the same kernels is what every other test runs (DEFAULT_CAPS has no subgroups)
describe('chunk-kernel subgroup reductions on lavapipe (subgroup size 8) vs float64', () => {
  for (const [label, c, precision] of CASES) {
    it(`${label}, ${precision}`, async () => {
      const { device, description } = await f16Gpu();
      const caps = capsFromDescription(description);
      if (!caps.subgroups) throw new Error(`lavapipe should offer subgroups; got [${description.features}]`);
      const s = { B: 1, T: 29, H: 1, K: 16, V: 16 };
      const cfg: ChunkScanConfig = { ...c, scale: 0.25, initialState: true };
      const { errs } = await gpuErrors(device, cfg, s, 4242, caps, { chunk: 16, workgroupSize: 64, subgroups: true, precision });
      const worst = Math.max(...Object.values(errs));
      console.log(`[chunk subgroups lavapipe] ${label} ${precision}: max rel err ${worst.toExponential(1)} (dg ${errs.dg.toExponential(1)})`);
      expect(worst).toBeLessThan(TOL[precision]);
    }, 600_000);
  }
});
