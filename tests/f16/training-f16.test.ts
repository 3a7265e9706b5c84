/**
 * Training with f16 chunk scans (TrainConfig.precision = 'f16') through the worker's trainer (engine-trainer.ts,
 * the same createTrainer + runLoop the browser worker runs) on a device with shader-f16 (Mesa lavapipe,
 * tests/helpers/f16-gpu.ts): a one-layer Gated DeltaNet at T = 256 (MIN_CHUNKED_T, so chooseScanForm picks the
 * chunk form) trains a few steps in f16 and in f32 on the same device.
 *
 * Checks: the caps the trainer compiles with carry scanPrecision 'f16'; the shaders the trainer actually creates
 * include the chunk kernels with `enable f16;` (and the f32 run creates none); the f16 losses are finite and
 * close to the f32 run's. Tolerance: step 0's loss is the forward only, where each scan output term carries ≤ 3
 * f16 roundings (chunk-f16.test.ts: ≤ 6u = 3e-3 of the scan output's size, measured ≤ 7e-4); the loss is a mean of
 * log-softmaxes of projections of it, so it moves by at most that relative amount: we allow 6u. Later steps
 * add AdamW updates computed from gradients with ≤ 10u relative error; with lr 1e-3 and 3 steps each parameter moves
 * ≤ 3e-3 in either run, so the runs' losses cannot differ by more than a few times that: we allow 1e-2 relative.
 * The SwiftShader side (no shader-f16: a clear error before training) is training-f16-swiftshader.test.ts, since
 * the Vulkan driver is chosen once per process. Measured on lavapipe (busy 2-core machine, ~6 min, pipeline
 * compiles dominate): 6 f16 chunk shaders, losses 3.8981/3.4280/2.2141 (f16) vs 3.8985/3.4283/2.2139 (f32),
 * relative differences ≤ 9.5e-5.
 */
import { describe, expect, it } from 'vitest';
import { getPreset } from '@/engine/presets';
import { createTask } from '@/engine/tasks';
import { createTrainer, trainerCaps } from '@/engine/worker/engine-trainer';
import { runLoop } from '@/engine/worker/loop';
import { TrainConfigSchema, type WorkerToMain } from '@/engine/worker/protocol';
import { MIN_CHUNKED_T } from '@/engine/miras/chunk/provider';
import { f16Gpu } from '../helpers/f16-gpu';

const U = 2 ** -11;
const T = 256;
const task = createTask('mqar', { vocabSize: 16, kvPairs: 2 }, 0);
const spec = getPreset('gated-deltanet').build({ vocabSize: task.vocabSize, dModel: 16, nLayers: 1 });
const base = TrainConfigSchema.parse({
  task: 'mqar', taskSettings: { vocabSize: 16, kvPairs: 2 }, steps: 3, batch: 1, seqLen: T, lr: 1e-3, warmupSteps: 0,
  schedule: 'constant', weightDecay: 0, evalEvery: 100, checkpointEvery: 100, backend: 'webgpu',
});

async function train(device: GPUDevice, precision: 'f32' | 'f16') {
  const shaders: string[] = [];
  const create = device.createShaderModule.bind(device);
  device.createShaderModule = (d: GPUShaderModuleDescriptor) => {
    shaders.push(d.code);
    return create(d);
  };
  try {
    const config = { ...base, precision };
    const trainer = await createTrainer({ spec, task, config, device });
    const events: WorkerToMain[] = [];
    await runLoop({ trainer, task, config, hooks: { emit: (m) => events.push(m), gate: async () => 'go', now: () => performance.now() } });
    trainer.dispose();
    const errors = events.filter((e) => e.type === 'error');
    if (errors.length) throw new Error(`training failed: ${JSON.stringify(errors)}`);
    return { losses: events.flatMap((e) => (e.type === 'metric' ? [e.point.loss] : [])), shaders };
  } finally {
    device.createShaderModule = create;
  }
}

describe("training with precision 'f16' on lavapipe (shader-f16)", () => {
  it('the chunk kernels run in f16 and the losses stay within f16 roundoff of the f32 run', async () => {
    expect(T).toBeGreaterThanOrEqual(MIN_CHUNKED_T);
    const { device } = await f16Gpu();
    expect(trainerCaps(device, 'f16')).toMatchObject({ shaderF16: true, scanPrecision: 'f16' });
    const f16 = await train(device, 'f16');
    const f32 = await train(device, 'f32');
    const chunk16 = f16.shaders.filter((w) => w.startsWith('enable f16;'));
    expect(chunk16.length).toBeGreaterThan(0);
    expect(f32.shaders.some((w) => /\bf16\b/.test(w))).toBe(false);
    expect(f16.losses.length).toBe(3);
    expect(f32.losses.length).toBe(3);
    const rel = f16.losses.map((l, i) => Math.abs(l - f32.losses[i]) / Math.abs(f32.losses[i]));
    console.log(`[training f16] ${chunk16.length} f16 shaders; losses f16 ${f16.losses.map((l) => l.toFixed(6))} f32 ${f32.losses.map((l) => l.toFixed(6))}; rel diff ${rel.map((r) => r.toExponential(1))}`);
    for (const l of f16.losses) expect(Number.isFinite(l)).toBe(true);
    expect(rel[0]).toBeLessThan(6 * U);
    for (const r of rel) expect(r).toBeLessThan(1e-2);
  }, 900_000);
});
