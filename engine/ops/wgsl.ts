/**
 * Shared WGSL scaffolding for op kernels: storage declarations in binding order, a
 * one-thread-per-element entry point over a 2-D grid (x ≤ maxComputeWorkgroupsPerDimension),
 * and float formatting. Shapes are static, so sizes are baked into the source as constants;
 * buffer names never appear in the source, so equal shapes share one cached pipeline.
 */
import type { DeviceCaps, KernelBinding, KernelSpec } from '../plan/kernel';

export interface Bind {
  /** WGSL variable name inside the kernel. */
  name: string;
  /** Plan buffer name. */
  buffer: string;
  access: 'read' | 'read_write' | 'uniform';
  /** Element type (default f32), or a struct name for uniforms. */
  type?: string;
}

/** WGSL literal for a JS number, always with a decimal point or exponent. */
export function f(x: number): string {
  if (!Number.isFinite(x)) throw new Error(`cannot bake non-finite constant ${x} into WGSL`);
  const s = String(Math.fround(x) === x ? x : x);
  return /[.eE]/.test(s) ? s : `${s}.0`;
}

export function u(x: number): string {
  if (!Number.isInteger(x) || x < 0 || x > 0xffffffff) throw new Error(`bad u32 constant ${x}`);
  return `${x}u`;
}

export function declare(binds: Bind[]): string {
  return binds
    .map((b, i) =>
      b.access === 'uniform'
        ? `@group(0) @binding(${i}) var<uniform> ${b.name}: ${b.type};`
        : `@group(0) @binding(${i}) var<storage, ${b.access}> ${b.name}: array<${b.type ?? 'f32'}>;`,
    )
    .join('\n');
}

export function bindings(binds: Bind[]): KernelBinding[] {
  return binds.map((b) => ({ buffer: b.buffer, access: b.access }));
}

/** Workgroup grid for `groups` workgroups: 1-D when it fits, else 2-D. */
export function grid(groups: number, caps: DeviceCaps): [number, number, number] {
  const max = caps.maxComputeWorkgroupsPerDimension;
  if (groups <= max) return [Math.max(1, groups), 1, 1];
  const y = Math.ceil(groups / max);
  if (y > max) throw new Error(`problem too large: ${groups} workgroups exceed a ${max}×${max} grid`);
  return [max, y, 1];
}

export interface ThreadKernel {
  name: string;
  binds: Bind[];
  /** Number of threads; the body sees `i: u32` in [0, total). */
  total: number;
  body: string;
  /** WGSL placed before the entry point (helper functions, constants). */
  prelude?: string;
  caps: DeviceCaps;
  workgroupSize?: number;
}

/** One thread per element: the common shape of elementwise, row and column kernels. */
export function threadKernel(k: ThreadKernel): KernelSpec {
  const wg = Math.min(k.workgroupSize ?? 64, k.caps.maxComputeInvocationsPerWorkgroup, k.caps.maxComputeWorkgroupSizeX);
  const groups = Math.ceil(k.total / wg);
  const workgroups = grid(groups, k.caps);
  const wgsl = `${declare(k.binds)}
${k.prelude ?? ''}
@compute @workgroup_size(${wg})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * ${u(wg)};
  if (i >= ${u(k.total)}) { return; }
${k.body}
}
`;
  return { name: k.name, wgsl, entryPoint: 'main', bindings: bindings(k.binds), workgroups };
}

/** Row-major strides of a shape. */
export function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d];
  }
  return s;
}

/** A read-only storage binding. */
export const rd = (name: string, buffer: string, type?: string): Bind => ({ name, buffer, access: 'read', type });
/** A read-write storage binding. */
export const rw = (name: string, buffer: string, type?: string): Bind => ({ name, buffer, access: 'read_write', type });
