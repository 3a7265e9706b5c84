/**
 * The worker's engine bridge with the real engine: the worker loop trains a tiny DeltaNet on MQAR
 * on the float64 reference backend (loss falls), a checkpoint round-trips through safetensors and
 * resumes bit-identically, and the memory trace reports state norms and gates per layer/head.
 * WebGPU (Dawn/SwiftShader): the same loop agrees with the reference on the first steps' losses.
 */
import { describe, expect, it } from 'vitest';
import { MIRAS_PRESETS } from '@/engine/presets/miras';
import { createTask } from '@/engine/tasks';
import { createTrainer, MEMORY_TRACE_MAX_LEN } from '@/engine/worker/engine-trainer';
import { complete, runLoop } from '@/engine/worker/loop';
import { TrainConfigSchema, type WorkerToMain } from '@/engine/worker/protocol';
import { decodeCheckpoint } from '@/engine/train/checkpoint';
import { testGpu } from '../helpers/gpu';

const task = createTask('mqar', { vocabSize: 16, kvPairs: 2 }, 0);
const spec = MIRAS_PRESETS.find((p) => p.name === 'deltanet')!.build({ vocabSize: task.vocabSize, dModel: 16, nLayers: 1 });
const config = TrainConfigSchema.parse({
  task: 'mqar', taskSettings: { vocabSize: 16, kvPairs: 2 }, steps: 12, batch: 4, seqLen: 8, lr: 0.02, warmupSteps: 0,
  schedule: 'constant', weightDecay: 0, evalEvery: 6, checkpointEvery: 6, backend: 'reference',
});

async function train(cfg: typeof config, startStep = 0, resume?: ArrayBuffer, device?: GPUDevice) {
  const trainer = await createTrainer({ spec, task, config: cfg, device });
  if (resume) expect(await trainer.importCheckpoint(resume)).toEqual({ step: startStep, notices: [] });
  const events: WorkerToMain[] = [];
  await runLoop({ trainer, task, config: cfg, hooks: { emit: (m) => events.push(m), gate: async () => 'go', now: () => performance.now() } });
  trainer.dispose();
  const losses = events.flatMap((e) => (e.type === 'metric' ? [e.point.loss] : []));
  const ckpts = events.filter((e): e is Extract<WorkerToMain, { type: 'checkpoint' }> => e.type === 'checkpoint');
  return { events, losses, ckpts };
}

describe('engine bridge (reference backend)', () => {
  it('trains: loss falls, checkpoints hold params and AdamW moments, resume is exact', async () => {
    const full = await train(config);
    expect(full.losses.length).toBe(12);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(full.losses.slice(-3))).toBeLessThan(mean(full.losses.slice(0, 3)));
    const ck = decodeCheckpoint(full.ckpts[0].bytes);
    expect(ck.step).toBe(6);
    expect(ck.metadata.task).toBe('mqar');
    expect(Object.keys(ck.state.params)).toContain('embed');
    expect(Object.keys(ck.state.m).length).toBe(Object.keys(ck.state.params).length);
    const resumed = await train(config, 6, full.ckpts[0].bytes);
    expect(resumed.losses.length).toBe(6);
    resumed.losses.forEach((l, i) => expect(l).toBeCloseTo(full.losses[6 + i], 5));
  });

  it('memory trace: state norm and gates per layer and head over positions', async () => {
    const trainer = await createTrainer({ spec, task, config });
    const view = await trainer.memoryTrace(task.batch(1, 8, 'eval', 0).inputs);
    trainer.dispose();
    expect(view).not.toBeNull();
    expect(view!.seqLen).toBe(Math.min(8, MEMORY_TRACE_MAX_LEN));
    const quantities = new Set(view!.series.map((s) => s.quantity));
    expect(quantities.has('stateNorm')).toBe(true);
    expect(quantities.has('beta')).toBe(true);
    for (const s of view!.series) {
      expect(s.values.length).toBe(8);
      for (const v of s.values) expect(Number.isFinite(v)).toBe(true);
      if (s.quantity === 'beta') for (const v of s.values) expect(v >= 0 && v <= 2).toBe(true);
    }
    // The memory only grows from empty: ‖S_1‖ > 0 and it is not constant over positions.
    const norm = view!.series.find((s) => s.quantity === 'stateNorm')!.values;
    expect(norm[0]).toBeGreaterThan(0);
    expect(new Set(norm.map((v) => v.toFixed(6))).size).toBeGreaterThan(1);
  });
});

describe('engine bridge (WebGPU)', () => {
  it('agrees with the reference backend on the first losses', async () => {
    const { device } = await testGpu();
    const cfg = { ...config, steps: 4, backend: 'webgpu' as const };
    const gpu = await train(cfg, 0, undefined, device);
    const ref = await train({ ...config, steps: 4 });
    expect(gpu.losses.length).toBe(4);
    gpu.losses.forEach((l, i) => expect(Math.abs(l - ref.losses[i]) / ref.losses[i]).toBeLessThan(1e-3));
  });
});

describe('text samples', () => {
  it('greedy completion of a prompt in the text task vocabulary', async () => {
    const text = createTask('text', {}, 0);
    const tspec = MIRAS_PRESETS.find((p) => p.name === 'deltanet')!.build({ vocabSize: text.vocabSize, dModel: 16, nLayers: 1 });
    const cfg = TrainConfigSchema.parse({ task: 'text', steps: 2, batch: 2, seqLen: 16, lr: 0.01, evalEvery: 2, checkpointEvery: 2, backend: 'reference' });
    const trainer = await createTrainer({ spec: tspec, task: text, config: cfg });
    const events: WorkerToMain[] = [];
    await runLoop({ trainer, task: text, config: cfg, hooks: { emit: (m) => events.push(m), gate: async () => 'go', now: () => performance.now() } });
    const sample = events.find((e): e is Extract<WorkerToMain, { type: 'sample' }> => e.type === 'sample')!;
    expect(sample.step).toBe(2);
    expect(Array.from(sample.text).length).toBe(80);
    expect(text.encode!(sample.prompt + sample.text).length).toBe(Array.from(sample.prompt + sample.text).length);
    expect(await complete(trainer, text, 'Shall I', 5, 16)).toHaveLength(5);
    trainer.dispose();
  });
});
