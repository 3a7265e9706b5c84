/**
 * The worker's loop against a scripted trainer: the cadence of metric, eval and checkpoint events,
 * pause/stop between steps, and NaN handling. (The real engine is exercised in tests/browser/train*.)
 */
import { describe, expect, it } from 'vitest';
import { runLoop, type LoopHooks } from '@/engine/worker/loop';
import type { TrainerHandle } from '@/engine/worker/engine-adapter';
import { TrainConfigSchema, type WorkerToMain } from '@/engine/worker/protocol';
import { decodeSafetensors } from '@/engine/worker/safetensors';
import type { ModelSpec } from '@/engine/spec';

function scripted(losses: number[]): TrainerHandle & { seen: number[] } {
  const w = { shape: [2], data: new Float32Array(2) };
  const seen: number[] = [];
  return {
    seen,
    parameterCount: 2,
    async step(inputs, targets, step) {
      seen.push(step);
      let count = 0;
      for (const t of targets) if (t >= 0) count++;
      w.data[0] = step + 1;
      return { loss: losses[step] ?? 1, correct: Math.floor(count / 2), count, gradNorm: 1, lr: 0.01 };
    },
    async evaluate() { return { loss: 0.5, correct: 3, count: 4 }; },
    async lastLogits() { return new Float32Array([0, 1]); },
    async saveState() { return { w: { shape: [2], data: w.data.slice() } }; },
    async loadState() {},
    async memoryTrace() { return null; },
    dispose() {},
  };
}

const spec = {} as ModelSpec;
const config = TrainConfigSchema.parse({ task: 'mqar', steps: 10, batch: 2, seqLen: 16, lr: 0.01, evalEvery: 4, checkpointEvery: 5 });

function hooks(gateAnswers: (step: number) => 'go' | 'stop' = () => 'go') {
  const events: WorkerToMain[] = [];
  let step = 0;
  const h: LoopHooks = {
    emit: (m) => { events.push(m); if (m.type === 'metric') step = m.point.step; },
    gate: async () => gateAnswers(step),
    now: () => 1000 + events.length,
  };
  return { events, h };
}

describe('training loop', () => {
  it('emits a metric per step, evals and checkpoints on their cadence and at the end', async () => {
    const { events, h } = hooks();
    const r = await runLoop({ trainer: scripted([]), spec, config, startStep: 0, hooks: h });
    expect(r).toEqual({ step: 10, reason: 'completed' });
    expect(events.filter((e) => e.type === 'metric').map((e) => (e as { point: { step: number } }).point.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(events.filter((e) => e.type === 'eval').map((e) => (e as { point: { step: number } }).point.step)).toEqual([4, 8, 10]);
    const ckpts = events.filter((e) => e.type === 'checkpoint') as Extract<WorkerToMain, { type: 'checkpoint' }>[];
    expect(ckpts.map((c) => c.step)).toEqual([5, 10]);
    expect(decodeSafetensors(ckpts[0].bytes).metadata.step).toBe('5');
    const m = events.find((e) => e.type === 'metric') as Extract<WorkerToMain, { type: 'metric' }>;
    expect(m.point.accuracy).toBeCloseTo(0.5, 1);
  });

  it('resumes at the checkpoint step and regenerates the same data order', async () => {
    const t = scripted([]);
    const { h } = hooks();
    await runLoop({ trainer: t, spec, config, startStep: 5, hooks: h });
    expect(t.seen).toEqual([5, 6, 7, 8, 9]);
  });

  it('stops between steps with a final checkpoint', async () => {
    const { events, h } = hooks((step) => (step >= 3 ? 'stop' : 'go'));
    const r = await runLoop({ trainer: scripted([]), spec, config, startStep: 0, hooks: h });
    expect(r).toEqual({ step: 3, reason: 'stopped' });
    expect(events.filter((e) => e.type === 'checkpoint').map((e) => (e as { step: number }).step)).toEqual([3]);
  });

  it('NaN stops the run with a clear message and no checkpoint of the bad state', async () => {
    const { events, h } = hooks();
    const r = await runLoop({ trainer: scripted([2, 1.5, 1.2, 1, 0.9, 0.8, NaN]), spec, config, startStep: 0, hooks: h });
    expect(r.reason).toBe('failed');
    const err = events.find((e) => e.type === 'error') as Extract<WorkerToMain, { type: 'error' }>;
    expect(err.kind).toBe('nan');
    expect(err.message).toMatch(/step 7: the loss became NaN/);
    expect(events.filter((e) => e.type === 'checkpoint').map((e) => (e as { step: number }).step)).toEqual([5]);
    expect(events.filter((e) => e.type === 'metric').length).toBe(6);
  });
});
