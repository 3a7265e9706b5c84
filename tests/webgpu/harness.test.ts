import { describe, expect, it } from 'vitest';
import { testGpu } from '../helpers/gpu';

const SAXPY = /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3u) {
  let i = id.x;
  if (i < arrayLength(&y)) { y[i] = 2.5 * x[i] + y[i] * y[i]; }
}`;

describe('WebGPU harness (Dawn)', () => {
  it('has a real adapter and reports it', async () => {
    const gpu = await testGpu();
    expect(gpu.adapter).toBeTruthy();
    expect(gpu.description.limits.maxComputeInvocationsPerWorkgroup).toBeGreaterThanOrEqual(256);
    // In CI the adapter is SwiftShader; on a GPU machine it is the GPU. Either way it is named.
    expect(`${gpu.description.vendor}${gpu.description.device}${gpu.description.description}`).not.toBe('');
  });

  it('dispatches a WGSL kernel and matches a JS reference on an odd size', async () => {
    const { device } = await testGpu();
    const n = 1000; // not a multiple of the workgroup size
    const x = Float32Array.from({ length: n }, (_, i) => Math.sin(i));
    const y = Float32Array.from({ length: n }, (_, i) => Math.cos(i * 0.5));
    const expected = x.map((xi, i) => 2.5 * xi + y[i] * y[i]);
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    const bx = device.createBuffer({ size: n * 4, usage });
    const by = device.createBuffer({ size: n * 4, usage });
    const read = device.createBuffer({ size: n * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    device.queue.writeBuffer(bx, 0, x);
    device.queue.writeBuffer(by, 0, y);
    const pipeline = device.createComputePipeline({
      layout: 'auto',
      compute: { module: device.createShaderModule({ code: SAXPY }), entryPoint: 'main' },
    });
    const bind = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: bx } },
        { binding: 1, resource: { buffer: by } },
      ],
    });
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    pass.dispatchWorkgroups(Math.ceil(n / 64));
    pass.end();
    enc.copyBufferToBuffer(by, 0, read, 0, n * 4);
    device.queue.submit([enc.finish()]);
    await read.mapAsync(GPUMapMode.READ);
    const got = new Float32Array(read.getMappedRange().slice(0));
    read.unmap();
    let maxErr = 0;
    for (let i = 0; i < n; i++) maxErr = Math.max(maxErr, Math.abs(got[i] - expected[i]));
    expect(maxErr).toBeLessThan(1e-5);
  });
});
