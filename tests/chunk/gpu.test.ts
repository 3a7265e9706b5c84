/**
 * Chunk-parallel WGSL scans on a real WebGPU device (SwiftShader in CI) against the float64 token
 * recurrence: o, final state and every gradient, for every form, T not a multiple of the chunk,
 * head dims 16 and 32 plus one 64 case, with the workgroups and staged tiles the GPU uses, once
 * with the barrier-free configuration (workgroupSize 1), and with small workgroups (multi-row register
 * blocks) and head dims that are not multiples of 4. The same check runs on the H200 in
 * bench/scan-chunk.ts at d = 64 (docs/benchmarks.md).
 */
import { describe, expect, it } from 'vitest';
import { recurrentBackward, recurrentForward } from '@/engine/miras/chunk/naive';
import { DEFAULT_CAPS } from '@/engine/plan/kernel';
import type { ChunkScanConfig, ChunkScanInputs } from '@/engine/miras/chunk/types';
import { gradNames } from '@/engine/miras/chunk/types';
import { testGpu } from '../helpers/gpu';
import { randomInputs, relErr, runChunkOnGpu } from './harness';

type F = Float64Array;
const CASES: [string, Omit<ChunkScanConfig, 'scale' | 'initialState'>, { T: number; K: number; V: number; H: number; chunk: number; wg1?: boolean; wg?: number; smem?: number }][] = [
  ['linear attention', { rule: 'linear', gate: 'none' }, { T: 37, K: 16, V: 16, H: 2, chunk: 16 }],
  ['Gated DeltaNet, barrier-free (one invocation per workgroup)', { rule: 'delta', gate: 'scalar' }, { T: 23, K: 16, V: 16, H: 1, chunk: 16, wg1: true }],
  ['RetNet', { rule: 'linear', gate: 'const', logDecay: [Math.log(1 - 2 ** -5)] }, { T: 40, K: 32, V: 16, H: 1, chunk: 32 }],
  ['Mamba2 (β = Δ)', { rule: 'linear', gate: 'scalar', beta: true }, { T: 29, K: 16, V: 32, H: 2, chunk: 16 }],
  ['simple GLA', { rule: 'linear', gate: 'scalar' }, { T: 33, K: 32, V: 32, H: 1, chunk: 32 }],
  ['GLA, one chunk of 16', { rule: 'linear', gate: 'vector' }, { T: 21, K: 16, V: 16, H: 2, chunk: 16 }],
  ['GLA, 32-chunks of two 16-token sub-chunks', { rule: 'linear', gate: 'vector' }, { T: 39, K: 32, V: 16, H: 1, chunk: 32 }],
  ['DeltaNet', { rule: 'delta', gate: 'none' }, { T: 37, K: 16, V: 16, H: 2, chunk: 16 }],
  ['DeltaNet, 32-chunks (16×16 solves + merge)', { rule: 'delta', gate: 'none' }, { T: 40, K: 32, V: 32, H: 1, chunk: 32 }],
  ['Gated DeltaNet', { rule: 'delta', gate: 'scalar' }, { T: 35, K: 32, V: 16, H: 2, chunk: 32 }],
  ['Gated DeltaNet, d = 64', { rule: 'delta', gate: 'scalar' }, { T: 19, K: 64, V: 64, H: 1, chunk: 16 }],
  // small workgroups make the register-blocked products take 2- and 4-row blocks (the H200's 256-invocation
  // workgroups at d = 64 do), and head dims that are not multiples of 4 take the 2-column blocks and the
  // guarded vec4 loads of the chunk-local state kernels
  ['simple GLA, 64-invocation workgroups (4- and 2-row register blocks)', { rule: 'linear', gate: 'scalar' }, { T: 37, K: 32, V: 16, H: 1, chunk: 32, wg: 64 }],
  ['GLA, head dims 10 and 6, 16-invocation workgroups', { rule: 'linear', gate: 'vector' }, { T: 21, K: 10, V: 6, H: 1, chunk: 16, wg: 16 }],
  ['Gated DeltaNet, 16-invocation workgroups (4-row register blocks)', { rule: 'delta', gate: 'scalar' }, { T: 23, K: 16, V: 16, H: 1, chunk: 16, wg: 16 }],
  // 16 KiB of workgroup memory: the delta rule's state passes cannot hold w, k (and q) tiles side by side
  ['Gated DeltaNet, 16 KiB of workgroup memory (compact state passes)', { rule: 'delta', gate: 'scalar' }, { T: 35, K: 64, V: 16, H: 1, chunk: 32, smem: 16384 }],
];

describe('chunk scans on WebGPU vs the float64 token recurrence', () => {
  for (const [label, c, sh] of CASES) {
    it(`${label} (T=${sh.T}, K=${sh.K}, V=${sh.V}, C=${sh.chunk})`, async () => {
      const { device, description } = await testGpu();
      const s = { B: 1, T: sh.T, H: sh.H, K: sh.K, V: sh.V };
      const cfg: ChunkScanConfig = { ...c, scale: 1 / Math.sqrt(sh.K), initialState: true };
      const { x, dO, dht } = randomInputs(cfg, s, 1000 + sh.T);
      const caps = { ...DEFAULT_CAPS, maxComputeWorkgroupStorageSize: sh.smem ?? Math.max(16384, description.limits.maxComputeWorkgroupStorageSize ?? 0) };
      const r = await runChunkOnGpu(device, cfg, s, x, dO, dht, caps, { chunk: sh.chunk, workgroupSize: sh.wg1 ? 1 : sh.wg });
      const xi = x as unknown as ChunkScanInputs<F>;
      const ref = recurrentForward(cfg, s, xi);
      const gref = recurrentBackward(cfg, s, xi, { do: dO, dht }) as unknown as Record<string, F>;
      const fwd = Math.max(relErr(r.o, ref.o), relErr(r.ht, ref.ht));
      const bwd = Math.max(...gradNames(cfg).map((n) => relErr(r.grads[n], gref[n])));
      console.log(`[chunk gpu] ${label}: C=${r.chunk} max rel err fwd ${fwd.toExponential(1)} bwd ${bwd.toExponential(1)} (${gradNames(cfg).join(', ')})`);
      expect(r.chunk).toBe(sh.chunk);
      expect(fwd).toBeLessThan(1e-4);
      expect(bwd).toBeLessThan(1e-3);
    });
  }
});
