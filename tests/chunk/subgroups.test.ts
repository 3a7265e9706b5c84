/**
 * The chunk kernels' subgroup reductions (the delta rule's chunk-end sum, the dg reverse cumsums of the
 * scalar gates) on SwiftShader (subgroup size 4) against the float64 token recurrence, next to the
 * workgroup-memory path on the same inputs; and the run-time fallback: one-invocation workgroups never
 * have a full subgroup, so the subgroup kernels must take their serial path there and stay exact.
 * Lavapipe (size 8) runs the same check in tests/f16/subgroups-lavapipe.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { planChunkScan } from '@/engine/miras/chunk/chunk';
import { DEFAULT_CAPS } from '@/engine/plan/kernel';
import type { ChunkScanConfig } from '@/engine/miras/chunk/types';
import { testGpu } from '../helpers/gpu';
import { gpuErrors } from './harness';

const CASES: [string, Omit<ChunkScanConfig, 'scale' | 'initialState'>, { T: number; K: number; V: number; chunk: number; wg?: number }][] = [
  ['Gated DeltaNet (chunk-end sum, dg cumsum)', { rule: 'delta', gate: 'scalar' }, { T: 37, K: 16, V: 16, chunk: 16, wg: 64 }],
  ['simple GLA (dg kernel: total and cumsum)', { rule: 'linear', gate: 'scalar' }, { T: 37, K: 16, V: 16, chunk: 16, wg: 64 }],
  ['Gated DeltaNet, one invocation per workgroup (run-time fallback)', { rule: 'delta', gate: 'scalar' }, { T: 21, K: 16, V: 16, chunk: 16, wg: 1 }],
];

describe('chunk-kernel subgroup reductions on SwiftShader vs float64', () => {
  it('uses subgroup builtins only when the caps say so', () => {
    const cfg: ChunkScanConfig = { rule: 'delta', gate: 'scalar', scale: 0.25, initialState: false };
    const s = { B: 1, T: 300, H: 2, K: 32, V: 32 };
    const on = planChunkScan(cfg, s, { ...DEFAULT_CAPS, subgroups: true });
    const off = planChunkScan(cfg, s, DEFAULT_CAPS);
    const forced = planChunkScan(cfg, s, { ...DEFAULT_CAPS, subgroups: true }, { subgroups: false });
    const sg = (p: typeof on) => [...p.forward, ...p.backward].filter((k) => k.wgsl.includes('subgroupAdd')).map((k) => k.name);
    expect(sg(on)).toEqual(['chunk_dqk_bwd', 'chunk_wy_bwd_b']);
    for (const k of [...on.forward, ...on.backward]) expect(k.wgsl.startsWith('enable subgroups;')).toBe(sg(on).includes(k.name));
    expect(sg(off)).toEqual([]);
    expect([...forced.forward, ...forced.backward].map((k) => k.wgsl)).toEqual([...off.forward, ...off.backward].map((k) => k.wgsl));
    expect(() => planChunkScan(cfg, s, DEFAULT_CAPS, { subgroups: true })).toThrow(/'subgroups'/);
  });

  for (const [label, c, sh] of CASES) {
    it(`${label} (T=${sh.T}, d=${sh.K}, C=${sh.chunk}, ${sh.wg} invocations)`, async () => {
      const { device, description } = await testGpu();
      if (!description.features.includes('subgroups')) throw new Error(`this test needs an adapter with subgroups (SwiftShader has them); got [${description.features}]`);
      const s = { B: 1, T: sh.T, H: 1, K: sh.K, V: sh.V };
      const cfg: ChunkScanConfig = { ...c, scale: 1 / Math.sqrt(sh.K), initialState: true };
      for (const subgroups of [true, false]) {
        const { errs } = await gpuErrors(device, cfg, s, 300 + sh.T, { ...DEFAULT_CAPS, subgroups: true }, { chunk: sh.chunk, workgroupSize: sh.wg, subgroups });
        console.log(`[chunk subgroups] ${label}, subgroups ${subgroups}: max rel err ${Math.max(...Object.values(errs)).toExponential(1)} (dg ${errs.dg.toExponential(1)})`);
        expect(Math.max(...Object.values(errs))).toBeLessThan(1e-4);
      }
    });
  }
});
