/**
 * Chunk-parallel scans as kernel lists: picks the chunk length and tiles from the device caps
 * (16/32/64, largest that fits the workgroup memory, storage-buffer count and binding size) and
 * returns the forward and backward KernelSpecs with their scratch (engine/ir/scan.ts naming).
 */
import type { DeviceCaps, KernelSpec, ScratchBuffer } from '../../plan/kernel';
import type { ChunkScanConfig, ChunkScanShape } from './types';
import { validateChunkScan } from './types';
import { generateChunkKernels, type ChunkKernelLists, type ChunkPrecision, type ChunkTiling } from './wgsl';

export interface ChunkPlan {
  tiling: ChunkTiling;
  forward: KernelSpec[];
  backward: KernelSpec[];
  scratch: ScratchBuffer[];
  /** largest workgroup memory of any kernel, bytes */
  smemBytes: number;
}

export interface ChunkPlanOptions {
  /** force a chunk length (16, 32 or 64) instead of the largest that fits */
  chunk?: number;
  /** force the V-tile of the sequential kernels */
  vTile?: number;
  /**
   * Invocations per workgroup (default min(256, device limit)). 1 makes every kernel
   * barrier-free, for software adapters: SwiftShader (Subzero) crashed at random in our trials on
   * shaders that cross many workgroup barriers.
   */
  workgroupSize?: number;
  /** stage operand tiles in workgroup memory when they fit (default true) */
  stage?: boolean;
  /**
   * 'f16' stages the operand tiles as f16 (half the workgroup memory and its traffic, so larger tiles fit),
   * accumulating in f32; it needs the device feature 'shader-f16' and is refused without it, never assumed.
   * Default 'f32' (the kernels are then exactly those of a plan without this option). See the chunk README.
   */
  precision?: ChunkPrecision;
  /**
   * Subgroup reductions (the chunk-end sums, the dg reverse cumsums) when the device has `subgroups`
   * (default: whenever caps.subgroups); false forces the workgroup-memory path. true on a device without
   * the feature is an error.
   */
  subgroups?: boolean;
}

/**
 * Dawn instance toggles under which NVIDIA's Vulkan driver reports shader-f16 (Dawn hides the feature there by
 * default): pass as createNodeGpu({ dawnFlags }) when asking for precision 'f16'. Other drivers ignore them.
 */
export const F16_DAWN_FLAGS = ['enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia'];

/** The error of a precision the device cannot run, or null. */
export function precisionUnsupported(precision: ChunkPrecision | undefined, caps: DeviceCaps): string | null {
  if (precision === undefined || precision === 'f32') return null;
  if (precision !== 'f16') return `chunk scan: precision must be 'f32' or 'f16', got '${String(precision)}'`;
  if (!caps.shaderF16) {
    return "chunk scan: precision 'f16' needs the WebGPU feature 'shader-f16', which this device does not have " +
      "(request it at requestDevice when the adapter offers it; on NVIDIA under Dawn it needs the toggle vulkan_enable_f16_on_nvidia); use precision 'f32'";
  }
  return null;
}

function fits(lists: ChunkKernelLists, caps: DeviceCaps): string | null {
  for (const k of [...lists.forward, ...lists.backward]) {
    if (k.smemBytes > caps.maxComputeWorkgroupStorageSize) return `${k.name} needs ${k.smemBytes} B of workgroup memory`;
    const storage = k.bindings.filter((b) => b.access !== 'uniform').length;
    if (storage > caps.maxStorageBuffersPerShaderStage) return `${k.name} binds ${storage} storage buffers`;
  }
  for (const s of lists.scratch) {
    const lim = Math.min(caps.maxStorageBufferBindingSize, caps.maxBufferSize);
    if (s.bytes > lim) return `scratch.${s.name} needs ${s.bytes} B (> ${lim} B per binding)`;
  }
  return null;
}

export function planChunkScan(cfg: ChunkScanConfig, s: ChunkScanShape, caps: DeviceCaps, opts: ChunkPlanOptions = {}): ChunkPlan {
  validateChunkScan(cfg, s);
  const bad = precisionUnsupported(opts.precision, caps);
  if (bad) throw new Error(bad);
  if (opts.subgroups === true && !caps.subgroups) throw new Error("chunk scan: subgroups requested, but the device does not have the WebGPU feature 'subgroups'");
  const half = {
    ...(opts.precision === 'f16' ? { precision: 'f16' as const } : {}),
    ...(caps.subgroups && opts.subgroups !== false ? { subgroups: true } : {}),
  };
  const WG = opts.workgroupSize ?? Math.min(256, caps.maxComputeInvocationsPerWorkgroup, caps.maxComputeWorkgroupSizeX);
  if (!Number.isInteger(WG) || WG < 1 || WG > caps.maxComputeInvocationsPerWorkgroup || WG > caps.maxComputeWorkgroupSizeX) {
    throw new Error(`chunk scan: workgroup size ${WG} is outside the device's limits`);
  }
  if (s.B * s.H > caps.maxComputeWorkgroupsPerDimension) {
    throw new Error(`chunk scan: batch·heads = ${s.B * s.H} exceeds ${caps.maxComputeWorkgroupsPerDimension} workgroups per dimension`);
  }
  // Chunk preference. Below 64 KiB of workgroup memory the 64-token chunk cannot keep its operand
  // tiles on chip. On the H200 (48 KiB, docs/benchmarks.md, second sitting, fwd+bwd): the channel-wise
  // gate ran fastest with C = 16 (GLA 3.87 ms against 7.27 at 32: its 16-token sub-chunk tiles stay on
  // chip), every other form with C = 32 (linear attention 2.03 against 2.49 at 16 and 4.13 at 64;
  // Mamba2 2.88 / 3.41 / 5.11; DeltaNet 4.92 / 5.05). 64 first only where its tiles fit on chip (unmeasured).
  // precision 'f16' (third sitting, bench/results/h200-2026-11-29-s3/chunk): the delta rule ran fastest with C = 16
  // (DeltaNet 4.72 against 4.98 ms at 32), the channel-wise gate with 16 as in f32.
  const small = cfg.gate === 'vector' || (opts.precision === 'f16' && cfg.rule === 'delta') ? [16, 32, 64] : [32, 16, 64];
  const chunks = opts.chunk ? [opts.chunk] : caps.maxComputeWorkgroupStorageSize < 65536 ? small : [64, 32, 16];
  if (opts.chunk && ![16, 32, 64].includes(opts.chunk)) throw new Error(`chunk length must be 16, 32 or 64, got ${opts.chunk}`);
  const vmax = 1 << Math.ceil(Math.log2(s.V));
  // V-tile of the sequential kernels: small enough for ≥ 128 workgroups when batch·heads is small
  let vPar = 64;
  while (vPar > 8 && s.B * s.H * Math.ceil(s.V / vPar) < 128) vPar /= 2;
  const tiles = opts.vTile ? [opts.vTile] : [64, 32, 16, 8].filter((t) => t <= Math.min(vmax, vPar) || t === 8);
  const reasons: string[] = [];
  for (const C of chunks) {
    for (const VT of tiles) {
      const tiling = { C, VT, WG, stageBytes: opts.stage === false ? 0 : caps.maxComputeWorkgroupStorageSize, ...half };
      const lists = generateChunkKernels(cfg, s, tiling);
      const why = fits(lists, caps);
      if (why) {
        reasons.push(`C=${C}, VT=${VT}: ${why}`);
        continue;
      }
      const strip = (k: KernelSpec & { smemBytes?: number }): KernelSpec => ({
        name: k.name, wgsl: k.wgsl, entryPoint: k.entryPoint, bindings: k.bindings, workgroups: k.workgroups,
      });
      return {
        tiling,
        forward: lists.forward.map(strip),
        backward: lists.backward.map(strip),
        scratch: lists.scratch,
        smemBytes: Math.max(...[...lists.forward, ...lists.backward].map((k) => k.smemBytes)),
      };
    }
  }
  throw new Error(`chunk scan (${cfg.rule}, gate ${cfg.gate}, K=${s.K}, V=${s.V}) fits no tiling on this device: ${reasons.join('; ')}`);
}
