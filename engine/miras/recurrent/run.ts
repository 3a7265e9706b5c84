/**
 * A small standalone runner for KernelSpec lists: creates the named buffers (inputs from Float32Arrays,
 * outputs, grads and scratch zero-filled), dispatches the kernels in order and reads back what is asked.
 * Used by the kernel tests and the `scan` CLI; the training runtime has its own executor (engine/runtime).
 */
import type { KernelSpec, ScratchBuffer } from '../../plan/kernel';

export interface RunRequest {
  kernels: KernelSpec[];
  /** Buffers with initial contents, by plan name ("q", "grad.o", ...). */
  inputs: Record<string, Float32Array>;
  /** Buffers to create zero-filled, by name → element count (outputs, grad.<input>). */
  zeros?: Record<string, number>;
  scratch?: ScratchBuffer[];
  /** Names to read back after the last kernel. */
  read: string[];
  /** Reuse buffers across calls (e.g. forward then backward sharing scratch). */
  buffers?: Map<string, GPUBuffer>;
}

export async function runKernels(device: GPUDevice, req: RunRequest): Promise<Record<string, Float32Array>> {
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const bufs = req.buffers ?? new Map<string, GPUBuffer>();
  const make = (name: string, bytes: number) => {
    const old = bufs.get(name);
    if (old && old.size >= bytes) return old;
    const b = device.createBuffer({ size: Math.max(16, Math.ceil(bytes / 4) * 4), usage });
    bufs.set(name, b);
    return b;
  };
  // Dawn's Node binding may read the source arrays after writeBuffer returns: keep them alive until the
  // work is done (a collected array showed up as random crashes).
  const keep: ArrayBufferView[] = [];
  for (const [name, data] of Object.entries(req.inputs)) {
    const b = make(name, data.byteLength);
    keep.push(data);
    device.queue.writeBuffer(b, 0, data as Float32Array<ArrayBuffer>);
  }
  for (const [name, n] of Object.entries(req.zeros ?? {})) {
    const b = make(name, n * 4);
    const z = new Float32Array(Math.max(4, n));
    keep.push(z);
    device.queue.writeBuffer(b, 0, z);
  }
  for (const s of req.scratch ?? []) make(`scratch.${s.name}`, s.bytes);
  device.pushErrorScope('validation');
  const enc = device.createCommandEncoder();
  for (const k of req.kernels) {
    // 'auto' layout, as the engine's executor: kernels reference every binding they declare.
    // (An explicit pipeline layout made Dawn's Node binding crash at random on SwiftShader.)
    const pipeline = device.createComputePipeline({
      layout: 'auto',
      compute: { module: device.createShaderModule({ code: k.wgsl }), entryPoint: k.entryPoint },
    });
    const entries = k.bindings.map((bd, i) => {
      const b = bufs.get(bd.buffer);
      if (!b) throw new Error(`kernel ${k.name} binds "${bd.buffer}", which was neither given nor declared`);
      return { binding: i, resource: { buffer: b } };
    });
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries }));
    pass.dispatchWorkgroups(...k.workgroups);
    pass.end();
  }
  const reads = req.read.map((name) => {
    const b = bufs.get(name);
    if (!b) throw new Error(`cannot read "${name}": no such buffer`);
    const r = device.createBuffer({ size: b.size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    enc.copyBufferToBuffer(b, 0, r, 0, b.size);
    return { name, r };
  });
  device.queue.submit([enc.finish()]);
  const err = await device.popErrorScope();
  if (err) throw new Error(`WebGPU validation error: ${err.message}`);
  await device.queue.onSubmittedWorkDone();
  keep.length = 0;
  const out: Record<string, Float32Array> = {};
  for (const { name, r } of reads) {
    await r.mapAsync(GPUMapMode.READ);
    out[name] = new Float32Array(r.getMappedRange().slice(0));
    r.unmap();
    r.destroy();
  }
  return out;
}

/** The tensors of one scan call, in float32. */
export interface ScanGpuResult {
  o: Float32Array;
  finalState: Float32Array;
  /** grad.<input> for every input, when `gradOutputs` was given. */
  grads?: Record<string, Float32Array>;
}

/**
 * Run a scan's forward (and, with gradOutputs, backward) kernels on explicit inputs. `inputs` and
 * `outputs` are the provider's tensor declarations (name + shape).
 */
export async function runScanKernels(
  device: GPUDevice,
  kernels: { forward: KernelSpec[]; backward: KernelSpec[]; scratch: ScratchBuffer[] },
  decls: { inputs: { name: string; shape: number[] }[]; outputs: { name: string; shape: number[] }[] },
  inputs: Record<string, ArrayLike<number>>,
  gradOutputs?: Record<string, ArrayLike<number>>,
): Promise<ScanGpuResult> {
  const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);
  const f32: Record<string, Float32Array> = {};
  for (const d of decls.inputs) {
    const x = inputs[d.name];
    if (!x) throw new Error(`scan input "${d.name}" [${d.shape.join(', ')}] is missing`);
    if (x.length !== numel(d.shape)) throw new Error(`scan input "${d.name}" has ${x.length} elements, expected [${d.shape.join(', ')}]`);
    f32[d.name] = Float32Array.from(x);
  }
  const zeros: Record<string, number> = {};
  for (const d of decls.outputs) zeros[d.name] = numel(d.shape);
  const buffers = new Map<string, GPUBuffer>();
  try {
    const fwd = await runKernels(device, { kernels: kernels.forward, inputs: f32, zeros, scratch: kernels.scratch, read: decls.outputs.map((d) => d.name), buffers });
    const res: ScanGpuResult = {
      o: fwd.o.slice(0, zeros.o),
      finalState: fwd.finalState.slice(0, zeros.finalState),
    };
    if (gradOutputs) {
      const gin: Record<string, Float32Array> = {};
      for (const d of decls.outputs) {
        const g = gradOutputs[d.name];
        gin[`grad.${d.name}`] = g ? Float32Array.from(g) : new Float32Array(numel(d.shape));
      }
      const gz: Record<string, number> = {};
      for (const d of decls.inputs) gz[`grad.${d.name}`] = numel(d.shape);
      const bwd = await runKernels(device, { kernels: kernels.backward, inputs: gin, zeros: gz, read: Object.keys(gz), buffers });
      res.grads = {};
      for (const d of decls.inputs) res.grads[d.name] = bwd[`grad.${d.name}`].slice(0, numel(d.shape));
    }
    return res;
  } finally {
    for (const b of buffers.values()) b.destroy();
  }
}
