/** The Node WebGPU device for CLI commands, with the caps and kernel choice that follow from it. */
import { createNodeGpu, type NodeGpu, type NodeGpuOptions } from '../../engine/gpu/node';
import { adapterSummary, capsFromDescription } from '../../engine/gpu/describe';
import type { DeviceCaps } from '../../engine/plan/kernel';

export async function cliGpu(opts: NodeGpuOptions = {}): Promise<{ gpu: NodeGpu; caps: DeviceCaps; tiled: boolean; summary: string }> {
  const gpu = await createNodeGpu(opts);
  return {
    gpu,
    caps: capsFromDescription(gpu.description),
    // Shared-memory tiles pay off on GPUs; on CPU emulation (SwiftShader) naive loops are faster.
    tiled: !gpu.description.isFallback,
    summary: adapterSummary(gpu.description),
  };
}
