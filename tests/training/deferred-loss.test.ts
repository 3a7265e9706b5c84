/**
 * The loss read one step late (Trainer.advance/flush on the WebGPU executor's submit): the same losses as stepping
 * one at a time, events in step order with none lost, and a NaN still stops training at the step that diverged,
 * with every earlier step's metric emitted. Plus the worker loop with a pipelined trainer: metrics before a pause
 * blocks, eval/checkpoint cadence, and NaN handling.
 */
import { describe, expect, it } from 'vitest';
import { Trainer, TrainingDivergedError, type StepEvent } from '@/engine/train/trainer';
import { createTask } from '@/engine/tasks';
import { getPreset } from '@/engine/presets';
import { runLoop, type LoopHooks } from '@/engine/worker/loop';
import type { StepResult, TrainerHandle } from '@/engine/worker/engine-adapter';
import { TrainConfigSchema, type WorkerToMain } from '@/engine/worker/protocol';
import { testGpu } from '../helpers/gpu';

const task = createTask('mqar', { vocabSize: 16, kvPairs: 2 }, 0);
const spec = getPreset('transformer').build({ vocabSize: 16, dModel: 16, nLayers: 1 });
const base = { batch: 2, seqLen: 8, clip: 0, weightDecay: 0, schedule: 'constant' as const };

async function trainer(config: { steps: number; lr: number; warmupSteps: number }) {
  const { device } = await testGpu();
  return Trainer.create({ spec, task, backend: 'webgpu', device, config: { ...base, ...config } });
}

describe('loss read one step late (WebGPU)', () => {
  it('gives the same losses as stepping one at a time, in step order, none lost', async () => {
    const cfg = { steps: 5, lr: 0.02, warmupSteps: 0 };
    const one = await trainer(cfg);
    const want: number[] = [];
    for (let i = 0; i < 5; i++) want.push((await one.step()).loss);
    one.destroy();
    const piped = await trainer(cfg);
    const got: StepEvent[] = [];
    expect(await piped.advance()).toBeNull();
    for (let i = 1; i < 5; i++) got.push((await piped.advance())!);
    expect(piped.stepIndex).toBe(5);
    await expect(piped.evaluate()).rejects.toThrow(/step 4 is in flight: call flush\(\) first/);
    got.push((await piped.flush())!);
    expect(await piped.flush()).toBeNull();
    expect(got.map((e) => e.step)).toEqual([0, 1, 2, 3, 4]);
    // same kernels on the same inputs in the same order: identical f32 losses
    expect(got.map((e) => e.loss)).toEqual(want);
    expect(Number.isFinite((await piped.evaluate()).loss)).toBe(true);
    piped.destroy();
  });

  it('a NaN stops training at the step that diverged, after every earlier step was reported', async () => {
    // lr ramping to 1e9 over 100 warmup steps: steps 0–2 are finite, step 3's gradient norm is NaN
    const cfg = { steps: 8, lr: 1e9, warmupSteps: 100 };
    const one = await trainer(cfg);
    const err1 = await (async () => {
      try {
        for (;;) await one.step();
      } catch (e) {
        return e as TrainingDivergedError;
      }
    })();
    expect(err1).toBeInstanceOf(TrainingDivergedError);
    const bad = err1.step;
    expect(bad).toBeGreaterThan(0);
    one.destroy();

    const piped = await trainer(cfg);
    const reported: number[] = [];
    let err: unknown = null;
    try {
      for (let i = 0; i < 8; i++) {
        const ev = await piped.advance();
        if (ev) reported.push(ev.step);
      }
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TrainingDivergedError);
    expect((err as TrainingDivergedError).step).toBe(bad);
    expect((err as Error).message).toMatch(new RegExp(`training stopped at step ${bad}: the (gradient norm|training loss) is NaN`));
    expect(reported).toEqual(Array.from({ length: bad }, (_, i) => i));
    // the step submitted after the bad one is dropped: the trainer is idle at the diverged step
    expect(piped.stepIndex).toBe(bad);
    expect(await piped.flush()).toBeNull();
    piped.destroy();
  });
});

/** A trainer handle that reads results one step late, as engine-trainer's does, over scripted losses. */
function pipelined(losses: number[]): TrainerHandle & { log: string[] } {
  let submitted = 0;
  let pending: number | null = null;
  const log: string[] = [];
  const result = (s: number): StepResult & { step: number } => {
    const loss = losses[s] ?? 1;
    if (!Number.isFinite(loss)) {
      pending = null;
      submitted = s;
      throw new TrainingDivergedError(s, 'the training loss', loss);
    }
    return { step: s, loss, accuracy: 0.5, gradNorm: 1, lr: 0.01 };
  };
  const idle = (what: string) => {
    if (pending !== null) throw new Error(`${what} with step ${pending} in flight`);
  };
  return {
    log,
    parameterCount: 2,
    get stepIndex() { return submitted; },
    async step() { throw new Error('the loop must use advance/flush'); },
    async advance() {
      log.push(`submit ${submitted}`);
      const prev = pending;
      pending = submitted++;
      return prev === null ? null : result(prev);
    },
    async flush() {
      const p = pending;
      pending = null;
      return p === null ? null : result(p);
    },
    async evaluate() { idle('evaluate'); log.push('eval'); return { loss: 0.5, accuracy: 0.75 }; },
    async lastLogits() { idle('lastLogits'); return new Float32Array([0, 1]); },
    async exportCheckpoint() { idle('checkpoint'); log.push(`checkpoint ${submitted}`); return new Uint32Array([submitted]).buffer; },
    async importCheckpoint() { return { step: submitted, notices: [] }; },
    async memoryTrace() { idle('memoryTrace'); return null; },
    dispose() {},
  };
}

const config = TrainConfigSchema.parse({ task: 'mqar', steps: 10, batch: 2, seqLen: 16, lr: 0.01, evalEvery: 4, checkpointEvery: 5 });
const loopTask = createTask('mqar');
const of = <T extends WorkerToMain['type']>(events: WorkerToMain[], type: T) => events.filter((e): e is Extract<WorkerToMain, { type: T }> => e.type === type);

describe('worker loop with a pipelined trainer', () => {
  function hooks(gate: LoopHooks['gate'] = async () => 'go') {
    const events: WorkerToMain[] = [];
    return { events, h: { emit: (m: WorkerToMain) => events.push(m), gate, now: () => 1000 + events.length } as LoopHooks };
  }

  it('emits every step in order, flushing before evals and checkpoints', async () => {
    const { events, h } = hooks();
    const t = pipelined([]);
    expect(await runLoop({ trainer: t, task: loopTask, config, hooks: h })).toEqual({ step: 10, reason: 'completed' });
    expect(of(events, 'metric').map((e) => e.point.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(of(events, 'eval').map((e) => e.point.step)).toEqual([4, 8, 10]);
    expect(of(events, 'checkpoint').map((c) => c.step)).toEqual([5, 10]);
    // the metric of step 4 comes before its eval, and the next submit after it
    const kinds = events.map((e) => (e.type === 'metric' ? `m${e.point.step}` : e.type));
    expect(kinds.slice(kinds.indexOf('m4'), kinds.indexOf('m4') + 2)).toEqual(['m4', 'eval']);
  });

  it('a NaN emits the earlier metrics, stops with a clear error and checkpoints no bad state', async () => {
    const { events, h } = hooks();
    const r = await runLoop({ trainer: pipelined([2, 1.5, 1.2, 1, 0.9, 0.8, NaN]), task: loopTask, config, hooks: h });
    expect(r).toEqual({ step: 6, reason: 'failed' });
    const [err] = of(events, 'error');
    expect(err.kind).toBe('nan');
    expect(err.message).toMatch(/step 7: the training loss became NaN/);
    expect(of(events, 'metric').map((e) => e.point.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(of(events, 'checkpoint').map((c) => c.step)).toEqual([5]);
  });

  it('reports the step in flight before a pause blocks, and checkpoints it on stop', async () => {
    let calls = 0;
    const seenAtPause: number[] = [];
    const { events, h } = hooks(async (beforeBlocking) => {
      if (++calls < 3) return 'go';
      // paused after two submits: the loop flushes, then the run sits paused until stopped
      await beforeBlocking?.();
      seenAtPause.push(...of(events, 'metric').map((e) => e.point.step));
      return 'stop';
    });
    const t = pipelined([]);
    expect(await runLoop({ trainer: t, task: loopTask, config, hooks: h })).toEqual({ step: 2, reason: 'stopped' });
    expect(seenAtPause).toEqual([1, 2]);
    expect(of(events, 'checkpoint').map((c) => c.step)).toEqual([2]);
  });
});
