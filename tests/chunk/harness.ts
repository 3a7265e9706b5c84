/**
 * Shared by the chunk-scan tests: random inputs in fla layout, a GPU run of forward + backward
 * through the kernel lists, and relative errors against the float64 references.
 */
import { DEFAULT_CAPS, type DeviceCaps } from '@/engine/plan/kernel';
import { planChunkScan, type ChunkPlanOptions } from '@/engine/miras/chunk/chunk';
import { readF32, runKernels, uploadF32, zerosF32 } from '@/engine/miras/chunk/exec';
import type { ChunkScanConfig, ChunkScanShape } from '@/engine/miras/chunk/types';
import { gradNames, tensorSizes } from '@/engine/miras/chunk/types';

export function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Inputs as fla's tests draw them: q, k, v ~ U(−1,1) (k L2-normalised for the delta rule), log-sigmoid-like gates, β ∈ (0,1). */
export function randomInputs(cfg: ChunkScanConfig, s: ChunkScanShape, seed: number) {
  const r = rng(seed);
  const sizes = tensorSizes(cfg, s);
  const u = (n: number) => Float64Array.from({ length: n }, () => r() * 2 - 1);
  const x: Record<string, Float64Array> = { q: u(sizes.q), k: u(sizes.k), v: u(sizes.v) };
  if (cfg.rule === 'delta') {
    for (let i = 0; i < sizes.k / s.K; i++) {
      let z = 0;
      for (let j = 0; j < s.K; j++) z += x.k[i * s.K + j] ** 2;
      z = Math.sqrt(z) || 1;
      for (let j = 0; j < s.K; j++) x.k[i * s.K + j] /= z;
    }
  }
  if (sizes.beta) x.beta = Float64Array.from({ length: sizes.beta }, () => 0.05 + 0.9 * r());
  if (cfg.gate === 'scalar') x.g = Float64Array.from({ length: sizes.g }, () => Math.log(0.7 + 0.3 * r()));
  if (cfg.gate === 'vector') x.g = Float64Array.from({ length: sizes.g }, () => Math.log(0.5 + 0.5 * r()));
  if (cfg.initialState) x.h0 = u(sizes.h0);
  const dO = u(sizes.o);
  const dht = u(sizes.ht);
  return { x, dO, dht };
}

export interface GpuScanResult {
  o: Float32Array;
  ht: Float32Array;
  grads: Record<string, Float32Array>;
  chunk: number;
}

export async function runChunkOnGpu(
  device: GPUDevice, cfg: ChunkScanConfig, s: ChunkScanShape, x: Record<string, Float64Array>, dO: Float64Array, dht: Float64Array,
  caps: DeviceCaps = DEFAULT_CAPS, opts: ChunkPlanOptions = {},
): Promise<GpuScanResult> {
  const plan = planChunkScan(cfg, s, caps, opts);
  const sizes = tensorSizes(cfg, s);
  const bufs: Record<string, GPUBuffer> = {};
  for (const [name, arr] of Object.entries(x)) bufs[name] = uploadF32(device, arr);
  bufs.o = zerosF32(device, sizes.o);
  bufs.finalState = zerosF32(device, sizes.ht);
  bufs['grad.o'] = uploadF32(device, dO);
  bufs['grad.finalState'] = uploadF32(device, dht);
  const inputOf: Record<string, string> = { dq: 'q', dk: 'k', dv: 'v', dg: 'g', dbeta: 'beta', dh0: 'h0' };
  for (const gname of gradNames(cfg)) bufs[`grad.${inputOf[gname]}`] = zerosF32(device, x[inputOf[gname]].length);
  for (const sc of plan.scratch) bufs[`scratch.${sc.name}`] = zerosF32(device, sc.bytes / 4);
  await runKernels(device, plan.forward, bufs);
  await runKernels(device, plan.backward, bufs);
  const grads: Record<string, Float32Array> = {};
  for (const gname of gradNames(cfg)) grads[gname] = await readF32(device, bufs[`grad.${inputOf[gname]}`], x[inputOf[gname]].length);
  const o = await readF32(device, bufs.o, sizes.o);
  const ht = await readF32(device, bufs.finalState, sizes.ht);
  for (const b of Object.values(bufs)) b.destroy();
  return { o, ht, grads, chunk: plan.tiling.C };
}

/** max |a − b| / max |b|: the error relative to the reference's scale. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= num)) num = Number.isNaN(d) ? Infinity : Math.max(num, d);
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / (den || 1);
}
