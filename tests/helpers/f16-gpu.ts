/**
 * A real GPUDevice WITH the `shader-f16` feature, for the f16 precision tests (tests/f16). SwiftShader (the
 * default test adapter, tests/helpers/gpu.ts) has no shader-f16; Mesa ≥ 23 lavapipe has it (and subgroups,
 * size 8). This helper points the Vulkan loader at lavapipe before Dawn starts, so a test file must create
 * its GPUs only through it (vitest's 'forks' pool gives each file its own process and environment).
 *
 * Driver: MIRAS_F16_VK_ICD names an ICD json (default: lavapipe's /usr/share/vulkan/icd.d/lvp_icd.json);
 * MIRAS_F16_VK_ICD=system keeps whatever the process already has (e.g. a real GPU).
 * It never skips: no json, no adapter, or an adapter without shader-f16 is an error that says what to install.
 */
import { existsSync } from 'node:fs';
import { createNodeGpu, type NodeGpu } from '@/engine/gpu/node';
import { adapterSummary } from '@/engine/gpu/describe';

export const LAVAPIPE_ICD = '/usr/share/vulkan/icd.d/lvp_icd.json';
const INSTALL = 'install Mesa 25 lavapipe from Debian bookworm-backports: `apt-get install -y -t bookworm-backports mesa-vulkan-drivers`';

let shared: Promise<NodeGpu> | null = null;

export function f16Gpu(): Promise<NodeGpu> {
  shared ??= (async () => {
    const icd = process.env.MIRAS_F16_VK_ICD ?? LAVAPIPE_ICD;
    if (icd !== 'system') {
      if (!existsSync(icd)) throw new Error(`f16 tests need a Vulkan driver with shader-f16; ${icd} does not exist: ${INSTALL}`);
      process.env.VK_ICD_FILENAMES = icd;
      delete process.env.VK_DRIVER_FILES;
    }
    const gpu = await createNodeGpu();
    const summary = adapterSummary(gpu.description);
    if (!gpu.description.features.includes('shader-f16')) {
      gpu.destroy();
      throw new Error(
        `f16 tests need an adapter with the WebGPU feature 'shader-f16'; got ${summary} with [${gpu.description.features.join(', ')}] ` +
          `(VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES ?? 'unset'}). Debian 12's own lavapipe (Mesa 22) is rejected by Dawn: ${INSTALL}`,
      );
    }
    console.log(`[webgpu f16] adapter: ${summary}`);
    return gpu;
  })();
  return shared;
}
