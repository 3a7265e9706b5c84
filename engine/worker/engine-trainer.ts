/**
 * Bridge from the worker's TrainerHandle to the engine's training backends
 * (engine/train/backend.ts: the compiled WebGPU plan, or the float64 reference), plus the
 * memory trace for the panel's heatmaps, computed with the float64 reference on one sequence.
 */
import { buildModel, type BuiltModel } from '../model/build';
import { referenceForward } from '../reference/interpreter';
import { scanOp, type ScanAttrs } from '../ir/scan';
import { createBackend, type TrainState } from '../train/backend';
import { learningRate } from '../train/schedule';
import type { MemoryView } from './protocol';
import type { StepResult, TrainerHandle, TrainerOptions } from './engine-adapter';
import type { NamedTensor } from './safetensors';

/** AdamW moments and decay rates (PyTorch defaults, as Zoology's AdamW uses). */
const ADAM = { beta1: 0.9, beta2: 0.999, eps: 1e-8 };
/** The memory heatmaps cover at most this many positions (the prefix scans are O(T²) on the CPU). */
export const MEMORY_TRACE_MAX_LEN = 64;

const M_PREFIX = 'optimizer.adam_m.';
const V_PREFIX = 'optimizer.adam_v.';

/** Parameters under their own names (a plain weights file), AdamW moments under optimizer.adam_{m,v}.<name>. */
export function stateToTensors(s: TrainState): Record<string, NamedTensor> {
  const out: Record<string, NamedTensor> = {};
  for (const [name, p] of Object.entries(s.params)) {
    out[name] = { shape: p.shape, data: p.data };
    if (s.m[name]) out[M_PREFIX + name] = { shape: p.shape, data: s.m[name] };
    if (s.v[name]) out[V_PREFIX + name] = { shape: p.shape, data: s.v[name] };
  }
  return out;
}

export function tensorsToState(t: Record<string, NamedTensor>): TrainState {
  const s: TrainState = { params: {}, m: {}, v: {} };
  for (const [name, x] of Object.entries(t)) {
    if (name.startsWith(M_PREFIX)) s.m[name.slice(M_PREFIX.length)] = x.data;
    else if (name.startsWith(V_PREFIX)) s.v[name.slice(V_PREFIX.length)] = x.data;
    else s.params[name] = { shape: x.shape, data: x.data };
  }
  return s;
}

export async function createTrainer(opts: TrainerOptions): Promise<TrainerHandle> {
  const { spec, config, device } = opts;
  const backend = await createBackend({ spec, batch: config.batch, seqLen: config.seqLen, seed: config.seed, kind: config.backend, device });
  const schedule = { kind: config.schedule, lr: config.lr, warmupSteps: config.warmupSteps, totalSteps: config.steps, minRatio: 0 };
  let traceModel: BuiltModel | null = null;
  return {
    parameterCount: backend.model.parameterCount,
    async step(inputs, targets, step): Promise<StepResult> {
      const lr = learningRate(step, schedule);
      const r = await backend.step({ inputs, targets }, { ...ADAM, lr, t: step + 1, weightDecay: config.weightDecay, clip: config.gradClip });
      return { loss: r.loss, correct: Math.round(r.accuracy * r.count), count: r.count, gradNorm: r.gradNorm, lr };
    },
    async evaluate(inputs, targets) {
      const r = await backend.evaluate({ inputs, targets });
      return { loss: r.loss, correct: Math.round(r.accuracy * r.count), count: r.count };
    },
    lastLogits: (ids) => backend.lastLogits(ids),
    saveState: async () => stateToTensors(await backend.getState()),
    loadState: (t) => backend.setState(tensorsToState(t)),
    async memoryTrace(ids) {
      const T = Math.min(ids.length, MEMORY_TRACE_MAX_LEN);
      traceModel ??= buildModel(backend.model.spec, { batch: 1, seqLen: T });
      const state = await backend.getState();
      return memoryTrace(traceModel, state, ids.subarray(0, T));
    },
    dispose: () => backend.destroy(),
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
