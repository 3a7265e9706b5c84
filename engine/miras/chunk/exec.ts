/**
 * Runs KernelSpec lists on a GPUDevice over named buffers: what the chunk-scan tests and the
 * GPU benchmarks use to drive the kernels directly (the engine's runtime does the same for plans).
 * Pipelines are cached by WGSL source; optional timestamp queries give per-kernel GPU times.
 */
import type { KernelSpec, ScratchBuffer } from '../../plan/kernel';
import type { ChunkScanConfig, ChunkScanShape } from './types';
import { gradNames, tensorSizes } from './types';

const pipelines = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();

export function pipelineFor(device: GPUDevice, k: KernelSpec): GPUComputePipeline {
  let m = pipelines.get(device);
  if (!m) pipelines.set(device, (m = new Map()));
  const key = `${k.entryPoint}\n${k.wgsl}`;
  let p = m.get(key);
  if (!p) {
    p = device.createComputePipeline({
      layout: 'auto',
      compute: { module: device.createShaderModule({ code: k.wgsl }), entryPoint: k.entryPoint },
    });
    m.set(key, p);
  }
  return p;
}

export interface Dispatch {
  pipeline: GPUComputePipeline;
  bind: GPUBindGroup;
  workgroups: [number, number, number];
  name: string;
}

/** Pipelines and bind groups of a kernel list over the given buffers (missing buffer → error naming it). */
export function prepare(device: GPUDevice, kernels: KernelSpec[], buffers: Record<string, GPUBuffer>): Dispatch[] {
  return kernels.map((k) => {
    const pipeline = pipelineFor(device, k);
    const entries = k.bindings.map((b, i) => {
      const buf = buffers[b.buffer];
      if (!buf) throw new Error(`kernel ${k.name} binds "${b.buffer}", which was not provided`);
      return { binding: i, resource: { buffer: buf } };
    });
    return { pipeline, bind: device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries }), workgroups: k.workgroups, name: k.name };
  });
}

/** Encodes the dispatches (each in its own pass so timestamps can bracket it). */
export function encode(enc: GPUCommandEncoder, ds: Dispatch[], query?: { set: GPUQuerySet; base: number }): void {
  ds.forEach((d, i) => {
    const pass = enc.beginComputePass(
      query ? { timestampWrites: { querySet: query.set, beginningOfPassWriteIndex: query.base + 2 * i, endOfPassWriteIndex: query.base + 2 * i + 1 } } : {},
    );
    pass.setPipeline(d.pipeline);
    pass.setBindGroup(0, d.bind);
    pass.dispatchWorkgroups(...d.workgroups);
    pass.end();
  });
}

export async function runKernels(device: GPUDevice, kernels: KernelSpec[], buffers: Record<string, GPUBuffer>): Promise<void> {
  device.pushErrorScope('validation');
  const ds = prepare(device, kernels, buffers);
  const enc = device.createCommandEncoder();
  encode(enc, ds);
  device.queue.submit([enc.finish()]);
  // (no onSubmittedWorkDone: it aborts Dawn 0.6.2's Node binding here; reads map and wait instead)
  const err = await device.popErrorScope();
  if (err) throw new Error(`WebGPU validation error: ${err.message}`);
}

const USAGE = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

// Dawn's Node binding may read a writeBuffer source after the call returns: each upload's array
// stays reachable from its buffer (B2 traced random crashes to collected sources).
const sources = new WeakMap<GPUBuffer, Float32Array>();

export function uploadF32(device: GPUDevice, data: ArrayLike<number>): GPUBuffer {
  const buf = device.createBuffer({ size: Math.max(16, Math.ceil((data.length * 4) / 16) * 16), usage: USAGE() });
  const src = Float32Array.from(data);
  sources.set(buf, src);
  device.queue.writeBuffer(buf, 0, src);
  return buf;
}

export function zerosF32(device: GPUDevice, n: number): GPUBuffer {
  return device.createBuffer({ size: Math.max(16, Math.ceil((n * 4) / 16) * 16), usage: USAGE() });
}

export async function readF32(device: GPUDevice, buf: GPUBuffer, n: number): Promise<Float32Array> {
  const read = device.createBuffer({ size: Math.max(16, Math.ceil((n * 4) / 16) * 16), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(buf, 0, read, 0, read.size);
  device.queue.submit([enc.finish()]);
  await read.mapAsync(GPUMapMode.READ);
  const out = new Float32Array(read.getMappedRange().slice(0, n * 4));
  read.unmap();
  read.destroy();
  return out;
}

/** Input of each gradient, by gradient name. */
export const GRAD_INPUT: Record<string, string> = { dq: 'q', dk: 'k', dv: 'v', dg: 'g', dbeta: 'beta', dh0: 'h0' };

/** Every buffer a chunk scan's kernels bind, by plan name: inputs, outputs, zeroed gradients, scratch. */
export function scanBuffers(
  device: GPUDevice, cfg: ChunkScanConfig, s: ChunkScanShape, x: Record<string, Float64Array>, dO: Float64Array, dht: Float64Array, scratch: ScratchBuffer[],
): Record<string, GPUBuffer> {
  const sz = tensorSizes(cfg, s);
  const bufs: Record<string, GPUBuffer> = {};
  for (const [n, a] of Object.entries(x)) bufs[n] = uploadF32(device, a);
  bufs.o = zerosF32(device, sz.o);
  bufs.finalState = zerosF32(device, sz.ht);
  bufs['grad.o'] = uploadF32(device, dO);
  bufs['grad.finalState'] = uploadF32(device, dht);
  for (const g of gradNames(cfg)) bufs[`grad.${GRAD_INPUT[g]}`] = zerosF32(device, x[GRAD_INPUT[g]].length);
  for (const sc of scratch) bufs[`scratch.${sc.name}`] = zerosF32(device, sc.bytes / 4);
  return bufs;
}
