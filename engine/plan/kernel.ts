/**
 * The unit of GPU work in an execution plan: one WGSL compute entry point with its
 * bindings (named logical buffers) and its grid. Every op's forward and backward,
 * the fused Miras scans and the optimizer all lower to lists of these, so the runtime
 * has one way to create pipelines (cached by source), bind buffers and dispatch.
 */
export type BindingAccess = 'read' | 'read_write' | 'uniform';

export interface KernelBinding {
  /** Logical buffer name in the plan (a tensor id, a gradient id, or a scratch name). */
  buffer: string;
  access: BindingAccess;
}

export interface KernelSpec {
  /** Human name used in errors and per-kernel timings, e.g. "matmul_fwd[attn.q]". */
  name: string;
  /** Full WGSL source. Bindings are @group(0) @binding(i) in the order of `bindings`. */
  wgsl: string;
  entryPoint: string;
  bindings: KernelBinding[];
  /** Workgroup counts; large 1-D problems use a 2-D grid (each dimension ≤ maxComputeWorkgroupsPerDimension). */
  workgroups: [number, number, number];
}

/** A scratch buffer a kernel list needs beyond the tensors it reads and writes. */
export interface ScratchBuffer {
  name: string;
  bytes: number;
}

/** What kernels may assume about the device; taken from the adapter, never assumed. */
export interface DeviceCaps {
  maxComputeWorkgroupStorageSize: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupSizeX: number;
  maxComputeWorkgroupsPerDimension: number;
  maxStorageBufferBindingSize: number;
  maxStorageBuffersPerShaderStage: number;
  maxBufferSize: number;
  subgroups: boolean;
  shaderF16: boolean;
  /**
   * The precision asked for the chunk-parallel scans (engine/miras/chunk): 'f16' stages their operand tiles as
   * f16 and accumulates in f32 (errors near f16's unit roundoff, 4.9e-4); absent or 'f32' runs them in f32. A
   * preference, not a demand: scans that run the fused recurrent kernel stay f32. It needs `shaderF16`; asking
   * for 'f16' on a device without it is an error naming the feature, never a silent f32 run.
   */
  scanPrecision?: 'f32' | 'f16';
}

/** The WebGPU defaults every adapter offers: the plan must work within these. */
export const DEFAULT_CAPS: DeviceCaps = {
  maxComputeWorkgroupStorageSize: 16384,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  maxComputeWorkgroupsPerDimension: 65535,
  maxStorageBufferBindingSize: 134217728,
  maxStorageBuffersPerShaderStage: 8,
  maxBufferSize: 268435456,
  subgroups: false,
  shaderF16: false,
};
