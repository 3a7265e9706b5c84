/**
 * The worker's trainer: the engine's Trainer (its training loop step, AdamW, schedules, NaN/Inf
 * detection) and its safetensors checkpoints, through engine/index.ts, plus the memory trace for
 * the panel's heatmaps, computed with the float64 reference on one sequence.
 */
import { Trainer, buildModel, encodeCheckpoint, importCheckpoint, referenceForward, type BuiltModel, type StepEvent, type TrainState } from '../index';
import { scanOp, type ScanAttrs } from '../ir/scan';
import { DEFAULT_CAPS, type DeviceCaps } from '../plan/kernel';
import type { MemoryView, ScanPrecision } from './protocol';
import type { TrainerHandle, TrainerOptions } from './engine-adapter';

/** The memory heatmaps cover at most this many positions (the prefix scans are O(T²) on the CPU). */
export const MEMORY_TRACE_MAX_LEN = 64;

/**
 * The caps the worker's trainer compiles for: optional device features reach the kernels through them (the worker
 * requests `subgroups` and `shader-f16` when offered), the limits stay WebGPU's defaults, and the config's scan
 * precision rides along. 'f16' on a device without shader-f16 is an error here, before anything is built.
 */
export function trainerCaps(device: GPUDevice, precision: ScanPrecision = 'f32'): DeviceCaps {
  const shaderF16 = device.features.has('shader-f16');
  if (precision === 'f16' && !shaderF16) throw new Error(SHADER_F16_MISSING);
  return { ...DEFAULT_CAPS, subgroups: device.features.has('subgroups'), shaderF16, scanPrecision: precision };
}

/** What the worker says when the config asks for f16 scans and the GPU cannot run them. */
export const SHADER_F16_MISSING =
  "Scan precision 'f16' needs the WebGPU feature 'shader-f16', which this GPU adapter does not offer; choose fp32 (precision 'f32') and start again.";

export async function createTrainer(opts: TrainerOptions): Promise<TrainerHandle> {
  const { spec, task, config: c, device } = opts;
  const trainer = await Trainer.create({
    spec,
    task,
    backend: c.backend,
    device,
    caps: device ? trainerCaps(device, c.precision) : undefined,
    config: {
      steps: c.steps, batch: c.batch, seqLen: c.seqLen, lr: c.lr, schedule: c.schedule, warmupSteps: c.warmupSteps,
      weightDecay: c.weightDecay, clip: c.gradClip, seed: c.seed, evalBatches: c.evalBatches,
      // The worker decides when to evaluate.
      evalEvery: 0,
    },
  });
  let traceModel: BuiltModel | null = null;
  const result = (ev: StepEvent) => ({ loss: ev.loss, accuracy: ev.accuracy, gradNorm: ev.gradNorm, lr: ev.lr });
  return {
    parameterCount: trainer.parameterCount,
    get stepIndex() {
      return trainer.stepIndex;
    },
    async step() {
      return result(await trainer.step());
    },
    async advance() {
      const ev = await trainer.advance();
      return ev && { step: ev.step, ...result(ev) };
    },
    async flush() {
      const ev = await trainer.flush();
      return ev && { step: ev.step, ...result(ev) };
    },
    async evaluate() {
      const ev = await trainer.evaluate();
      return { loss: ev.loss, accuracy: ev.accuracy };
    },
    lastLogits: (ids) => trainer.backend.lastLogits(ids),
    async exportCheckpoint() {
      const bytes = encodeCheckpoint(await trainer.backend.getState(), {
        step: trainer.stepIndex,
        spec,
        extra: { task: task.name, seed: String(c.seed) },
      });
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    },
    async importCheckpoint(bytes) {
      const ck = await importCheckpoint(trainer, bytes);
      return { step: ck.step, notices: ck.notices ?? [] };
    },
    async memoryTrace(ids) {
      const T = Math.min(ids.length, MEMORY_TRACE_MAX_LEN);
      traceModel ??= buildModel(spec, { batch: 1, seqLen: T });
      const view = memoryTrace(traceModel, await trainer.backend.getState(), ids.subarray(0, T));
      return view.series.length ? view : null;
    },
    dispose: () => trainer.destroy(),
  };
}

/**
 * Per layer and head over positions: ‖S_t‖ (Frobenius norm of the memory after token t, from the
 * provider's float64 recurrence on each prefix) and the gates the scan receives: α_t = exp(g_t),
 * β_t, η_t (averaged over channels and sub-steps where they have them).
 */
export function memoryTrace(model: BuiltModel, state: TrainState, ids: Int32Array): Omit<MemoryView, 'step'> {
  const T = model.shape.seqLen;
  const feeds = new Map<string, Float64Array>();
  for (const [name, p] of Object.entries(state.params)) feeds.set(name, Float64Array.from(p.data));
  feeds.set(model.ids.id, Float64Array.from(ids));
  feeds.set(model.targets.id, new Float64Array(T).fill(-1));
  const values = referenceForward(model.graph, feeds);
  const series: MemoryView['series'] = [];
  for (const node of model.graph.nodes) {
    if (node.op !== scanOp) continue;
    const layer = Number(/layers\.(\d+)/.exec(node.label)?.[1] ?? -1);
    const { provider, shape } = node.attrs as ScanAttrs;
    const H = shape.heads;
    const decls = provider.inputs(shape);
    const inputs: Record<string, Float64Array> = {};
    decls.forEach((d, i) => (inputs[d.name] = values.get(node.inputs[i].id)!));
    // Gates: [1, T·steps, H] or [1, T·steps, H, C] → mean per (position, head).
    for (const [name, quantity, f] of [['g', 'alpha', Math.exp], ['beta', 'beta', (x: number) => x], ['eta', 'eta', (x: number) => x]] as const) {
      const x = inputs[name];
      if (!x) continue;
      // Layout [1, T·steps, H, C] (C = 1 for per-head gates): average over sub-steps and channels.
      const decl = decls.find((d) => d.name === name)!;
      const C = decl.shape.length === 4 ? decl.shape[3] : 1;
      const steps = x.length / (T * H * C);
      for (let h = 0; h < H; h++) {
        const values: number[] = [];
        for (let t = 0; t < T; t++) {
          let s = 0;
          for (let st = 0; st < steps; st++) for (let c = 0; c < C; c++) s += f(x[((t * steps + st) * H + h) * C + c]);
          values.push(s / (steps * C));
        }
        series.push({ layer, head: h, quantity, values });
      }
    }
    // State norm after each prefix.
    const norms: number[][] = Array.from({ length: H }, () => []);
    for (let t = 1; t <= T; t++) {
      const prefix: Record<string, Float64Array> = {};
      for (const d of decls) {
        const x = inputs[d.name];
        prefix[d.name] = d.name === 'initialState' ? x : x.subarray(0, (x.length / T) * t);
      }
      const out = provider.referenceForward(prefix, { ...shape, time: t });
      const S = out.finalState;
      if (!S) break;
      const per = S.length / H;
      for (let h = 0; h < H; h++) {
        let sq = 0;
        for (let i = h * per; i < (h + 1) * per; i++) sq += S[i] * S[i];
        norms[h].push(Math.sqrt(sq));
      }
    }
    if (norms[0].length === T) norms.forEach((values, head) => series.push({ layer, head, quantity: 'stateNorm', values }));
  }
  return { seqLen: T, series };
}
