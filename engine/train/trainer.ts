/**
 * The training loop: task batches → backend steps → metric events. No Node APIs: it runs the
 * same in Node (CLI, tests) and in a Web Worker. Deterministic in (seed): parameter init is
 * keyed by (seed, name) and batches by (task seed, split, step). A non-finite loss or gradient
 * norm stops training with an error naming the step and the quantity. `run()` and the worker read
 * each step's loss one step late (`advance`/`flush`), so the read-back overlaps the next step.
 */
import type { Task } from '../tasks/types';
import type { ModelSpec } from '../spec';
import type { DeviceCaps } from '../plan/kernel';
import { createBackend, type AdamWConfig, type BackendKind, type BatchStats, type StepStats, type TrainingBackend } from './backend';
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

interface PendingStep {
  step: number;
  lr: number;
  t0: number;
  stats: Promise<StepStats>;
}

export class Trainer {
  /** Steps taken (or submitted) so far: the next step's 0-based index. */
  stepIndex = 0;
  /** The submitted step whose loss has not been read yet. */
  private pending: PendingStep | null = null;
  /** When the last step event was produced (null after a flush: the next step's time starts at its submit). */
  private lastEventAt: number | null = null;

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

  /** Take one optimizer step on the next training batch (and wait for its loss). */
  async step(): Promise<StepEvent> {
    this.assertIdle('step()');
    await this.advance();
    return (await this.flush())!;
  }

  /**
   * Submit the next step and return the previous step's event: the loss is read one step late, so its read-back
   * overlaps this step's encoding and GPU work. Returns null when no step was in flight. A non-finite loss or
   * gradient norm throws TrainingDivergedError naming that step; the step submitted after it is dropped and
   * `stepIndex` goes back to the diverged step. Call `flush()` for the last step's event.
   */
  async advance(): Promise<StepEvent | null> {
    const c = this.config;
    const s = this.stepIndex;
    const batch = this.task.batch(c.batch, c.seqLen, 'train', s);
    const lr = this.lrAt(s);
    const t0 = now();
    const { stats } = await this.backend.submitStep(batch, { lr, t: s + 1, beta1: c.beta1, beta2: c.beta2, eps: c.eps, weightDecay: c.weightDecay, clip: c.clip });
    this.stepIndex++;
    const prev = this.pending;
    this.pending = { step: s, lr, t0, stats };
    return prev ? this.settle(prev) : null;
  }

  /** The event of the step still in flight, once its loss is read (null when none is). */
  async flush(): Promise<StepEvent | null> {
    const p = this.pending;
    this.pending = null;
    if (!p) return null;
    const ev = await this.settle(p);
    this.lastEventAt = null;
    return ev;
  }

  private async settle(p: PendingStep): Promise<StepEvent> {
    const c = this.config;
    const fail = (e: Error) => {
      // The step submitted after the bad one is dropped; training resumes (if ever) from the bad step.
      this.pending?.stats.catch(() => {});
      this.pending = null;
      this.lastEventAt = null;
      this.stepIndex = p.step;
      return e;
    };
    let r: StepStats;
    try {
      r = await p.stats;
    } catch (e) {
      throw fail(e as Error);
    }
    if (!Number.isFinite(r.loss)) throw fail(new TrainingDivergedError(p.step, 'the training loss', r.loss));
    if (!Number.isFinite(r.gradNorm)) throw fail(new TrainingDivergedError(p.step, 'the gradient norm', r.gradNorm));
    // With steps in flight back to back, a step's wall time is the time between consecutive events.
    const t = now();
    const stepMs = t - Math.max(p.t0, this.lastEventAt ?? p.t0);
    this.lastEventAt = t;
    return {
      type: 'step',
      step: p.step,
      loss: r.loss,
      ...(this.task.hasAccuracy ? { accuracy: r.accuracy } : {}),
      gradNorm: r.gradNorm,
      lr: p.lr,
      tokensPerSec: (c.batch * c.seqLen) / Math.max(stepMs / 1000, 1e-9),
      stepMs,
    };
  }

  private assertIdle(what: string) {
    if (this.pending) throw new Error(`${what} while step ${this.pending.step} is in flight: call flush() first`);
  }

  /** Held-out loss (and accuracy) over `evalBatches` eval batches, weighted by labelled positions. */
  async evaluate(): Promise<EvalEvent> {
    this.assertIdle('evaluate()');
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

  /**
   * Run the remaining steps, yielding step events and eval events (every evalEvery steps and at the end). Each
   * step's loss is read while the next step runs; events still come in step order and none is lost.
   */
  async *run(): AsyncGenerator<TrainEvent> {
    const c = this.config;
    while (this.stepIndex < c.steps) {
      const ev = await this.advance();
      if (ev) yield ev;
      if (c.evalEvery > 0 && this.stepIndex % c.evalEvery === 0 && this.stepIndex < c.steps) {
        const last = await this.flush();
        if (last) yield last;
        yield await this.evaluate();
      }
    }
    const last = await this.flush();
    if (last) yield last;
    yield await this.evaluate();
  }

  /** Callback form of `run()`: calls `onEvent` for every step and eval event; resolves when done. */
  async train(onEvent: (ev: TrainEvent) => void | Promise<void>): Promise<void> {
    for await (const ev of this.run()) await onEvent(ev);
  }

  destroy() {
    this.pending?.stats.catch(() => {});
    this.pending = null;
    this.backend.destroy();
  }
}
