/**
 * One op = one file in engine/ops/: shape inference with clear errors, a float64 reference
 * forward and backward (VJP), and WGSL generators for its forward and backward kernels.
 * The reference and the kernels sit side by side so a kernel is one hop from its meaning.
 */
import type { DeviceCaps, KernelSpec, ScratchBuffer } from '../plan/kernel';

export type DType = 'f32' | 'i32';

export interface TensorType {
  shape: number[];
  dtype: DType;
}

export interface RefCtx<A> {
  attrs: A;
  ins: TensorType[];
  outs: TensorType[];
}

/**
 * Buffer names for one node in an execution plan.
 * Gradient conventions (both backends): backward ADDS into gin buffers (they arrive zeroed or
 * holding other consumers' contributions); gout buffers are always present for f32 outputs
 * (zero when nothing downstream needs them); gin is null only for i32 inputs.
 */
export interface GpuCtx<A> extends RefCtx<A> {
  caps: DeviceCaps;
  /** Kernel name prefix, e.g. "matmul[layers.0.mlp.up]". */
  label: string;
  in: string[];
  out: string[];
  gin: (string | null)[];
  gout: (string | null)[];
  /** Plan name of one of this node's scratch buffers (declared by `scratch`). */
  scratch(name: string): string;
  /** Prefer shared-memory tiled kernels (real GPUs); naive loops are faster on CPU emulation. */
  tiled: boolean;
}

export interface OpDef<A> {
  name: string;
  infer(ins: TensorType[], attrs: A): TensorType[];
  /** Which outputs carry gradient (default: every f32 output). Others are saved statistics or metrics. */
  differentiable?(attrs: A): boolean[];
  /** Float64 reference forward. i32 tensors arrive as Float64Array of integer values. */
  forward(x: Float64Array[], c: RefCtx<A>): Float64Array[];
  /** Float64 VJP: gradient for each input (null for i32 inputs). gy[i] is null for outputs with no gradient. */
  backward(x: Float64Array[], y: Float64Array[], gy: (Float64Array | null)[], c: RefCtx<A>): (Float64Array | null)[];
  /** Extra buffers this node's kernels use (named by `GpuCtx.scratch`). */
  scratch?(c: RefCtx<A>, caps: DeviceCaps): ScratchBuffer[];
  kernels: {
    forward(c: GpuCtx<A>): KernelSpec[];
    backward(c: GpuCtx<A>): KernelSpec[];
  };
}
