/**
 * A plain, serialisable description of a WebGPU adapter and device: what the app shows,
 * what a run records, and what kernels use to adapt (DeviceCaps).
 * adapter.info and adapter.limits are getter objects: JSON.stringify gives {}, so copy with for…in.
 */
import type { DeviceCaps } from '../plan/kernel';

export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** True for CPU implementations such as SwiftShader. */
  isFallback: boolean;
  features: string[];
  limits: Record<string, number>;
}

function copyGetters(obj: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key in obj) out[key] = (obj as Record<string, unknown>)[key];
  return out;
}

export function adapterDescription(adapter: GPUAdapter, device?: GPUDevice): AdapterDescription {
  const info = copyGetters(adapter.info ?? {}) as Record<string, unknown>;
  const limitsSrc = device?.limits ?? adapter.limits;
  const limits: Record<string, number> = {};
  for (const key in limitsSrc) {
    const v = (limitsSrc as unknown as Record<string, unknown>)[key];
    if (typeof v === 'number') limits[key] = v;
  }
  const features = [...(device?.features ?? adapter.features)].map(String).sort();
  const description = String(info.description ?? '');
  const isFallback =
    Boolean(info.isFallbackAdapter) || /swiftshader|llvmpipe|lavapipe|software/i.test(`${description} ${info.device ?? ''}`);
  return {
    vendor: String(info.vendor ?? ''),
    architecture: String(info.architecture ?? ''),
    device: String(info.device ?? ''),
    description,
    isFallback,
    features,
    limits,
  };
}

/** One line for logs and test output, e.g. "google swiftshader (SwiftShader Device (Subzero)), software". */
export function adapterSummary(d: AdapterDescription): string {
  const name = [d.vendor, d.architecture, d.device].filter(Boolean).join(' ');
  return `${name || 'unknown adapter'}${d.description ? ` (${d.description})` : ''}${d.isFallback ? ', software' : ''}`;
}

export function capsFromDescription(d: AdapterDescription): DeviceCaps {
  const l = d.limits;
  return {
    maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize ?? 16384,
    maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup ?? 256,
    maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX ?? 256,
    maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension ?? 65535,
    maxStorageBufferBindingSize: l.maxStorageBufferBindingSize ?? 134217728,
    maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage ?? 8,
    maxBufferSize: l.maxBufferSize ?? 268435456,
    subgroups: d.features.includes('subgroups'),
    shaderF16: d.features.includes('shader-f16'),
  };
}
