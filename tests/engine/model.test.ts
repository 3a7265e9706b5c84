/**
 * Whole models: the reference's gradients against finite differences, WebGPU against the
 * reference (logits and every gradient), both backends' losses over 10 training steps,
 * a 50-step WebGPU run whose loss falls, checkpoints, NaN stops, and plan memory reuse.
 */
import { describe, expect, it } from 'vitest';
import { buildModel } from '@/engine/model/build';
import { initParams } from '@/engine/model/init';
import { finiteDifferenceCheck } from '@/engine/reference/gradcheck';
import { relError } from '@/engine/reference/compare';
import { createBackend } from '@/engine/train/backend';
import { Trainer, TrainingDivergedError } from '@/engine/train/trainer';
import { exportCheckpoint, importCheckpoint } from '@/engine/train/checkpoint';
import { compilePlan } from '@/engine/runtime/plan';
import { capsFromDescription } from '@/engine/gpu/describe';
import { getPreset } from '@/engine/presets';
import { createTask } from '@/engine/tasks';
import type { ModelSpec } from '@/engine/spec';
import { DEFAULT_CAPS } from '@/engine/plan/kernel';
import { Rng } from '@/engine/tasks/rng';
import { testGpu } from '../helpers/gpu';

const tiny = (over: Partial<ModelSpec> = {}, window: number | null = null, mlp = true): ModelSpec => ({
  vocabSize: 7,
  dModel: 8,
  norm: 'rmsnorm',
  normEps: 1e-5,
  tieEmbeddings: false,
  layers: [{ mixer: { type: 'attention', heads: 2, headDim: 4, window }, mlp: mlp ? { type: 'swiglu', hidden: 12 } : null }],
  ...over,
});

function batchFor(V: number, B: number, T: number, seed = 3) {
  const r = new Rng(seed);
  return {
    inputs: Int32Array.from({ length: B * T }, () => r.int(0, V)),
    targets: Int32Array.from({ length: B * T }, (_, i) => (i % 4 === 2 ? -1 : r.int(0, V))),
  };
}

describe('whole-model reference gradients vs finite differences (float64)', () => {
  const variants: [string, ModelSpec][] = [
    ['rmsnorm transformer', tiny()],
    ['layernorm, tied embeddings, sliding window 2', tiny({ norm: 'layernorm', tieEmbeddings: true }, 2)],
    ['no MLP', tiny({}, null, false)],
  ];
  for (const [name, spec] of variants) {
    it(name, () => {
      const m = buildModel(spec, { batch: 2, seqLen: 5 });
      const feeds = initParams(m.graph, 1);
      const b = batchFor(spec.vocabSize, 2, 5);
      feeds.set(m.ids.id, Float64Array.from(b.inputs));
      feeds.set(m.targets.id, Float64Array.from(b.targets));
      for (const r of finiteDifferenceCheck(m.graph, m.loss, feeds, { maxCoords: 6 })) expect(r.relError, r.param).toBeLessThan(1e-5);
    });
  }
});

describe('WebGPU vs float64 reference on whole models', () => {
  // linear-attention goes through helper B's Miras block and the scan slot.
  for (const name of ['transformer', 'sliding-window-attention', 'linear-attention']) {
    it(`${name}: logits within 1e-4, every gradient within 1e-3`, async () => {
      const gpu = await testGpu();
      const spec = getPreset(name).build({ vocabSize: 37, dModel: 32, nLayers: 2 });
      if (name === 'sliding-window-attention') spec.layers.forEach((l) => l.mixer.type === 'attention' && (l.mixer.window = 4));
      const common = { spec, batch: 2, seqLen: 11, seed: 0 };
      const ref = await createBackend({ ...common, kind: 'reference' });
      const gb = await createBackend({ ...common, kind: 'webgpu', device: gpu.device, caps: capsFromDescription(gpu.description) });
      const b = batchFor(37, 2, 11);
      expect(relError((await gb.forward(b)).logits, (await ref.forward(b)).logits)).toBeLessThan(1e-4);
      const [rg, gg] = [await ref.gradients(b), await gb.gradients(b)];
      for (const k of Object.keys(rg.grads)) expect(relError(gg.grads[k], rg.grads[k]), k).toBeLessThan(1e-3);
      gb.destroy();
    });
  }
});

describe('training', () => {
  const spec = (V: number) => getPreset('transformer').build({ vocabSize: V, dModel: 16, nLayers: 1 });

  it('WebGPU and reference backends agree on the loss over the first 10 steps (1e-3 relative)', async () => {
    const gpu = await testGpu();
    const task = createTask('text', {}, 0);
    const config = { steps: 10, batch: 2, seqLen: 16, lr: 3e-3, warmupSteps: 2 };
    const a = await Trainer.create({ spec: spec(task.vocabSize), task, config, backend: 'reference' });
    const b = await Trainer.create({ spec: spec(task.vocabSize), task, config, backend: 'webgpu', device: gpu.device, caps: capsFromDescription(gpu.description) });
    const rel: number[] = [];
    for (let i = 0; i < 10; i++) {
      const [ra, rb] = [await a.step(), await b.step()];
      rel.push(Math.abs(ra.loss - rb.loss) / Math.abs(ra.loss));
      expect(Math.abs(ra.gradNorm - rb.gradNorm) / ra.gradNorm).toBeLessThan(1e-3);
    }
    console.log(`[engine] max relative loss difference over 10 steps: ${Math.max(...rel).toExponential(2)}`);
    expect(Math.max(...rel)).toBeLessThan(1e-3);
    b.destroy();
  });

  it('a 50-step WebGPU transformer run on text lowers the loss', async () => {
    const gpu = await testGpu();
    const task = createTask('text', {}, 0);
    const t = await Trainer.create({
      spec: spec(task.vocabSize),
      task,
      config: { steps: 50, batch: 4, seqLen: 24, lr: 1e-2, warmupSteps: 5 },
      backend: 'webgpu',
      device: gpu.device,
      caps: capsFromDescription(gpu.description),
    });
    const losses: number[] = [];
    let evalLoss = NaN;
    for await (const ev of t.run()) {
      if (ev.type === 'step') losses.push(ev.loss);
      else evalLoss = ev.loss;
    }
    const mean = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;
    const first = mean(losses.slice(0, 5));
    const last = mean(losses.slice(-5));
    console.log(`[engine] 50-step text run: loss ${first.toFixed(3)} (first 5) → ${last.toFixed(3)} (last 5), eval ${evalLoss.toFixed(3)}`);
    expect(losses).toHaveLength(50);
    expect(last).toBeLessThan(first - 0.5);
    expect(Number.isFinite(evalLoss)).toBe(true);
    t.destroy();
  });

  it('a checkpoint resumes training exactly, across backends', async () => {
    const task = createTask('mqar', {}, 1);
    const config = { steps: 6, batch: 2, seqLen: Math.max(task.minSeqLen, 16), lr: 3e-3 };
    const a = await Trainer.create({ spec: spec(task.vocabSize), task, config, backend: 'reference' });
    for (let i = 0; i < 3; i++) await a.step();
    const bytes = await exportCheckpoint(a);
    const b = await Trainer.create({ spec: spec(task.vocabSize), task, config: { ...config, seed: 99 }, backend: 'reference' });
    const ck = await importCheckpoint(b, bytes);
    expect(ck.step).toBe(3);
    expect(ck.spec?.dModel).toBe(16);
    const [ra, rb] = [await a.step(), await b.step()];
    expect(rb.step).toBe(3);
    expect(Math.abs(ra.loss - rb.loss)).toBeLessThan(1e-6); // f32 rounding of the saved state only
    const gpu = await testGpu();
    const c = await Trainer.create({ spec: spec(task.vocabSize), task, config, backend: 'webgpu', device: gpu.device, caps: capsFromDescription(gpu.description) });
    await importCheckpoint(c, bytes);
    const rc = await c.step();
    expect(Math.abs(rc.loss - rb.loss) / rb.loss).toBeLessThan(1e-4);
    c.destroy();
    await expect(importCheckpoint(await Trainer.create({ spec: getPreset('transformer').build({ vocabSize: task.vocabSize, dModel: 24, nLayers: 1 }), task, config, backend: 'reference' }), bytes)).rejects.toThrow(/has \d+ values, the model needs/);
  });

  it('stops with a clear message when the loss becomes NaN', async () => {
    const task = createTask('text', {}, 0);
    const t = await Trainer.create({ spec: spec(task.vocabSize), task, config: { steps: 5, batch: 1, seqLen: 8, lr: 1e-3 }, backend: 'reference' });
    const s = await t.backend.getState();
    s.params.embed.data.fill(NaN);
    await t.backend.setState(s);
    await expect(t.step()).rejects.toThrow(TrainingDivergedError);
    await expect(t.step()).rejects.toThrow(/step 0: the training loss is NaN/);
  });
});

describe('plan', () => {
  it('reuses pooled buffers by lifetime and reports peak bytes', () => {
    const m = buildModel(getPreset('transformer').build({ vocabSize: 50, dModel: 32, nLayers: 3 }), { batch: 2, seqLen: 16 });
    const plan = compilePlan(m.graph, { caps: DEFAULT_CAPS, loss: m.loss, keep: [m.metrics], optimizer: true });
    const pooledSlots = new Set([...plan.buffers.values()].filter((b) => b.role === 'pooled').map((b) => b.slot));
    const pooledBytes = [...pooledSlots].reduce((a, s) => a + plan.slots[s].bytes, 0);
    expect(pooledBytes).toBeLessThan(plan.unpooledBytes * 0.6);
    expect(plan.peakBytes).toBe(plan.slots.reduce((a, s) => a + s.bytes, 0));
    // No two buffers sharing a slot are alive in the same kernel.
    const order = [...plan.forward, ...plan.backward, ...plan.optimizer];
    const span = new Map<string, [number, number]>();
    order.forEach((k, i) => k.bindings.forEach((b) => span.set(b.buffer, [span.get(b.buffer)?.[0] ?? i, i])));
    const bySlot = new Map<number, [number, number][]>();
    for (const b of plan.buffers.values()) if (b.role === 'pooled') bySlot.set(b.slot, [...(bySlot.get(b.slot) ?? []), span.get(b.name)!]);
    for (const spans of bySlot.values()) {
      spans.sort((x, y) => x[0] - y[0]);
      for (let i = 1; i < spans.length; i++) expect(spans[i][0]).toBeGreaterThan(spans[i - 1][1]);
    }
    // Grids respect the per-dimension limit.
    for (const k of order) for (const w of k.workgroups) expect(w).toBeLessThanOrEqual(DEFAULT_CAPS.maxComputeWorkgroupsPerDimension);
  });

  it('runs a problem larger than one grid dimension on a 2-D grid', async () => {
    const gpu = await testGpu();
    const { Graph } = await import('@/engine/ir/graph');
    const { unary } = await import('@/engine/ops');
    const { GpuExecutor } = await import('@/engine/runtime/executor');
    const n = 65537 * 64 + 5; // 65 538 workgroups of 64 > 65 535
    const g = new Graph();
    const x = g.input('x', [n], 'f32');
    const y = unary('neg', x);
    const plan = compilePlan(g, { caps: capsFromDescription(gpu.description), keep: [y] });
    expect(plan.forward[0].workgroups[1]).toBe(2);
    const ex = await GpuExecutor.create(gpu.device, plan);
    const xs = Float32Array.from({ length: n }, (_, i) => (i % 1000) - 500);
    ex.write(x.id, xs);
    const out = (await ex.run(['forward'], [y.id]))[y.id];
    let bad = 0;
    for (let i = 0; i < n; i++) if (out[i] !== -xs[i]) bad++;
    expect(bad).toBe(0);
    ex.destroy();
  });

  it('names the kernel when WebGPU rejects it', async () => {
    const gpu = await testGpu();
    const { GpuExecutor } = await import('@/engine/runtime/executor');
    const bad = {
      forward: [{ name: 'broken_kernel[test]', wgsl: '@compute @workgroup_size(1) fn main() { let x: f32 = 1u; }', entryPoint: 'main', bindings: [], workgroups: [1, 1, 1] as [number, number, number] }],
      backward: [],
      optimizer: [],
      buffers: new Map(),
      slots: [],
      peakBytes: 0,
      unpooledBytes: 0,
      params: [],
    };
    await expect(GpuExecutor.create(gpu.device, bad)).rejects.toThrow(/kernel broken_kernel\[test\]: pipeline creation failed/);
  });

  it('refuses unknown mixers and bad specs with clear errors', () => {
    const bad = { ...tiny(), layers: [{ mixer: { type: 'conv', heads: 1 }, mlp: null }] } as unknown as ModelSpec;
    expect(() => buildModel(bad, { batch: 1, seqLen: 4 })).toThrow(/invalid model spec: layers\.0\.mixer/);
    expect(() => buildModel(tiny({}, 0 as unknown as null), { batch: 1, seqLen: 4 })).toThrow(/window/);
    expect(() => buildModel(tiny(), { batch: 0, seqLen: 4 })).toThrow(/batch must be a positive integer/);
  });
});
