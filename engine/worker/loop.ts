/**
 * The worker's training loop, independent of the message channel so it runs (and is tested)
 * in Node as well: step → metric event, eval every N steps, checkpoint every N steps,
 * pause/resume/stop between steps, NaN/Inf stops the run without checkpointing the bad state.
 */
import { createTask, type Task } from '../tasks';
import type { ModelSpec } from '../spec';
import type { MemoryView, TrainConfig, WorkerToMain } from './protocol';
import type { TrainerHandle } from './engine-adapter';
import { decodeSafetensors, encodeSafetensors } from './safetensors';

export interface LoopHooks {
  emit(m: WorkerToMain, transfer?: Transferable[]): void;
  /** Resolves when training may continue (pause blocks here). */
  gate(): Promise<'go' | 'stop'>;
  now(): number;
}

const SAMPLE_PROMPT_CHARS = 24;

export function isFiniteNumber(x: number) {
  return typeof x === 'number' && Number.isFinite(x);
}

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

export async function evaluate(trainer: TrainerHandle, task: Task, cfg: TrainConfig, step: number) {
  let loss = 0, correct = 0, count = 0;
  for (let i = 0; i < cfg.evalBatches; i++) {
    // Eval data is indexed by eval-batch number, so every evaluation sees the same held-out set.
    const { inputs, targets } = task.batch(cfg.batch, cfg.seqLen, 'eval', i);
    const r = await trainer.evaluate(inputs, targets);
    loss += r.loss * r.count;
    correct += r.correct;
    count += r.count;
  }
  return { step, loss: loss / Math.max(1, count), accuracy: task.hasAccuracy ? correct / Math.max(1, count) : undefined };
}

export async function runLoop(opts: {
  trainer: TrainerHandle;
  spec: ModelSpec;
  config: TrainConfig;
  startStep: number;
  hooks: LoopHooks;
}): Promise<{ step: number; reason: 'completed' | 'stopped' | 'failed' }> {
  const { trainer, config: cfg, hooks } = opts;
  const task = createTask(cfg.task, cfg.taskSettings, cfg.seed);
  let step = opts.startStep;
  const tokens = cfg.batch * cfg.seqLen;
  let emaRate = 0;

  const checkpoint = async () => {
    const bytes = encodeSafetensors(await trainer.saveState(), { format: 'miras-studio/checkpoint', step: String(step), task: cfg.task, seed: String(cfg.seed) });
    hooks.emit({ type: 'checkpoint', step, bytes }, [bytes]);
  };
  const evalAndViews = async () => {
    const e = await evaluate(trainer, task, cfg, step);
    if (!isFiniteNumber(e.loss)) return e;
    hooks.emit({ type: 'eval', point: { ...e, time: hooks.now() } });
    const probe = task.batch(1, cfg.seqLen, 'eval', 0).inputs;
    const memory: Omit<MemoryView, 'step'> | null = await trainer.memoryTrace(probe).catch(() => null);
    if (memory) hooks.emit({ type: 'memory', view: { ...memory, step } });
    if (cfg.task === 'text' && task.encode) {
      const promptIds = task.batch(1, Math.min(SAMPLE_PROMPT_CHARS, cfg.seqLen), 'eval', step).inputs;
      const prompt = task.decode(promptIds);
      const text = await complete(trainer, task, prompt, 80, cfg.seqLen);
      hooks.emit({ type: 'sample', step, prompt, text });
    }
    return e;
  };

  while (step < cfg.steps) {
    if ((await hooks.gate()) === 'stop') {
      await checkpoint();
      return { step, reason: 'stopped' };
    }
    const t0 = hooks.now();
    const { inputs, targets } = task.batch(cfg.batch, cfg.seqLen, 'train', step);
    const r = await trainer.step(inputs, targets, step);
    if (!isFiniteNumber(r.loss) || (r.gradNorm !== undefined && !isFiniteNumber(r.gradNorm))) {
      const what = !isFiniteNumber(r.loss) ? `the loss became ${r.loss}` : `the gradient norm became ${r.gradNorm}`;
      hooks.emit({
        type: 'error',
        kind: 'nan',
        step: step + 1,
        message: `Training stopped at step ${step + 1}: ${what}. Try a lower learning rate, a gradient clip, or warmup.`,
      });
      return { step, reason: 'failed' };
    }
    step++;
    const dt = Math.max(1e-3, (hooks.now() - t0) / 1000);
    const rate = tokens / dt;
    emaRate = emaRate === 0 ? rate : 0.8 * emaRate + 0.2 * rate;
    hooks.emit({
      type: 'metric',
      point: {
        step,
        loss: r.loss,
        accuracy: task.hasAccuracy ? r.correct / Math.max(1, r.count) : undefined,
        gradNorm: r.gradNorm,
        lr: r.lr,
        tokensPerSec: emaRate,
        time: hooks.now(),
      },
    });
    if (step % cfg.evalEvery === 0 || step === cfg.steps) await evalAndViews();
    if (step % cfg.checkpointEvery === 0 || step === cfg.steps) await checkpoint();
  }
  return { step, reason: 'completed' };
}

export function checkpointStep(bytes: ArrayBuffer): number {
  return Number(decodeSafetensors(bytes).metadata.step ?? 0);
}
