/**
 * The chunk scans' f16 precision mode (ChunkPlanOptions.precision = 'f16') on a device with shader-f16
 * (Mesa lavapipe, tests/helpers/f16-gpu.ts) against the float64 token recurrence: o, the final state and every
 * gradient, for GLA, DeltaNet, Gated DeltaNet, simple GLA and RetNet (Mamba2's β kernels and linear attention's
 * ungated path add no f16 code of their own), T not a multiple of the chunk, with an initial state.
 * Lavapipe compiles every pipeline with LLVM on the CPU: each case takes tens of seconds on a busy 2-core machine.
 *
 * Tolerances, from f16's unit roundoff u = 2^-11 ≈ 4.9e-4 (round to nearest): the f16 mode rounds each staged
 * operand (q, k, v, do, w, u, v_new) once and the intra-chunk matrices A and dS once more; products and
 * sums are f32. A forward term a·b or A·v carries at most 2–3 roundings (≤ 3u ≈ 1.5e-3 of its size); a gradient
 * term chains two such products (dS = do·v rounded, then dS·k: ≤ 5u ≈ 2.4e-3). relErr divides by each tensor's
 * largest entry, and sums of terms of both signs can be smaller than their terms, so we allow 6u = 3e-3 (forward)
 * and 10u = 5e-3 (gradients). Measured on lavapipe: at most 8.5e-4 (the logged lines here, in subgroups-lavapipe and cli-precision), against ~3e-7 in f32.
 * Each case also checks the f16 path really ran: its error is above 1e-5 (f32 gives ~1e-7 here) and its WGSL
 * enables f16 and declares f16 tiles.
 */
import { describe, expect, it } from 'vitest';
import { planChunkScan } from '@/engine/miras/chunk/chunk';
import { capsFromDescription } from '@/engine/gpu/describe';
import type { ChunkScanConfig } from '@/engine/miras/chunk/types';
import { gradNames } from '@/engine/miras/chunk/types';
import { f16Gpu } from '../helpers/f16-gpu';
import { gpuErrors } from '../chunk/harness';

const U = 2 ** -11;
const TOL_FWD = 6 * U;
const TOL_BWD = 10 * U;

const retnet = [Math.log(1 - 2 ** -5), Math.log(1 - 2 ** -6)];
const WG = 64; // lavapipe runs a workgroup's invocations as coroutines: 64-invocation workgroups keep the file quick
const CASES: [string, Omit<ChunkScanConfig, 'scale' | 'initialState'>, { T: number; K: number; V: number; H: number; chunk: number }][] = [
  ['GLA (channel-wise gate), two 16-token sub-chunks', { rule: 'linear', gate: 'vector' }, { T: 39, K: 16, V: 16, H: 1, chunk: 32 }],
  ['DeltaNet', { rule: 'delta', gate: 'none' }, { T: 39, K: 16, V: 16, H: 1, chunk: 32 }],
  ['Gated DeltaNet', { rule: 'delta', gate: 'scalar' }, { T: 37, K: 32, V: 16, H: 1, chunk: 16 }],
  ['simple GLA', { rule: 'linear', gate: 'scalar' }, { T: 37, K: 16, V: 16, H: 1, chunk: 16 }],
  ['RetNet', { rule: 'linear', gate: 'const', logDecay: retnet }, { T: 37, K: 16, V: 16, H: 2, chunk: 16 }],
];

describe("chunk scans in precision 'f16' (shader-f16) vs the float64 token recurrence", () => {
  for (const [label, c, sh] of CASES) {
    it(`${label} (T=${sh.T}, K=${sh.K}, V=${sh.V}, C=${sh.chunk})`, async () => {
      const { device, description } = await f16Gpu();
      const caps = capsFromDescription(description);
      const s = { B: 1, T: sh.T, H: sh.H, K: sh.K, V: sh.V };
      const cfg: ChunkScanConfig = { ...c, scale: 1 / Math.sqrt(sh.K), initialState: true };
      const plan = planChunkScan(cfg, s, caps, { chunk: sh.chunk, precision: 'f16', workgroupSize: WG });
      const f16Kernels = [...plan.forward, ...plan.backward].filter((k) => k.wgsl.startsWith('enable f16;'));
      for (const k of f16Kernels) expect(k.wgsl).toMatch(/var<workgroup> \w+: array<(f16|vec4<f16>), \d+>;/);
      // the products' kernels of both passes stage f16 tiles (the scans over chunks and dg hold states only)
      expect(f16Kernels.map((k) => k.name)).toContain('chunk_output_fwd');
      expect(f16Kernels.map((k) => k.name)).toContain(c.rule === 'delta' ? 'chunk_dqk_bwd' : 'chunk_dq_bwd');

      const { errs, chunk } = await gpuErrors(device, cfg, s, 2000 + sh.T, caps, { chunk: sh.chunk, precision: 'f16', workgroupSize: WG });
      const fwd = Math.max(errs.o, errs.ht);
      const bwd = Math.max(...gradNames(cfg).map((n) => errs[n]));
      console.log(`[chunk f16] ${label}: C=${chunk} ${Object.entries(errs).map(([n, e]) => `${n} ${e.toExponential(1)}`).join(' ')}`);
      expect(chunk).toBe(sh.chunk);
      expect(fwd).toBeLessThan(TOL_FWD);
      expect(bwd).toBeLessThan(TOL_BWD);
      // f16 rounding is visible in o and in the gradients: the f16 tiles were really used
      expect(errs.o).toBeGreaterThan(1e-5);
      expect(Math.max(errs.dq, errs.dk)).toBeGreaterThan(1e-5);
    }, 600_000);
  }

  it('the same device in f32 stays at f32 accuracy (control: the f16 errors above come from the f16 tiles)', async () => {
    const { device, description } = await f16Gpu();
    const caps = capsFromDescription(description);
    for (const c of [{ rule: 'delta', gate: 'scalar' }] as const) {
      const s = { B: 1, T: 21, H: 1, K: 16, V: 16 };
      const cfg: ChunkScanConfig = { ...c, scale: 0.25, initialState: true };
      const plan = planChunkScan(cfg, s, caps, { chunk: 16, workgroupSize: WG });
      for (const k of [...plan.forward, ...plan.backward]) expect(k.wgsl).not.toContain('f16');
      const { errs } = await gpuErrors(device, cfg, s, 77, caps, { chunk: 16, workgroupSize: WG });
      const worst = Math.max(...Object.values(errs));
      console.log(`[chunk f16] control f32 ${c.rule}/${c.gate}: max rel err ${worst.toExponential(1)}`);
      expect(worst).toBeLessThan(1e-4);
    }
  }, 600_000);
});
