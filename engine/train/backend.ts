/**
 * The two training backends behind one interface: 'webgpu' (the compiled plan on a GPUDevice)
 * and 'reference' (the float64 interpreter with the same AdamW in float64). Both take the same
 * batches and hyper-parameters, so their losses can be compared step by step.
 */
import type { BuiltModel } from '../model/build';
import { buildModel } from '../model/build';
import { initParams } from '../model/init';
import type { DeviceCaps } from '../plan/kernel';
import { DEFAULT_CAPS } from '../plan/kernel';
import { referenceBackward, referenceForward } from '../reference/interpreter';
import { GpuExecutor } from '../runtime/executor';
import { adamM, adamV, compilePlan, GRAD_NORM, gradName, HPARAM_FIELDS, HPARAMS } from '../runtime/plan';
import type { ModelSpec } from '../spec';

export type BackendKind = 'webgpu' | 'reference';

export interface Batch {
  inputs: Int32Array;
  targets: Int32Array;
}

export interface AdamWConfig {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Global gradient-norm clip; 0 = off. */
  clip: number;
}

export interface StepHparams extends AdamWConfig {
  lr: number;
  /** 1-based optimizer step (bias correction). */
  t: number;
}

export interface BatchStats {
  loss: number;
  /** Fraction of labelled positions whose argmax is the target. */
  accuracy: number;
  /** Labelled positions. */
  count: number;
}

export interface StepStats extends BatchStats {
  /** Global gradient norm before clipping. */
  gradNorm: number;
}

/** Parameters and AdamW moments by parameter name. */
export interface TrainState {
  params: Record<string, { shape: number[]; data: Float32Array }>;
  m: Record<string, Float32Array>;
  v: Record<string, Float32Array>;
}

export interface TrainingBackend {
  readonly kind: BackendKind;
  readonly model: BuiltModel;
  /** Device memory of the compiled plan (webgpu), null for the reference. */
  readonly peakBytes: number | null;
  step(batch: Batch, hp: StepHparams): Promise<StepStats>;
  /**
   * Queue a step and return once it is submitted; `stats` resolves when its loss is read back. Lets the caller
   * encode the next step while this one runs (wrapped in an object so awaiting the submit does not await the stats).
   */
  submitStep(batch: Batch, hp: StepHparams): Promise<{ stats: Promise<StepStats> }>;
  evaluate(batch: Batch): Promise<BatchStats>;
  /** Forward logits [batch, seqLen, vocab] and stats (no update). */
  forward(batch: Batch): Promise<BatchStats & { logits: Float32Array | Float64Array }>;
  /** Loss and every parameter's gradient (no update). */
  gradients(batch: Batch): Promise<{ loss: number; grads: Record<string, Float32Array | Float64Array> }>;
  /** Next-token logits after the last of `ids` (one sequence, length ≤ seqLen). */
  lastLogits(ids: Int32Array): Promise<Float32Array>;
  getState(): Promise<TrainState>;
  setState(state: TrainState): Promise<void>;
  destroy(): void;
}

export interface BackendOptions {
  spec: ModelSpec;
  batch: number;
  seqLen: number;
  seed: number;
  kind: BackendKind;
  /** Required for 'webgpu'. */
  device?: GPUDevice;
  caps?: DeviceCaps;
  /** Tiled GEMMs (set on real GPUs; naive loops are faster on SwiftShader). */
  tiled?: boolean;
}

function checkBatch(m: BuiltModel, b: Batch) {
  const n = m.shape.batch * m.shape.seqLen;
  if (b.inputs.length !== n || b.targets.length !== n) {
    throw new Error(`batch has ${b.inputs.length} inputs and ${b.targets.length} targets; the model was compiled for ${m.shape.batch}×${m.shape.seqLen} = ${n}`);
  }
  const V = m.spec.vocabSize;
  for (let i = 0; i < n; i++) {
    if (!(b.inputs[i] >= 0 && b.inputs[i] < V)) throw new Error(`token id ${b.inputs[i]} at position ${i} is outside the vocabulary [0, ${V})`);
    if (!(b.targets[i] === -1 || (b.targets[i] >= 0 && b.targets[i] < V))) throw new Error(`target ${b.targets[i]} at position ${i} is outside [0, ${V}) and is not −1`);
  }
}

function padIds(ids: Int32Array, seqLen: number): Int32Array {
  if (ids.length < 1 || ids.length > seqLen) throw new Error(`need 1..${seqLen} token ids, got ${ids.length}`);
  const out = new Int32Array(seqLen);
  out.set(ids);
  return out;
}

export async function createBackend(o: BackendOptions): Promise<TrainingBackend> {
  const model = buildModel(o.spec, { batch: o.batch, seqLen: o.seqLen });
  const init = initParams(model.graph, o.seed);
  return o.kind === 'reference' ? new ReferenceBackend(model, init) : WebGpuBackend.create(model, init, o);
}

// ---------------------------------------------------------------------------------------------

class ReferenceBackend implements TrainingBackend {
  readonly kind = 'reference' as const;
  readonly peakBytes = null;
  private m = new Map<string, Float64Array>();
  private v = new Map<string, Float64Array>();
  private single: BuiltModel | null = null;

  constructor(
    readonly model: BuiltModel,
    private params: Map<string, Float64Array>,
  ) {
    for (const [k, x] of params) {
      this.m.set(k, new Float64Array(x.length));
      this.v.set(k, new Float64Array(x.length));
    }
  }

  private feeds(b: Batch) {
    checkBatch(this.model, b);
    const f = new Map(this.params);
    f.set(this.model.ids.id, Float64Array.from(b.inputs));
    f.set(this.model.targets.id, Float64Array.from(b.targets));
    return f;
  }

  private stats(vals: Map<string, Float64Array>): BatchStats {
    const mt = vals.get(this.model.metrics.id)!;
    return { loss: vals.get(this.model.loss.id)![0], accuracy: mt[0], count: mt[1] };
  }

  async forward(b: Batch) {
    const vals = referenceForward(this.model.graph, this.feeds(b));
    return { ...this.stats(vals), logits: vals.get(this.model.logits.id)! };
  }

  async evaluate(b: Batch) {
    return this.stats(referenceForward(this.model.graph, this.feeds(b)));
  }

  async gradients(b: Batch) {
    const vals = referenceForward(this.model.graph, this.feeds(b));
    const g = referenceBackward(this.model.graph, vals, this.model.loss);
    const grads: Record<string, Float64Array> = {};
    for (const p of this.model.graph.params) grads[p.tensor.id] = g.get(p.tensor.id)!;
    return { loss: vals.get(this.model.loss.id)![0], grads };
  }

  /** The float64 interpreter has nothing to overlap: the step runs here and its stats are ready. */
  async submitStep(b: Batch, hp: StepHparams) {
    const stats = await this.step(b, hp);
    return { stats: Promise.resolve(stats) };
  }

  async step(b: Batch, hp: StepHparams): Promise<StepStats> {
    const vals = referenceForward(this.model.graph, this.feeds(b));
    const g = referenceBackward(this.model.graph, vals, this.model.loss);
    let sq = 0;
    for (const p of this.model.graph.params) for (const x of g.get(p.tensor.id)!) sq += x * x;
    const gradNorm = Math.sqrt(sq);
    const scale = hp.clip > 0 && gradNorm > hp.clip ? hp.clip / gradNorm : 1;
    const bc1 = 1 - hp.beta1 ** hp.t;
    const bc2 = 1 - hp.beta2 ** hp.t;
    for (const p of this.model.graph.params) {
      const id = p.tensor.id;
      const x = this.params.get(id)!;
      const gr = g.get(id)!;
      const m = this.m.get(id)!;
      const v = this.v.get(id)!;
      for (let i = 0; i < x.length; i++) {
        const gi = gr[i] * scale;
        m[i] = hp.beta1 * m[i] + (1 - hp.beta1) * gi;
        v[i] = hp.beta2 * v[i] + (1 - hp.beta2) * gi * gi;
        x[i] -= hp.lr * ((p.decay ? hp.weightDecay * x[i] : 0) + m[i] / bc1 / (Math.sqrt(v[i] / bc2) + hp.eps));
      }
    }
    return { ...this.stats(vals), gradNorm };
  }

  async lastLogits(ids: Int32Array) {
    this.single ??= buildModel(this.model.spec, { batch: 1, seqLen: this.model.shape.seqLen });
    const f = new Map(this.params);
    f.set(this.single.ids.id, Float64Array.from(padIds(ids, this.model.shape.seqLen)));
    f.set(this.single.targets.id, new Float64Array(this.model.shape.seqLen).fill(-1));
    const logits = referenceForward(this.single.graph, f).get(this.single.logits.id)!;
    const V = this.model.spec.vocabSize;
    return Float32Array.from(logits.subarray((ids.length - 1) * V, ids.length * V));
  }

  async getState(): Promise<TrainState> {
    const s: TrainState = { params: {}, m: {}, v: {} };
    for (const p of this.model.graph.params) {
      const id = p.tensor.id;
      s.params[id] = { shape: p.tensor.shape, data: Float32Array.from(this.params.get(id)!) };
      s.m[id] = Float32Array.from(this.m.get(id)!);
      s.v[id] = Float32Array.from(this.v.get(id)!);
    }
    return s;
  }

  async setState(s: TrainState) {
    validateState(this.model, s);
    for (const p of this.model.graph.params) {
      const id = p.tensor.id;
      this.params.set(id, Float64Array.from(s.params[id].data));
      this.m.set(id, s.m[id] ? Float64Array.from(s.m[id]) : new Float64Array(p.tensor.size));
      this.v.set(id, s.v[id] ? Float64Array.from(s.v[id]) : new Float64Array(p.tensor.size));
    }
  }

  destroy() {}
}

export function validateState(model: BuiltModel, s: TrainState) {
  for (const p of model.graph.params) {
    const t = s.params[p.tensor.id];
    if (!t) throw new Error(`checkpoint has no parameter "${p.tensor.id}"`);
    if (t.data.length !== p.tensor.size) throw new Error(`checkpoint parameter "${p.tensor.id}" has ${t.data.length} values, the model needs ${p.tensor.size} ([${p.tensor.shape}])`);
    for (const mv of [s.m[p.tensor.id], s.v[p.tensor.id]]) if (mv && mv.length !== p.tensor.size) throw new Error(`checkpoint optimizer state for "${p.tensor.id}" has the wrong size`);
  }
  const known = new Set(model.graph.params.map((p) => p.tensor.id));
  const extra = Object.keys(s.params).filter((k) => !known.has(k));
  if (extra.length) throw new Error(`checkpoint has parameters this model lacks: ${extra.slice(0, 5).join(', ')}${extra.length > 5 ? '…' : ''}`);
}

// ---------------------------------------------------------------------------------------------

class WebGpuBackend implements TrainingBackend {
  readonly kind = 'webgpu' as const;
  private single: { model: BuiltModel; ex: GpuExecutor } | null = null;

  private constructor(
    readonly model: BuiltModel,
    private readonly ex: GpuExecutor,
    private readonly opts: BackendOptions,
  ) {}

  get peakBytes() {
    return this.ex.plan.peakBytes;
  }

  static async create(model: BuiltModel, init: Map<string, Float64Array>, o: BackendOptions) {
    if (!o.device) throw new Error("the 'webgpu' backend needs a GPUDevice");
    const plan = compilePlan(model.graph, {
      caps: o.caps ?? DEFAULT_CAPS,
      loss: model.loss,
      keep: [model.metrics, model.logits],
      optimizer: true,
      tiled: o.tiled,
    });
    const ex = await GpuExecutor.create(o.device, plan);
    for (const [id, x] of init) {
      ex.write(id, Float32Array.from(x));
      ex.write(adamM(id), new Float32Array(x.length));
      ex.write(adamV(id), new Float32Array(x.length));
    }
    return new WebGpuBackend(model, ex, o);
  }

  private upload(b: Batch) {
    checkBatch(this.model, b);
    this.ex.write(this.model.ids.id, b.inputs);
    this.ex.write(this.model.targets.id, b.targets);
  }

  private stats(r: Record<string, Float32Array>): BatchStats {
    const mt = r[this.model.metrics.id];
    return { loss: r[this.model.loss.id][0], accuracy: mt[0], count: mt[1] };
  }

  async step(b: Batch, hp: StepHparams): Promise<StepStats> {
    return (await this.submitStep(b, hp)).stats;
  }

  async submitStep(b: Batch, hp: StepHparams) {
    this.upload(b);
    const vals: Record<(typeof HPARAM_FIELDS)[number], number> = {
      lr: hp.lr,
      beta1: hp.beta1,
      beta2: hp.beta2,
      eps: hp.eps,
      weightDecay: hp.weightDecay,
      bc1: 1 - hp.beta1 ** hp.t,
      bc2: 1 - hp.beta2 ** hp.t,
      clip: hp.clip,
    };
    // A fresh array per step: the next step's values are written while this one may still be queued.
    this.ex.write(HPARAMS, Float32Array.from(HPARAM_FIELDS, (f) => vals[f]));
    const { result } = await this.ex.submit(['forward', 'backward', 'optimizer'], [this.model.loss.id, this.model.metrics.id, GRAD_NORM]);
    return { stats: result.then((r): StepStats => ({ ...this.stats(r), gradNorm: r[GRAD_NORM][0] })) };
  }

  async evaluate(b: Batch) {
    this.upload(b);
    return this.stats(await this.ex.run(['forward'], [this.model.loss.id, this.model.metrics.id]));
  }

  async forward(b: Batch) {
    this.upload(b);
    const r = await this.ex.run(['forward'], [this.model.loss.id, this.model.metrics.id, this.model.logits.id]);
    return { ...this.stats(r), logits: r[this.model.logits.id] };
  }

  async gradients(b: Batch) {
    this.upload(b);
    const names = this.model.graph.params.map((p) => gradName(p.tensor.id));
    const r = await this.ex.run(['forward', 'backward'], [this.model.loss.id, ...names]);
    const grads: Record<string, Float32Array> = {};
    for (const p of this.model.graph.params) grads[p.tensor.id] = r[gradName(p.tensor.id)];
    return { loss: r[this.model.loss.id][0], grads };
  }

  async lastLogits(ids: Int32Array) {
    const T = this.model.shape.seqLen;
    if (!this.single) {
      const model = buildModel(this.model.spec, { batch: 1, seqLen: T });
      const plan = compilePlan(model.graph, { caps: this.opts.caps ?? DEFAULT_CAPS, keep: [model.logits], tiled: this.opts.tiled });
      this.single = { model, ex: await GpuExecutor.create(this.opts.device!, plan) };
    }
    const { model, ex } = this.single;
    const params = await this.ex.read(this.model.graph.params.map((p) => p.tensor.id));
    for (const [id, x] of Object.entries(params)) ex.write(id, x);
    ex.write(model.ids.id, padIds(ids, T));
    ex.write(model.targets.id, new Int32Array(T).fill(-1));
    const logits = (await ex.run(['forward'], [model.logits.id]))[model.logits.id];
    const V = this.model.spec.vocabSize;
    return logits.slice((ids.length - 1) * V, ids.length * V);
  }

  async getState(): Promise<TrainState> {
    const ps = this.model.graph.params;
    const r = await this.ex.read(ps.flatMap((p) => [p.tensor.id, adamM(p.tensor.id), adamV(p.tensor.id)]));
    const s: TrainState = { params: {}, m: {}, v: {} };
    for (const p of ps) {
      s.params[p.tensor.id] = { shape: p.tensor.shape, data: r[p.tensor.id] };
      s.m[p.tensor.id] = r[adamM(p.tensor.id)];
      s.v[p.tensor.id] = r[adamV(p.tensor.id)];
    }
    return s;
  }

  async setState(s: TrainState) {
    validateState(this.model, s);
    for (const p of this.model.graph.params) {
      const id = p.tensor.id;
      this.ex.write(id, s.params[id].data);
      this.ex.write(adamM(id), s.m[id] ?? new Float32Array(p.tensor.size));
      this.ex.write(adamV(id), s.v[id] ?? new Float32Array(p.tensor.size));
    }
  }

  destroy() {
    this.ex.destroy();
    this.single?.ex.destroy();
  }
}
