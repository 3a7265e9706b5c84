/**
 * Shared by the chunk-scan tests: random inputs in fla layout, a GPU run of forward + backward
 * through the kernel lists, and relative errors against the float64 references.
 */
import { DEFAULT_CAPS, type DeviceCaps } from '@/engine/plan/kernel';
import { planChunkScan, type ChunkPlanOptions } from '@/engine/miras/chunk/chunk';
import { GRAD_INPUT, readF32, runKernels, scanBuffers } from '@/engine/miras/chunk/exec';
import type { ChunkScanConfig, ChunkScanInputs, ChunkScanShape } from '@/engine/miras/chunk/types';
import { recurrentBackward, recurrentForward } from '@/engine/miras/chunk/naive';
import { gradNames, tensorSizes } from '@/engine/miras/chunk/types';
import { randomScanInputs } from '@/engine/miras/chunk/random';

/** One configuration of every chunk form (the gate and β variants the kernels generate differently). */
export const CHUNK_FORMS: Omit<ChunkScanConfig, 'scale' | 'initialState'>[] = [
  { rule: 'linear', gate: 'none' },
  { rule: 'linear', gate: 'const', logDecay: [-0.03, -0.01] },
  { rule: 'linear', gate: 'scalar', beta: true },
  { rule: 'linear', gate: 'vector' },
  { rule: 'delta', gate: 'none' },
  { rule: 'delta', gate: 'scalar' },
];

/** The H200's limits as Dawn reports them (docs/benchmarks.md). */
export const H200_CAPS: DeviceCaps = { ...DEFAULT_CAPS, maxComputeWorkgroupStorageSize: 49152, maxComputeInvocationsPerWorkgroup: 1024, maxStorageBuffersPerShaderStage: 16, maxStorageBufferBindingSize: 2 ** 31 - 1, maxBufferSize: 2 ** 31 - 1 };

/** Inputs as fla's tests draw them (engine/miras/chunk/random.ts). */
export const randomInputs = (cfg: ChunkScanConfig, s: ChunkScanShape, seed: number) => randomScanInputs(cfg, s, seed);

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
  const bufs = scanBuffers(device, cfg, s, x, dO, dht, plan.scratch);
  await runKernels(device, plan.forward, bufs);
  await runKernels(device, plan.backward, bufs);
  const grads: Record<string, Float32Array> = {};
  for (const gname of gradNames(cfg)) grads[gname] = await readF32(device, bufs[`grad.${GRAD_INPUT[gname]}`], x[GRAD_INPUT[gname]].length);
  const o = await readF32(device, bufs.o, sizes.o);
  const ht = await readF32(device, bufs.finalState, sizes.ht);
  for (const b of Object.values(bufs)) b.destroy();
  return { o, ht, grads, chunk: plan.tiling.C };
}

/**
 * Draws inputs, runs the chunk kernels on the device and the float64 token recurrence, and returns the relative
 * error (relErr) of o, ht and every gradient, by name, with the chunk the plan used.
 */
export async function gpuErrors(
  device: GPUDevice, cfg: ChunkScanConfig, s: ChunkScanShape, seed: number, caps: DeviceCaps, opts: ChunkPlanOptions,
): Promise<{ errs: Record<string, number>; chunk: number }> {
  const { x, dO, dht } = randomInputs(cfg, s, seed);
  const xi = x as unknown as ChunkScanInputs<Float64Array>;
  const ref = recurrentForward(cfg, s, xi);
  const gref = recurrentBackward(cfg, s, xi, { do: dO, dht }) as unknown as Record<string, Float64Array>;
  const r = await runChunkOnGpu(device, cfg, s, x, dO, dht, caps, opts);
  const errs: Record<string, number> = { o: relErr(r.o, ref.o), ht: relErr(r.ht, ref.ht) };
  for (const n of gradNames(cfg)) errs[n] = relErr(r.grads[n], gref[n]);
  return { errs, chunk: r.chunk };
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
