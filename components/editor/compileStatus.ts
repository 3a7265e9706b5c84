'use client';
/**
 * Whether the lowered model compiles for this browser's adapter, and if not, why:
 *  1. every Miras layer needs a registered scan provider (engine/ir/scan) for its combination;
 *  2. the provider generates its WGSL kernels against this adapter's limits (capsFromDescription);
 *  3. every generated kernel is compiled on a device from this adapter (createShaderModule +
 *     getCompilationInfo), so WGSL the adapter rejects shows up here, not mid-training;
 *  4. the largest buffers of a training step at a default shape fit the adapter's binding limits.
 */
import type { ModelSpec, MirasMixer } from '@/engine/spec';
import { capsFromDescription, type AdapterDescription } from '@/engine/gpu/describe';
import type { DeviceCaps, KernelSpec } from '@/engine/plan/kernel';
import { findScanProvider } from '@/engine/ir/scan';
import { catalogEntry } from '@/engine/miras/catalog';
import { formatBytes } from '@/engine/design/cost';
import type { CompileStatus } from './analysisStore';
// Registers the fused recurrent Miras kernels (every matrix/vector-memory combination) with the scan slot.
import '@/engine/miras/recurrent/provider';

/** The step shape the check assumes (the Train tab's defaults are of this order). */
export const CHECK_SHAPE = { batch: 8, time: 256 };

let devicePromise: Promise<GPUDevice> | null = null;
async function checkDevice(caps: DeviceCaps): Promise<GPUDevice> {
  devicePromise ??= (async () => {
    const adapter = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) throw new Error('requestAdapter() returned no adapter');
    return adapter.requestDevice({
      requiredLimits: {
        maxComputeWorkgroupStorageSize: caps.maxComputeWorkgroupStorageSize,
        maxComputeInvocationsPerWorkgroup: caps.maxComputeInvocationsPerWorkgroup,
        maxComputeWorkgroupSizeX: caps.maxComputeWorkgroupSizeX,
        maxStorageBufferBindingSize: caps.maxStorageBufferBindingSize,
        maxStorageBuffersPerShaderStage: caps.maxStorageBuffersPerShaderStage,
        maxBufferSize: caps.maxBufferSize,
      },
      requiredFeatures: [...(caps.shaderF16 ? (['shader-f16'] as GPUFeatureName[]) : []), ...(caps.subgroups ? (['subgroups'] as GPUFeatureName[]) : [])],
    });
  })();
  return devicePromise;
}

const compiled = new Map<string, string | null>();
/** Compiles one kernel's WGSL on the device; null when it compiles, else the first error. */
async function compileWgsl(device: GPUDevice, k: KernelSpec): Promise<string | null> {
  const hit = compiled.get(k.wgsl);
  if (hit !== undefined) return hit;
  const shader = device.createShaderModule({ code: k.wgsl, label: k.name });
  const info = await shader.getCompilationInfo();
  const err = info.messages.find((m) => m.type === 'error');
  const out = err ? `${k.name}: line ${err.lineNum}: ${err.message}` : null;
  compiled.set(k.wgsl, out);
  return out;
}

function comboLabel(m: MirasMixer): string {
  return (['memory', 'bias', 'retention', 'learner'] as const).map((a) => catalogEntry(a, m[a].kind)?.label ?? m[a].kind).join(' + ');
}

export async function compileStatus(spec: ModelSpec, adapter: AdapterDescription | null): Promise<CompileStatus> {
  if (!adapter) return { state: 'no-gpu', message: 'This browser has no WebGPU adapter, so the design cannot compile to kernels here.' };
  const caps = capsFromDescription(adapter);
  const { batch, time } = CHECK_SHAPE;

  // Buffers: the embedding table and the logits of one step are the largest single bindings.
  const biggest = Math.max(spec.vocabSize * spec.dModel, batch * time * spec.vocabSize, batch * time * spec.dModel * 4) * 4;
  if (biggest > caps.maxStorageBufferBindingSize) {
    return {
      state: 'error',
      message: `A ${formatBytes(biggest)} buffer (embedding or logits at batch ${batch}, T ${time}) exceeds this adapter's ${formatBytes(caps.maxStorageBufferBindingSize)} storage binding limit. Reduce the vocabulary or d_model.`,
    };
  }

  const kernels: KernelSpec[] = [];
  for (let i = 0; i < spec.layers.length; i++) {
    const mixer = spec.layers[i].mixer;
    if (mixer.type !== 'miras') continue;
    const provider = findScanProvider(mixer);
    if (!provider) {
      return { state: 'error', message: `Layer ${i + 1}: no WebGPU scan kernel is registered for ${comboLabel(mixer)} in this build.` };
    }
    try {
      const k = provider.kernels(caps, { batch, time, heads: mixer.heads, dk: mixer.headDimK, dv: mixer.headDimV });
      kernels.push(...k.forward, ...k.backward);
    } catch (e) {
      return { state: 'error', message: `Layer ${i + 1} (${provider.id}): the kernel generator refused this adapter: ${(e as Error).message}` };
    }
  }

  let device: GPUDevice;
  try {
    device = await checkDevice(caps);
  } catch (e) {
    return { state: 'no-gpu', message: `Could not open a WebGPU device on this adapter: ${(e as Error).message}` };
  }
  const unique = [...new Map(kernels.map((k) => [k.wgsl, k])).values()];
  for (const k of unique) {
    const err = await compileWgsl(device, k);
    if (err) return { state: 'error', message: `WGSL rejected by this adapter: ${err}` };
  }
  const miras = spec.layers.filter((l) => l.mixer.type === 'miras').length;
  return {
    state: 'ok',
    message: `Compiles for ${adapter.description || adapter.device || 'this adapter'}: ${unique.length} scan kernel${unique.length === 1 ? '' : 's'} for ${miras} Miras layer${miras === 1 ? '' : 's'} compiled on this device; buffers fit its limits.`,
  };
}
