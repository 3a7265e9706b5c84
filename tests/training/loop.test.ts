/**
 * The worker's loop against a scripted trainer: the cadence of metric, eval and checkpoint events,
 * pause/stop between steps, and NaN handling. (The real engine: engine-trainer.test.ts and tests/browser/train*.)
 */
import { describe, expect, it } from 'vitest';
import { runLoop, type LoopHooks } from '@/engine/worker/loop';
import type { TrainerHandle } from '@/engine/worker/engine-adapter';
import { TrainConfigSchema, type WorkerToMain } from '@/engine/worker/protocol';
import { createTask } from '@/engine/tasks';
import { TrainingDivergedError } from '@/engine/train/trainer';

function scripted(losses: number[], start = 0): TrainerHandle & { taken: number[] } {
  let stepIndex = start;
  const taken: number[] = [];
  return {
    taken,
    parameterCount: 2,
    get stepIndex() { return stepIndex; },
    async step() {
      const loss = losses[stepIndex] ?? 1;
      if (!Number.isFinite(loss)) throw new TrainingDivergedError(stepIndex, 'the training loss', loss);
      taken.push(stepIndex++);
      return { loss, accuracy: 0.5, gradNorm: 1, lr: 0.01 };
    },
    async evaluate() { return { loss: 0.5, accuracy: 0.75 }; },
    async lastLogits() { return new Float32Array([0, 1]); },
    async exportCheckpoint() { return new Uint32Array([stepIndex]).buffer; },
    async importCheckpoint() { return { step: stepIndex, notices: [] }; },
    async memoryTrace() { return null; },
    dispose() {},
  };
}

const config = TrainConfigSchema.parse({ task: 'mqar', steps: 10, batch: 2, seqLen: 16, lr: 0.01, evalEvery: 4, checkpointEvery: 5 });
const task = createTask('mqar');

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
const of = <T extends WorkerToMain['type']>(events: WorkerToMain[], type: T) => events.filter((e): e is Extract<WorkerToMain, { type: T }> => e.type === type);

describe('training loop', () => {
  it('emits a metric per step, evals and checkpoints on their cadence and at the end', async () => {
    const { events, h } = hooks();
    const r = await runLoop({ trainer: scripted([]), task, config, hooks: h });
    expect(r).toEqual({ step: 10, reason: 'completed' });
    expect(of(events, 'metric').map((e) => e.point.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(of(events, 'metric')[0].point.accuracy).toBe(0.5);
    expect(of(events, 'eval').map((e) => [e.point.step, e.point.accuracy])).toEqual([[4, 0.75], [8, 0.75], [10, 0.75]]);
    expect(of(events, 'checkpoint').map((c) => c.step)).toEqual([5, 10]);
  });

  it('continues from the step a checkpoint restored', async () => {
    const t = scripted([], 5);
    await runLoop({ trainer: t, task, config, hooks: hooks().h });
    expect(t.taken).toEqual([5, 6, 7, 8, 9]);
  });

  it('stops between steps with a final checkpoint', async () => {
    const { events, h } = hooks((step) => (step >= 3 ? 'stop' : 'go'));
    const r = await runLoop({ trainer: scripted([]), task, config, hooks: h });
    expect(r).toEqual({ step: 3, reason: 'stopped' });
    expect(of(events, 'checkpoint').map((c) => c.step)).toEqual([3]);
  });

  it('NaN stops the run with a clear message and no checkpoint of the bad state', async () => {
    const { events, h } = hooks();
    const r = await runLoop({ trainer: scripted([2, 1.5, 1.2, 1, 0.9, 0.8, NaN]), task, config, hooks: h });
    expect(r.reason).toBe('failed');
    const [err] = of(events, 'error');
    expect(err.kind).toBe('nan');
    expect(err.message).toMatch(/step 7: the training loss became NaN/);
    expect(of(events, 'checkpoint').map((c) => c.step)).toEqual([5]);
    expect(of(events, 'metric').length).toBe(6);
  });
});
