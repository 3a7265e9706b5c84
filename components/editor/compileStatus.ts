'use client';
/**
 * Whether the lowered model compiles for this browser's adapter, and if not, why. It follows the
 * trainer's own path (engine/train/backend): buildModel → compilePlan against this adapter's
 * limits (capsFromDescription), then creates every distinct compute pipeline on a device from
 * this adapter, so WGSL or limits the adapter rejects show up here, not mid-training.
 */
import type { ModelSpec } from '@/engine/spec';
import { capsFromDescription, type AdapterDescription } from '@/engine/gpu/describe';
import type { DeviceCaps, KernelSpec } from '@/engine/plan/kernel';
import { buildModel } from '@/engine/model/build';
import { compilePlan } from '@/engine/runtime/plan';
import { formatBytes } from '@/engine/design/cost';
import type { CompileStatus } from './analysisStore';

/** The step shape the check compiles for (the order of the Train tab's defaults). */
export const CHECK_SHAPE = { batch: 8, seqLen: 128 };

let devicePromise: Promise<GPUDevice> | null = null;
function checkDevice(caps: DeviceCaps): Promise<GPUDevice> {
  devicePromise ??= (async () => {
    const adapter = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) throw new Error('requestAdapter() returned no adapter');
    const features = (['shader-f16', 'subgroups'] as GPUFeatureName[]).filter((f) => adapter.features.has(f));
    return adapter.requestDevice({
      requiredFeatures: features,
      requiredLimits: {
        maxComputeWorkgroupStorageSize: caps.maxComputeWorkgroupStorageSize,
        maxComputeInvocationsPerWorkgroup: caps.maxComputeInvocationsPerWorkgroup,
        maxComputeWorkgroupSizeX: caps.maxComputeWorkgroupSizeX,
        maxStorageBufferBindingSize: caps.maxStorageBufferBindingSize,
        maxStorageBuffersPerShaderStage: caps.maxStorageBuffersPerShaderStage,
        maxBufferSize: caps.maxBufferSize,
      },
    });
  })();
  devicePromise.catch(() => (devicePromise = null));
  return devicePromise;
}

/** Pipeline results by source and entry point: identical layers share kernels. */
const pipelines = new Map<string, Promise<string | null>>();
function createPipeline(device: GPUDevice, k: KernelSpec): Promise<string | null> {
  const key = `${k.entryPoint}\n${k.wgsl}`;
  let p = pipelines.get(key);
  if (!p) {
    p = (async () => {
      const shader = device.createShaderModule({ code: k.wgsl, label: k.name });
      const info = await shader.getCompilationInfo();
      const err = info.messages.find((m) => m.type === 'error');
      if (err) return `${k.name}: WGSL line ${err.lineNum}: ${err.message}`;
      try {
        await device.createComputePipelineAsync({ label: k.name, layout: 'auto', compute: { module: shader, entryPoint: k.entryPoint } });
        return null;
      } catch (e) {
        return `${k.name}: ${(e as Error).message}`;
      }
    })();
    pipelines.set(key, p);
  }
  return p;
}

export interface CompileOptions {
  /** Abandon the check (the design changed); the promise then resolves to null. */
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export async function compileStatus(spec: ModelSpec, adapter: AdapterDescription | null, opts: CompileOptions = {}): Promise<CompileStatus | null> {
  if (!adapter) return { state: 'no-gpu', message: 'This browser has no WebGPU adapter, so the design cannot compile to kernels here.' };
  const caps = capsFromDescription(adapter);
  let kernels: KernelSpec[];
  let peakBytes: number;
  let largest = 0;
  try {
    const model = buildModel(spec, CHECK_SHAPE);
    const plan = compilePlan(model.graph, { caps, loss: model.loss, keep: [model.metrics, model.logits], optimizer: true });
    kernels = [...plan.forward, ...plan.backward, ...plan.optimizer];
    peakBytes = plan.peakBytes;
    for (const s of plan.slots) largest = Math.max(largest, s.bytes);
  } catch (e) {
    return { state: 'error', message: `The engine cannot build this model: ${(e as Error).message}` };
  }
  const limit = Math.min(caps.maxBufferSize, caps.maxStorageBufferBindingSize);
  if (largest > limit) {
    return {
      state: 'error',
      message: `A ${formatBytes(largest)} buffer (at batch ${CHECK_SHAPE.batch}, T ${CHECK_SHAPE.seqLen}) exceeds this adapter's ${formatBytes(limit)} buffer limit. Reduce the vocabulary, d_model or the MLP width.`,
    };
  }
  let device: GPUDevice;
  try {
    device = await checkDevice(caps);
  } catch (e) {
    return { state: 'no-gpu', message: `Could not open a WebGPU device on this adapter: ${(e as Error).message}` };
  }
  const unique = [...new Map(kernels.map((k) => [`${k.entryPoint}\n${k.wgsl}`, k])).values()];
  // One pipeline at a time, so a software adapter keeps drawing frames while this runs.
  for (let i = 0; i < unique.length; i++) {
    if (opts.signal?.aborted) return null;
    if (i % 8 === 0) opts.onProgress?.(i, unique.length);
    const err = await createPipeline(device, unique[i]);
    if (err) return { state: 'error', message: `This adapter rejects a kernel: ${err}` };
  }
  return {
    state: 'ok',
    message: `Compiles for ${adapter.description || adapter.device || 'this adapter'}: ${kernels.length} dispatches per training step (${unique.length} distinct pipelines) at batch ${CHECK_SHAPE.batch}, T ${CHECK_SHAPE.seqLen}; ${formatBytes(peakBytes)} of device memory.`,
  };
}
