/**
 * A real GPUDevice in Node through Dawn (npm `webgpu`). Used by the CLI, the tests and
 * the benchmarks. On machines without a GPU it uses SwiftShader from Debian's Chromium.
 * It never falls back silently: no adapter is an error that says what to install.
 */
import { existsSync } from 'node:fs';
import { adapterDescription, type AdapterDescription } from './describe';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
/**
 * Point the Vulkan loader at SwiftShader unless a driver is configured explicitly
 * (VK_ICD_FILENAMES / VK_DRIVER_FILES) or MIRAS_VULKAN=system asks for the system's drivers.
 * Debian 12's own lavapipe (pulled in by other packages) is rejected by Dawn, so the
 * system default is not a safe choice on CPU-only machines.
 */
function configureVulkanDriver(): void {
  if (process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES) return;
  if (process.env.MIRAS_VULKAN === 'system') return;
  if (existsSync(SWIFTSHADER_ICD)) process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
}

export interface NodeGpu {
  device: GPUDevice;
  adapter: GPUAdapter;
  description: AdapterDescription;
  destroy(): void;
}

export interface NodeGpuOptions {
  /** Dawn toggles, e.g. ['enable-dawn-features=allow_unsafe_apis']. */
  dawnFlags?: string[];
  /** Request the adapter's full limits (default true): kernels adapt to what is granted. */
  fullLimits?: boolean;
}

let dawnModule: Promise<typeof import('webgpu')> | null = null;
const liveInstances: unknown[] = [];

export async function createNodeGpu(opts: NodeGpuOptions = {}): Promise<NodeGpu> {
  configureVulkanDriver();
  dawnModule ??= import('webgpu');
  const { create, globals } = await dawnModule;
  Object.assign(globalThis, globals);
  const gpu = create(opts.dawnFlags ?? []);
  // Keep the Dawn instance reachable for the device's lifetime: once the GPU object is garbage-collected,
  // Dawn frees the instance under the live device and the process dies at random (mutex/futex aborts, SIGSEGV).
  liveInstances.push(gpu);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    throw new Error(
      'No WebGPU adapter: Dawn found no Vulkan driver. Install one with ' +
        '`apt-get install -y chromium libvulkan1` (SwiftShader) or set VK_ICD_FILENAMES to a Vulkan ICD json.',
    );
  }
  const requiredLimits: Record<string, number> = {};
  if (opts.fullLimits !== false) {
    for (const key in adapter.limits) {
      const v = (adapter.limits as unknown as Record<string, number>)[key];
      if (typeof v === 'number') requiredLimits[key] = v;
    }
  }
  const requiredFeatures = (['subgroups', 'shader-f16', 'timestamp-query'] as GPUFeatureName[]).filter((f) =>
    adapter.features.has(f),
  );
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  const description = adapterDescription(adapter, device);
  return {
    device,
    adapter,
    description,
    destroy: () => device.destroy(),
  };
}
