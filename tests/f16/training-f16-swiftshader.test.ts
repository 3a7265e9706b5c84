/**
 * Asking for f16 scans where the adapter has no shader-f16 (SwiftShader, the default test adapter) is a clear
 * error before any training starts: the worker's trainer caps refuse it naming the feature and pointing to fp32,
 * and so does the registered chunk provider when caps ask for 'f16' without shaderF16. A caps 'f16' is a
 * preference for the chunk kernels: a short sequence (fused recurrent kernel) runs f32 on a device that has it.
 * The CLI's `train --precision f16` refuses the same way. The lavapipe side (f16 training that works) is training-f16.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { getPreset } from '@/engine/presets';
import { createTask } from '@/engine/tasks';
import { createTrainer, trainerCaps } from '@/engine/worker/engine-trainer';
import { TrainConfigSchema } from '@/engine/worker/protocol';
import { DEFAULT_CAPS } from '@/engine/plan/kernel';
import { findScanProvider } from '@/engine/ir/scan';
import type { MirasMixer } from '@/engine/spec';
import { trainCommand } from '@/scripts/cli/train';
import { CliError } from '@/scripts/cli/args';
import { testGpu } from '../helpers/gpu';

const task = createTask('mqar', { vocabSize: 16, kvPairs: 2 }, 0);
const spec = getPreset('gated-deltanet').build({ vocabSize: task.vocabSize, dModel: 16, nLayers: 1 });
const config = TrainConfigSchema.parse({
  task: 'mqar', taskSettings: { vocabSize: 16, kvPairs: 2 }, steps: 2, batch: 1, seqLen: 256, lr: 1e-3, backend: 'webgpu', precision: 'f16',
});

describe("precision 'f16' without shader-f16", () => {
  it('the config defaults to f32 and accepts only f32 | f16', () => {
    const rest: Partial<typeof config> = { ...config };
    delete rest.precision;
    expect(TrainConfigSchema.parse(rest).precision).toBe('f32');
    expect(TrainConfigSchema.safeParse({ ...config, precision: 'bf16' }).success).toBe(false);
  });

  it('SwiftShader: the trainer refuses before building anything, naming shader-f16 and fp32', async () => {
    const { device } = await testGpu();
    expect(device.features.has('shader-f16')).toBe(false);
    expect(() => trainerCaps(device, 'f16')).toThrow(/'shader-f16'.*does not offer; choose fp32/);
    await expect(createTrainer({ spec, task, config, device })).rejects.toThrow(/shader-f16/);
    expect(trainerCaps(device, 'f32')).toMatchObject({ shaderF16: false, scanPrecision: 'f32' });
  });

  it('CLI: train --precision f16 on SwiftShader is a CliError naming shader-f16; a bad value is named too', async () => {
    const args = ['--preset', 'gated-deltanet', '--d-model', '16', '--layers', '1', '--task', 'mqar', '--seq', '256', '--batch', '1', '--steps', '1'];
    await expect(trainCommand.run([...args, '--precision', 'f16'])).rejects.toThrow(CliError);
    await expect(trainCommand.run([...args, '--precision', 'f16'])).rejects.toThrow(/--precision f16 needs the WebGPU feature 'shader-f16'.*--precision f32/);
    await expect(trainCommand.run([...args, '--precision', 'bf16'])).rejects.toThrow(/--precision must be f32 or f16, got "bf16"/);
  });

  it('the registered chunk provider: caps f16 without shaderF16 throw; f16 caps on a recurrent-form scan run f32', () => {
    const m = spec.layers[0].mixer as MirasMixer;
    const p = findScanProvider(m)!;
    const s = (time: number) => ({ batch: 1, time, heads: m.heads, dk: m.headDimK, dv: m.headDimV });
    expect(() => p.kernels({ ...DEFAULT_CAPS, scanPrecision: 'f16' }, s(256))).toThrow(/needs the WebGPU feature 'shader-f16'.*'f32'/);
    const caps16 = { ...DEFAULT_CAPS, shaderF16: true, scanPrecision: 'f16' as const };
    const all = (k: { forward: { wgsl: string }[]; backward: { wgsl: string }[] }) => [...k.forward, ...k.backward].map((x) => x.wgsl);
    // T = 256: chunk form, f16 tiles
    expect(all(p.kernels(caps16, s(256))).some((w) => w.startsWith('enable f16;'))).toBe(true);
    // T = 64: fused recurrent kernel, the same WGSL as with f32 caps
    expect(all(p.kernels(caps16, s(64)))).toEqual(all(p.kernels({ ...DEFAULT_CAPS, shaderF16: true }, s(64))));
    // f32 caps (or none): byte-identical to before
    expect(all(p.kernels({ ...DEFAULT_CAPS, scanPrecision: 'f32' }, s(256)))).toEqual(all(p.kernels(DEFAULT_CAPS, s(256))));
  });
});
