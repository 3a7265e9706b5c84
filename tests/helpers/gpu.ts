/**
 * Gives tests a real GPUDevice through Dawn. Fails loudly when no adapter exists:
 * a WebGPU test never skips. Prints the adapter once per test file.
 */
import { createNodeGpu, type NodeGpu } from '@/engine/gpu/node';
import { adapterSummary } from '@/engine/gpu/describe';

let shared: Promise<NodeGpu> | null = null;

export function testGpu(): Promise<NodeGpu> {
  shared ??= createNodeGpu().then((gpu) => {
    console.log(`[webgpu] adapter: ${adapterSummary(gpu.description)}`);
    return gpu;
  });
  return shared;
}
