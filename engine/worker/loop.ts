/**
 * The worker's training loop, independent of the message channel so it runs (and is tested)
 * in Node as well: step → metric event, eval every N steps, checkpoint every N steps,
 * pause/resume/stop between steps, NaN/Inf stops the run without checkpointing the bad state.
 */
import { TrainingDivergedError } from '../train/trainer';
import type { Task } from '../tasks/types';
import type { MemoryView, TrainConfig, WorkerToMain } from './protocol';
import type { TrainerHandle } from './engine-adapter';

export interface LoopHooks {
  emit(m: WorkerToMain, transfer?: Transferable[]): void;
  /** Resolves when training may continue (pause blocks here). */
  gate(): Promise<'go' | 'stop'>;
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

  while (trainer.stepIndex < cfg.steps) {
    if ((await hooks.gate()) === 'stop') {
      await checkpoint();
      return { step: trainer.stepIndex, reason: 'stopped' };
    }
    const t0 = hooks.now();
    let r;
    try {
      r = await trainer.step();
    } catch (e) {
      // The bad state is never checkpointed: the newest checkpoint stays the last good one.
      if (e instanceof TrainingDivergedError) {
        hooks.emit({ type: 'error', kind: 'nan', step: e.step + 1, message: `Training stopped at step ${e.step + 1}: ${e.quantity} became ${e.value}. Try a lower learning rate, a gradient clip, or warmup.` });
        return { step: trainer.stepIndex, reason: 'failed' };
      }
      throw e;
    }
    const step = trainer.stepIndex;
    const rate = tokens / Math.max(1e-3, (hooks.now() - t0) / 1000);
    emaRate = emaRate === 0 ? rate : 0.8 * emaRate + 0.2 * rate;
    hooks.emit({
      type: 'metric',
      point: { step, loss: r.loss, accuracy: task.hasAccuracy ? r.accuracy : undefined, gradNorm: r.gradNorm, lr: r.lr, tokensPerSec: emaRate, time: hooks.now() },
    });
    if (step % cfg.evalEvery === 0 || step === cfg.steps) await evalAndViews();
    if (step % cfg.checkpointEvery === 0 || step === cfg.steps) await checkpoint();
  }
  return { step: trainer.stepIndex, reason: 'completed' };
}
