/**
 * Turns an ExecutionPlan into GPU objects and runs it: physical buffers, pipelines cached by
 * WGSL source (per device), bind groups made once, and each run encoded into one command buffer
 * with one compute pass (WebGPU orders dispatches within a pass). Pipeline and bind-group creation
 * run inside error scopes so a validation or out-of-memory error names its kernel; a lost device
 * surfaces on the next call with the reason.
 */
import type { KernelSpec } from '../plan/kernel';
import type { ExecutionPlan } from './plan';

export type Phase = 'forward' | 'backward' | 'optimizer';

/** Dispatches per submitted command buffer after a phase list's first (validated) run. */
const CHUNK = 96;

const pipelineCache = new WeakMap<GPUDevice, Map<string, Promise<GPUComputePipeline>>>();

export interface KernelTiming {
  name: string;
  phase: Phase;
  ms: number;
}

export class GpuExecutor {
  private lostReason: string | null = null;
  /** CPU time of the last `run` from its start to its last submit (encoding every dispatch), in ms. */
  lastEncodeMs = 0;
  /** Time of the last `run` from its last submit until its read-back was mapped, in ms. */
  lastWaitMs = 0;
  private readonly staging = new Map<string, GPUBuffer>();
  private readonly validated = new Set<string>();
  /** The newest read-back of `submit`: each waits for the one before, so one map is in flight at a time. */
  private mapping: Promise<unknown> = Promise.resolve();
  /** Per read list, the staging slot (0 or 1) its next submit uses, and each slot's read-back in flight. */
  private readonly turns = new Map<string, number>();
  private readonly reading = new Map<string, Promise<unknown>>();

  private constructor(
    readonly device: GPUDevice,
    readonly plan: ExecutionPlan,
    private readonly physical: GPUBuffer[],
    private readonly compiled: Record<Phase, { spec: KernelSpec; pipeline: GPUComputePipeline; bind: GPUBindGroup }[]>,
  ) {
    void device.lost.then((info) => {
      this.lostReason = `${info.reason}: ${info.message}`;
    });
  }

  static async create(device: GPUDevice, plan: ExecutionPlan): Promise<GpuExecutor> {
    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
    const physical = plan.slots.map((s, i) =>
      device.createBuffer({
        label: `slot${i}`,
        size: s.bytes,
        usage:
          s.usage === 'uniform'
            ? GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST
            : GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      }),
    );
    const v = await device.popErrorScope();
    const o = await device.popErrorScope();
    if (v || o) throw new Error(`allocating ${plan.slots.length} buffers (${(plan.peakBytes / 2 ** 20).toFixed(1)} MiB): ${(o ?? v)!.message}`);
    let cache = pipelineCache.get(device);
    if (!cache) pipelineCache.set(device, (cache = new Map()));
    const compiled = {} as GpuExecutor['compiled'];
    for (const phase of ['forward', 'backward', 'optimizer'] as Phase[]) {
      compiled[phase] = await Promise.all(
        plan[phase].map(async (spec) => {
          const pipeline = await pipelineFor(device, cache!, spec);
          device.pushErrorScope('validation');
          const bind = device.createBindGroup({
            label: spec.name,
            layout: pipeline.getBindGroupLayout(0),
            entries: spec.bindings.map((b, i) => {
              const pb = plan.buffers.get(b.buffer);
              if (!pb) throw new Error(`kernel ${spec.name}: no buffer "${b.buffer}" in the plan`);
              return { binding: i, resource: { buffer: physical[pb.slot], offset: 0, size: Math.max(4, pb.bytes) } };
            }),
          });
          const err = await device.popErrorScope();
          if (err) throw new Error(`kernel ${spec.name}: binding its buffers failed: ${err.message}`);
          return { spec, pipeline, bind };
        }),
      );
    }
    return new GpuExecutor(device, plan, physical, compiled);
  }

  private check() {
    if (this.lostReason) throw new Error(`WebGPU device lost (${this.lostReason})`);
  }

  private slice(name: string) {
    const b = this.plan.buffers.get(name);
    if (!b) throw new Error(`no buffer "${name}" in the plan`);
    return { buffer: this.physical[b.slot], bytes: b.bytes };
  }

  has(name: string): boolean {
    return this.plan.buffers.has(name);
  }

  write(name: string, data: Float32Array | Int32Array | Uint32Array) {
    this.check();
    const { buffer, bytes } = this.slice(name);
    if (data.byteLength !== bytes) throw new Error(`writing "${name}": ${data.byteLength} bytes given, buffer holds ${bytes}`);
    this.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
  }

  /**
   * Run the phases and return the `read` buffers (copied into one staging buffer, mapped once). The first
   * run of each phase list is one command buffer encoded inside error scopes, so a validation error names
   * it; later runs encode the identical commands without the scopes' round trips, and submit them in
   * chunks of CHUNK dispatches so the GPU starts on the first chunk while the CPU encodes the next.
   */
  async run(phases: Phase[], read: string[] = []): Promise<Record<string, Float32Array>> {
    return (await this.submit(phases, read)).result;
  }

  /**
   * `run` without waiting for the GPU: returns once the work is submitted, and `result` resolves with the `read`
   * buffers when it is done, so the caller can encode the next step meanwhile (the trainer reads a step's loss one
   * step late). Each read list alternates between two staging buffers; read-backs are mapped one at a time in
   * submission order (Dawn's Node binding was seen to abort with several maps in flight), and a submit whose staging
   * buffer is still being read waits for that read first.
   */
  async submit(phases: Phase[], read: string[] = []): Promise<{ result: Promise<Record<string, Float32Array>> }> {
    this.check();
    const { device } = this;
    const key = phases.join('+');
    // Error scopes are awaited below: nothing may be in flight then.
    if (!this.validated.has(key)) await this.idle();
    const readKey = read.join('\n');
    const turn = this.turns.get(readKey) ?? 0;
    this.turns.set(readKey, 1 - turn);
    const slot = `${readKey}#${turn}`;
    await this.reading.get(slot)?.catch(() => {});
    const t0 = performance.now();
    const list = phases.flatMap((ph) => this.compiled[ph]);
    const encodePass = (enc: GPUCommandEncoder, from: number, to: number) => {
      const pass = enc.beginComputePass();
      let current: GPUComputePipeline | null = null;
      for (let i = from; i < to; i++) {
        const k = list[i];
        // Pipelines are shared by equal sources: consecutive equal kernels set theirs once.
        if (k.pipeline !== current) pass.setPipeline((current = k.pipeline));
        pass.setBindGroup(0, k.bind);
        pass.dispatchWorkgroups(...k.spec.workgroups);
      }
      pass.end();
    };
    let staged: ReturnType<GpuExecutor['stageTogether']>;
    if (!this.validated.has(key)) {
      device.pushErrorScope('out-of-memory');
      device.pushErrorScope('validation');
      const enc = device.createCommandEncoder();
      encodePass(enc, 0, list.length);
      staged = this.stageTogether(enc, read, slot);
      const commands = enc.finish();
      // Scopes are popped before submitting: an await pending while work runs was seen to abort Dawn's Node binding.
      const v = await device.popErrorScope();
      const o = await device.popErrorScope();
      if (v || o) throw new Error(`encoding ${key}: ${(v ?? o)!.message}`);
      this.validated.add(key);
      device.queue.submit([commands]);
    } else {
      for (let from = 0; from < list.length; from += CHUNK) {
        const enc = device.createCommandEncoder();
        encodePass(enc, from, Math.min(list.length, from + CHUNK));
        device.queue.submit([enc.finish()]);
      }
      const enc = device.createCommandEncoder();
      staged = this.stageTogether(enc, read, slot);
      device.queue.submit([enc.finish()]);
    }
    const t1 = performance.now();
    this.lastEncodeMs = t1 - t0;
    if (!staged) return { result: Promise.resolve({}) };
    const { st } = staged;
    const result = this.mapping.catch(() => {}).then(async () => {
      await st.mapAsync(GPUMapMode.READ);
      const all = new Float32Array(st.getMappedRange(0, staged.total).slice(0));
      st.unmap();
      this.lastWaitMs = performance.now() - t1;
      this.check();
      const out: Record<string, Float32Array> = {};
      read.forEach((name, i) => (out[name] = all.subarray(staged.at[i] / 4, (staged.at[i] + staged.bytes[i]) / 4)));
      return out;
    });
    // A result nobody awaits (a step abandoned after a NaN) must not surface as an unhandled rejection.
    result.catch(() => {});
    this.mapping = result;
    this.reading.set(slot, result);
    return { result };
  }

  /** Resolves when no read-back is in flight. */
  private async idle() {
    await this.mapping.catch(() => {});
  }

  /** Copies of `names` side by side in one staging buffer (reused for the same list and slot). */
  private stageTogether(enc: GPUCommandEncoder, names: string[], key: string) {
    if (!names.length) return null;
    const parts = names.map((n) => this.slice(n));
    const at: number[] = [];
    let total = 0;
    for (const p of parts) {
      at.push(total);
      total += Math.max(4, Math.ceil(p.bytes / 4) * 4);
    }
    let st = this.staging.get(key);
    if (!st) {
      st = this.device.createBuffer({ label: `read:${names.length} buffers`, size: total, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      this.staging.set(key, st);
    }
    parts.forEach((p, i) => enc.copyBufferToBuffer(p.buffer, 0, st!, at[i], Math.max(4, Math.ceil(p.bytes / 4) * 4)));
    return { st, at, bytes: parts.map((p) => p.bytes), total };
  }

  async read(names: string[]): Promise<Record<string, Float32Array>> {
    this.check();
    await this.idle();
    const enc = this.device.createCommandEncoder();
    const staged = names.map((n) => this.stage(enc, n));
    this.device.queue.submit([enc.finish()]);
    return this.collect(names, staged);
  }

  private stage(enc: GPUCommandEncoder, name: string) {
    const { buffer, bytes } = this.slice(name);
    const size = Math.max(4, Math.ceil(bytes / 4) * 4);
    let st = this.staging.get(name);
    if (!st) {
      st = this.device.createBuffer({ label: `read:${name}`, size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      this.staging.set(name, st);
    }
    enc.copyBufferToBuffer(buffer, 0, st, 0, size);
    return { st, bytes };
  }

  private async collect(names: string[], staged: { st: GPUBuffer; bytes: number }[]) {
    const out: Record<string, Float32Array> = {};
    // One mapping at a time: Dawn's Node bindings were seen to abort with several maps in flight.
    for (let i = 0; i < staged.length; i++) {
      const { st, bytes } = staged[i];
      await st.mapAsync(GPUMapMode.READ);
      out[names[i]] = new Float32Array(st.getMappedRange(0, Math.max(4, bytes)).slice(0)).subarray(0, bytes / 4);
      st.unmap();
    }
    this.check();
    return out;
  }

  /**
   * GPU time of the phases run as in `run` (one pass, all dispatches), from timestamps at the pass's start
   * and end; null when unsupported. Unlike the sum of `profile`, this counts no per-pass overhead and
   * suffers no per-kernel timestamp quantisation.
   */
  async timePass(phases: Phase[]): Promise<number | null> {
    const { device } = this;
    if (!device.features.has('timestamp-query')) return null;
    this.check();
    await this.idle();
    const qs = device.createQuerySet({ type: 'timestamp', count: 2 });
    const resolve = device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    const readBuf = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass({ timestampWrites: { querySet: qs, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } });
    for (const ph of phases)
      for (const k of this.compiled[ph]) {
        pass.setPipeline(k.pipeline);
        pass.setBindGroup(0, k.bind);
        pass.dispatchWorkgroups(...k.spec.workgroups);
      }
    pass.end();
    enc.resolveQuerySet(qs, 0, 2, resolve, 0);
    enc.copyBufferToBuffer(resolve, 0, readBuf, 0, 16);
    device.queue.submit([enc.finish()]);
    await readBuf.mapAsync(GPUMapMode.READ);
    const ts = new BigInt64Array(readBuf.getMappedRange().slice(0));
    readBuf.unmap();
    qs.destroy();
    resolve.destroy();
    readBuf.destroy();
    return Number(ts[1] - ts[0]) / 1e6;
  }

  /** Per-kernel GPU time from timestamp queries (one pass per kernel); null when unsupported. */
  async profile(phases: Phase[]): Promise<KernelTiming[] | null> {
    const { device } = this;
    if (!device.features.has('timestamp-query')) return null;
    await this.idle();
    const list = phases.flatMap((ph) => this.compiled[ph].map((k) => ({ ...k, phase: ph })));
    const timings: KernelTiming[] = [];
    for (let start = 0; start < list.length; start += 2048) {
      const chunk = list.slice(start, start + 2048);
      const qs = device.createQuerySet({ type: 'timestamp', count: chunk.length * 2 });
      const resolve = device.createBuffer({ size: chunk.length * 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
      const readBuf = device.createBuffer({ size: chunk.length * 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      const enc = device.createCommandEncoder();
      chunk.forEach((k, i) => {
        const pass = enc.beginComputePass({ timestampWrites: { querySet: qs, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } });
        pass.setPipeline(k.pipeline);
        pass.setBindGroup(0, k.bind);
        pass.dispatchWorkgroups(...k.spec.workgroups);
        pass.end();
      });
      enc.resolveQuerySet(qs, 0, chunk.length * 2, resolve, 0);
      enc.copyBufferToBuffer(resolve, 0, readBuf, 0, chunk.length * 16);
      device.queue.submit([enc.finish()]);
      await readBuf.mapAsync(GPUMapMode.READ);
      const ts = new BigInt64Array(readBuf.getMappedRange().slice(0));
      readBuf.unmap();
      chunk.forEach((k, i) => timings.push({ name: k.spec.name, phase: k.phase, ms: Number(ts[2 * i + 1] - ts[2 * i]) / 1e6 }));
      qs.destroy();
      resolve.destroy();
      readBuf.destroy();
    }
    return timings;
  }

  kernelCount(): Record<Phase, number> {
    return { forward: this.compiled.forward.length, backward: this.compiled.backward.length, optimizer: this.compiled.optimizer.length };
  }

  destroy() {
    for (const b of this.physical) b.destroy();
    for (const b of this.staging.values()) b.destroy();
  }
}

async function pipelineFor(device: GPUDevice, cache: Map<string, Promise<GPUComputePipeline>>, spec: KernelSpec): Promise<GPUComputePipeline> {
  const key = `${spec.entryPoint}\n${spec.wgsl}`;
  let p = cache.get(key);
  if (!p) {
    p = (async () => {
      const shader = device.createShaderModule({ label: spec.name, code: spec.wgsl });
      device.pushErrorScope('validation');
      const pipeline = device.createComputePipeline({ label: spec.name, layout: 'auto', compute: { module: shader, entryPoint: spec.entryPoint } });
      const err = await device.popErrorScope();
      if (err) {
        const info = await shader.getCompilationInfo();
        const msgs = info.messages.filter((m) => m.type === 'error').map((m) => `line ${m.lineNum}:${m.linePos} ${m.message}`);
        throw new Error(`kernel ${spec.name}: pipeline creation failed: ${msgs.join('; ') || err.message}`);
      }
      return pipeline;
    })();
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  try {
    return await p;
  } catch (e) {
    // A cached failure was raised for another kernel with the same source: rename it for this one.
    throw new Error((e as Error).message.replace(/^kernel [^:]+:/, `kernel ${spec.name}:`));
  }
}
