/**
 * The worker's training loop, independent of the message channel so it runs (and is tested)
 * in Node as well: step → metric event, eval every N steps, checkpoint every N steps,
 * pause/resume/stop between steps, NaN/Inf stops the run without checkpointing the bad state.
 * A step's loss is read while the next step runs (the trainer's advance/flush); metrics still come
 * in step order, and the step in flight is flushed before evals, checkpoints, pauses and stops.
 */
import { TrainingDivergedError } from '../train/trainer';
import type { Task } from '../tasks/types';
import type { MemoryView, TrainConfig, WorkerToMain } from './protocol';
import type { StepResult, TrainerHandle } from './engine-adapter';

export interface LoopHooks {
  emit(m: WorkerToMain, transfer?: Transferable[]): void;
  /**
   * Resolves when training may continue (pause blocks here). Before blocking it calls `beforeBlocking`, which
   * emits the metric of the step still in flight, so a paused run shows every step it took.
   */
  gate(beforeBlocking?: () => Promise<void>): Promise<'go' | 'stop'>;
  now(): number;
}

const SAMPLE_PROMPT_CHARS = 24;

/** Greedy completion of `prompt` with a text task's vocabulary. */
export async function complete(trainer: TrainerHandle, task: Task, prompt: string, maxNew: number, seqLen: number): Promise<string> {
  if (!task.encode) throw new Error(`task ${task.name} has no text input`);
  const ids = task.encode(prompt);
  if (!ids.length) throw new Error('the prompt is empty');
  const out: number[] = [];
  for (let i = 0; i < maxNew; i++) {
    const ctx = [...ids, ...out].slice(-seqLen);
    const logits = await trainer.lastLogits(Int32Array.from(ctx));
    let best = 0;
    for (let v = 1; v < logits.length; v++) if (logits[v] > logits[best]) best = v;
    out.push(best);
  }
  return task.decode(out);
}

export async function runLoop(opts: {
  trainer: TrainerHandle;
  task: Task;
  config: TrainConfig;
  hooks: LoopHooks;
}): Promise<{ step: number; reason: 'completed' | 'stopped' | 'failed' }> {
  const { trainer, task, config: cfg, hooks } = opts;
  const tokens = cfg.batch * cfg.seqLen;
  let emaRate = 0;

  const checkpoint = async () => {
    const bytes = await trainer.exportCheckpoint();
    hooks.emit({ type: 'checkpoint', step: trainer.stepIndex, bytes }, [bytes]);
  };
  const evalAndViews = async () => {
    const step = trainer.stepIndex;
    const e = await trainer.evaluate();
    hooks.emit({ type: 'eval', point: { step, loss: e.loss, accuracy: e.accuracy, time: hooks.now() } });
    const probe = task.batch(1, cfg.seqLen, 'eval', 0).inputs;
    const memory: Omit<MemoryView, 'step'> | null = await trainer.memoryTrace(probe).catch(() => null);
    if (memory) hooks.emit({ type: 'memory', view: { ...memory, step } });
    if (cfg.task === 'text' && task.encode) {
      const prompt = task.decode(task.batch(1, Math.min(SAMPLE_PROMPT_CHARS, cfg.seqLen), 'eval', step).inputs);
      hooks.emit({ type: 'sample', step, prompt, text: await complete(trainer, task, prompt, 80, cfg.seqLen) });
    }
  };

  // Pipelined trainers read each step's loss while the next step runs; others step one at a time.
  const advance = trainer.advance
    ? () => trainer.advance!()
    : async () => {
        const step = trainer.stepIndex;
        return { step, ...(await trainer.step()) };
      };
  let lastAt = hooks.now();
  const report = (r: (StepResult & { step: number }) | null) => {
    if (!r) return;
    const step = r.step + 1;
    const t = hooks.now();
    const rate = tokens / Math.max(1e-3, (t - lastAt) / 1000);
    lastAt = t;
    emaRate = emaRate === 0 ? rate : 0.8 * emaRate + 0.2 * rate;
    hooks.emit({
      type: 'metric',
      point: { step, loss: r.loss, accuracy: task.hasAccuracy ? r.accuracy : undefined, gradNorm: r.gradNorm, lr: r.lr, tokensPerSec: emaRate, time: t },
    });
  };
  let inFlight = false;
  /** Emit the step in flight, if any: before anything else uses the trainer, and before a pause blocks. */
  const settle = async () => {
    if (inFlight && trainer.flush) report(await trainer.flush());
    inFlight = false;
  };

  try {
    while (trainer.stepIndex < cfg.steps) {
      if ((await hooks.gate(settle)) === 'stop') {
        await settle();
        await checkpoint();
        return { step: trainer.stepIndex, reason: 'stopped' };
      }
      // A step's time runs from the previous metric while steps overlap, else from its start.
      if (!inFlight) lastAt = hooks.now();
      report(await advance());
      inFlight = !!trainer.advance;
      const step = trainer.stepIndex;
      const evalNow = step % cfg.evalEvery === 0 || step === cfg.steps;
      const checkpointNow = step % cfg.checkpointEvery === 0 || step === cfg.steps;
      if (evalNow || checkpointNow) await settle();
      if (evalNow) await evalAndViews();
      if (checkpointNow) await checkpoint();
    }
  } catch (e) {
    // The bad state is never checkpointed: the newest checkpoint stays the last good one. Every step before the
    // diverged one has had its metric emitted (events come in step order).
    if (e instanceof TrainingDivergedError) {
      hooks.emit({ type: 'error', kind: 'nan', step: e.step + 1, message: `Training stopped at step ${e.step + 1}: ${e.quantity} became ${e.value}. Try a lower learning rate, a gradient clip, or warmup.` });
      return { step: trainer.stepIndex, reason: 'failed' };
    }
    throw e;
  }
  return { step: trainer.stepIndex, reason: 'completed' };
}
