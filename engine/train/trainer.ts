/**
 * The training loop: task batches → backend steps → metric events. No Node APIs: it runs the
 * same in Node (CLI, tests) and in a Web Worker. Deterministic in (seed): parameter init is
 * keyed by (seed, name) and batches by (task seed, split, step). A non-finite loss or gradient
 * norm stops training with an error naming the step and the quantity.
 */
import type { Task } from '../tasks/types';
import type { ModelSpec } from '../spec';
import type { DeviceCaps } from '../plan/kernel';
import { createBackend, type AdamWConfig, type BackendKind, type BatchStats, type TrainingBackend } from './backend';
import { learningRate, type ScheduleKind } from './schedule';

export interface TrainerConfig extends AdamWConfig {
  steps: number;
  batch: number;
  seqLen: number;
  lr: number;
  schedule: ScheduleKind;
  warmupSteps: number;
  minLrRatio: number;
  seed: number;
  /** Held-out eval every N steps (and after the last step); 0 = only at the end. */
  evalEvery: number;
  evalBatches: number;
}

export const DEFAULT_TRAINER_CONFIG: Omit<TrainerConfig, 'steps' | 'batch' | 'seqLen' | 'lr'> = {
  schedule: 'cosine',
  warmupSteps: 10,
  minLrRatio: 0.1,
  seed: 0,
  beta1: 0.9,
  beta2: 0.95,
  eps: 1e-8,
  weightDecay: 0.1,
  clip: 1,
  evalEvery: 0,
  evalBatches: 2,
};

export interface StepEvent {
  type: 'step';
  /** 0-based step just taken. */
  step: number;
  loss: number;
  /** Present when the task has an accuracy metric. */
  accuracy?: number;
  gradNorm: number;
  lr: number;
  tokensPerSec: number;
  /** Wall time of this step in ms (batch generation excluded). */
  stepMs: number;
}

export interface EvalEvent {
  type: 'eval';
  /** Steps taken when evaluated. */
  step: number;
  loss: number;
  accuracy?: number;
  count: number;
}

export type TrainEvent = StepEvent | EvalEvent;

export class TrainingDivergedError extends Error {
  constructor(
    readonly step: number,
    readonly quantity: string,
    readonly value: number,
  ) {
    super(`training stopped at step ${step}: ${quantity} is ${value} (not finite). Try a lower learning rate or stronger gradient clipping.`);
  }
}

export interface CreateTrainerOptions {
  spec: ModelSpec;
  task: Task;
  config: Partial<TrainerConfig> & Pick<TrainerConfig, 'steps' | 'batch' | 'seqLen' | 'lr'>;
  backend: BackendKind;
  device?: GPUDevice;
  caps?: DeviceCaps;
  tiled?: boolean;
}

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

export class Trainer {
  /** Steps taken so far (the next step's 0-based index). */
  stepIndex = 0;

  private constructor(
    readonly backend: TrainingBackend,
    readonly task: Task,
    readonly config: TrainerConfig,
  ) {}

  static async create(o: CreateTrainerOptions): Promise<Trainer> {
    const config: TrainerConfig = { ...DEFAULT_TRAINER_CONFIG, ...o.config };
    if (!(config.lr > 0)) throw new Error(`learning rate must be > 0, got ${config.lr}`);
    if (!Number.isInteger(config.steps) || config.steps < 1) throw new Error(`steps must be a positive integer, got ${config.steps}`);
    if (o.task.vocabSize > o.spec.vocabSize) {
      throw new Error(`task ${o.task.name} uses ${o.task.vocabSize} token ids but the model's vocabulary is ${o.spec.vocabSize}`);
    }
    if (config.seqLen < o.task.minSeqLen) throw new Error(`task ${o.task.name} needs a sequence length of at least ${o.task.minSeqLen}, got ${config.seqLen}`);
    const backend = await createBackend({
      spec: o.spec,
      batch: config.batch,
      seqLen: config.seqLen,
      seed: config.seed,
      kind: o.backend,
      device: o.device,
      caps: o.caps,
      tiled: o.tiled,
    });
    return new Trainer(backend, o.task, config);
  }

  get parameterCount() {
    return this.backend.model.parameterCount;
  }

  lrAt(step: number) {
    const c = this.config;
    return learningRate(step, { kind: c.schedule, lr: c.lr, warmupSteps: c.warmupSteps, totalSteps: c.steps, minRatio: c.minLrRatio });
  }

  /** Take one optimizer step on the next training batch. */
  async step(): Promise<StepEvent> {
    const c = this.config;
    const s = this.stepIndex;
    const batch = this.task.batch(c.batch, c.seqLen, 'train', s);
    const lr = this.lrAt(s);
    const t0 = now();
    const r = await this.backend.step(batch, { lr, t: s + 1, beta1: c.beta1, beta2: c.beta2, eps: c.eps, weightDecay: c.weightDecay, clip: c.clip });
    const stepMs = now() - t0;
    if (!Number.isFinite(r.loss)) throw new TrainingDivergedError(s, 'the training loss', r.loss);
    if (!Number.isFinite(r.gradNorm)) throw new TrainingDivergedError(s, 'the gradient norm', r.gradNorm);
    this.stepIndex++;
    return {
      type: 'step',
      step: s,
      loss: r.loss,
      ...(this.task.hasAccuracy ? { accuracy: r.accuracy } : {}),
      gradNorm: r.gradNorm,
      lr,
      tokensPerSec: (c.batch * c.seqLen) / Math.max(stepMs / 1000, 1e-9),
      stepMs,
    };
  }

  /** Held-out loss (and accuracy) over `evalBatches` eval batches, weighted by labelled positions. */
  async evaluate(): Promise<EvalEvent> {
    const c = this.config;
    let loss = 0;
    let correct = 0;
    let count = 0;
    for (let i = 0; i < c.evalBatches; i++) {
      const r: BatchStats = await this.backend.evaluate(this.task.batch(c.batch, c.seqLen, 'eval', i));
      loss += r.loss * r.count;
      correct += r.accuracy * r.count;
      count += r.count;
    }
    const n = Math.max(count, 1);
    if (!Number.isFinite(loss)) throw new TrainingDivergedError(this.stepIndex, 'the eval loss', loss);
    return { type: 'eval', step: this.stepIndex, loss: loss / n, ...(this.task.hasAccuracy ? { accuracy: correct / n } : {}), count };
  }

  /** Run the remaining steps, yielding step events and eval events (every evalEvery steps and at the end). */
  async *run(): AsyncGenerator<TrainEvent> {
    const c = this.config;
    while (this.stepIndex < c.steps) {
      yield await this.step();
      if (c.evalEvery > 0 && this.stepIndex % c.evalEvery === 0 && this.stepIndex < c.steps) yield await this.evaluate();
    }
    yield await this.evaluate();
  }

  /** Callback form of `run()`: calls `onEvent` for every step and eval event; resolves when done. */
  async train(onEvent: (ev: TrainEvent) => void | Promise<void>): Promise<void> {
    for await (const ev of this.run()) await onEvent(ev);
  }

  destroy() {
    this.backend.destroy();
  }
}
