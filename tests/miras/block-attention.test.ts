/**
 * A Miras mixer with the non-parametric (softmax attention) memory runs on the engine's fused causal
 * attention op (engine/ops/attention.ts) with the block's projections, short conv, feature map, q/k norm and
 * output norm and gate around it:
 *   - the op's float64 forward and backward equal the Miras float64 reference scan (reference/scan.ts), full and windowed, d_k ≠ d_v;
 *   - the block's gradients match finite differences;
 *   - a whole model with such a layer gives the same logits and parameter gradients on WebGPU as on the float64
 *     backend, and trains there (the loss falls).
 */
import { describe, expect, it } from 'vitest';
import { Graph } from '@/engine/ir/graph';
import { attentionOp, mul, sum } from '@/engine/ops';
import { initParams } from '@/engine/model/init';
import { referenceForward } from '@/engine/reference/interpreter';
import { finiteDifferenceCheck } from '@/engine/reference/gradcheck';
import { relError } from '@/engine/reference/compare';
import { buildMirasMixer } from '@/engine/miras/block';
import { mixerCost } from '@/engine/miras/cost';
import { checkedCombo } from '@/engine/miras/validate';
import { referenceScanGrad } from '@/engine/miras/reference';
import { Rng, normal, randomScanInputs } from '@/engine/miras/reference/random';
import { createBackend } from '@/engine/train/backend';
import { capsFromDescription } from '@/engine/gpu/describe';
import type { MirasMixer, ModelSpec } from '@/engine/spec';
import { testGpu } from '../helpers/gpu';

function attentionMixer(window: number, dk: number, dv: number, block: Record<string, unknown> = {}): MirasMixer {
  return {
    type: 'miras',
    heads: 2,
    headDimK: dk,
    headDimV: dv,
    memory: { kind: 'attention', params: { window } },
    bias: { kind: 'l2', params: {} },
    retention: { kind: 'none', params: {} },
    learner: { kind: 'closed-form', params: {} },
    block: { convSize: 3, featureMap: 'silu', qkNorm: 'l2', outputNorm: 'rmsnorm', outputGate: 'silu', ...block },
  };
}

describe('softmax-attention memory in a Miras mixer', () => {
  it.each([0, 3])('the attention op equals the Miras float64 reference scan (window %i, d_k 6, d_v 4)', (window) => {
    const m = attentionMixer(window, 6, 4);
    const c = checkedCombo(m, { headDimK: 6, headDimV: 4 });
    const s = { batch: 2, time: 7, heads: 2, dk: 6, dv: 4 };
    const rng = new Rng(5 + window);
    const x = randomScanInputs(c, s, rng);
    expect(Object.keys(x).sort()).toEqual(['k', 'q', 'v']);
    const dO = Float64Array.from({ length: s.batch * s.time * s.heads * s.dv }, () => normal(rng));
    const ref = referenceScanGrad(c, s, x, { o: dO });
    const ctx = {
      attrs: { heads: s.heads, window: window > 0 ? window : null },
      ins: [x.q, x.k, x.v].map((_, i) => ({ shape: [s.batch, s.time, s.heads * (i < 2 ? s.dk : s.dv)], dtype: 'f32' as const })),
      outs: [],
    };
    const [o, lse] = attentionOp.forward([x.q, x.k, x.v], ctx);
    const [gq, gk, gv] = attentionOp.backward([x.q, x.k, x.v], [o, lse], [dO, null], ctx);
    expect(relError(o, ref.o)).toBeLessThan(1e-12);
    expect(relError(gq!, ref.grads.q)).toBeLessThan(1e-12);
    expect(relError(gk!, ref.grads.k)).toBeLessThan(1e-12);
    expect(relError(gv!, ref.grads.v)).toBeLessThan(1e-12);
    expect(ref.finalState.length).toBe(0);
  });

  it('the block builds one attention node (no gates, no state) and its gradients match finite differences', () => {
    const mixer = attentionMixer(3, 8, 4, { outputNorm: 'groupnorm', featureMap: 'elu+1', projectionBias: true });
    const g = new Graph();
    const [B, T, d] = [1, 6, 16];
    const x = g.input('x', [B, T, d], 'f32');
    const r = g.input('r', [B, T, d], 'f32');
    const y = g.scoped('mixer', () => buildMirasMixer(x, mixer, { layer: 0, nLayers: 1, normEps: 1e-5 }));
    expect(y.shape).toEqual([B, T, d]);
    expect(g.nodes.filter((n) => n.op.name === 'attention')).toHaveLength(1);
    expect(g.nodes.filter((n) => n.op.name === 'scan')).toHaveLength(0);
    const names = g.params.map((p) => p.tensor.id.replace(/^mixer\./, '')).sort();
    expect(names).toEqual(['conv_k', 'conv_q', 'conv_v', 'gate', 'k', 'k_b', 'norm', 'norm_b', 'o', 'q', 'q_b', 'v', 'v_b']);
    // the cost model counts exactly these parameters
    expect(mixerCost(mixer, d).params.total).toBe(g.params.reduce((a, p) => a + p.tensor.size, 0));
    const loss = sum(sum(sum(mul(y, r), 2), 1), 0);
    const rng = new Rng(2);
    const feeds = initParams(g, 4);
    feeds.set(x.id, Float64Array.from({ length: B * T * d }, () => normal(rng)));
    feeds.set(r.id, Float64Array.from({ length: B * T * d }, () => normal(rng)));
    expect(referenceForward(g, feeds).get(y.id)!.every(Number.isFinite)).toBe(true);
    for (const res of finiteDifferenceCheck(g, loss, feeds, { maxCoords: 3 })) expect(res.relError, res.param).toBeLessThan(1e-4);
  });

  it('a model with such a layer: WebGPU logits and every gradient match float64, and it trains on WebGPU', async () => {
    const gpu = await testGpu();
    const V = 13;
    const spec: ModelSpec = {
      vocabSize: V,
      dModel: 16,
      norm: 'rmsnorm',
      normEps: 1e-5,
      tieEmbeddings: true,
      layers: [{ mixer: attentionMixer(4, 8, 4), mlp: { type: 'swiglu', hidden: 24 } }],
    } as ModelSpec;
    const rng = new Rng(9);
    const [Bt, T] = [2, 7];
    const batch = {
      inputs: Int32Array.from({ length: Bt * T }, () => rng.int(0, V)),
      targets: Int32Array.from({ length: Bt * T }, (_, i) => (i % 5 === 3 ? -1 : rng.int(0, V))),
    };
    const common = { spec, batch: Bt, seqLen: T, seed: 0 };
    const ref = await createBackend({ ...common, kind: 'reference' });
    const gb = await createBackend({ ...common, kind: 'webgpu', device: gpu.device, caps: capsFromDescription(gpu.description) });
    try {
      const eLogits = relError((await gb.forward(batch)).logits, (await ref.forward(batch)).logits);
      const [rg, gg] = [await ref.gradients(batch), await gb.gradients(batch)];
      const errs = Object.keys(rg.grads).map((k) => [k, relError(gg.grads[k], rg.grads[k])] as const);
      console.log(`[block-attention] logits ${eLogits.toExponential(2)}, max grad ${Math.max(...errs.map((e) => e[1])).toExponential(2)} over ${errs.length} parameters`);
      expect(eLogits).toBeLessThan(1e-4);
      expect(errs.length).toBeGreaterThan(10);
      for (const [k, e] of errs) expect(e, k).toBeLessThan(1e-3);
      const hp = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, clip: 1 };
      const first = (await gb.step(batch, { ...hp, t: 1 })).loss;
      let last = first;
      for (let t = 2; t <= 12; t++) last = (await gb.step(batch, { ...hp, t })).loss;
      console.log(`[block-attention] WebGPU training on one batch: loss ${first.toFixed(4)} → ${last.toFixed(4)} in 12 steps`);
      expect(last).toBeLessThan(first);
    } finally {
      gb.destroy();
    }
  });
});

describe('miras CLI on the softmax-attention memory', () => {
  it('scan --backend webgpu --grad equals the float64 reference (window 3, d_k 5, d_v 3)', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { scanCommand } = await import('@/engine/miras/cli/commands');
    const { readTensors, writeTensors } = await import('@/engine/miras/cli/files');
    const dir = mkdtempSync(join(tmpdir(), 'miras-attn-'));
    const m = attentionMixer(3, 5, 3);
    const c = checkedCombo(m, { headDimK: 5, headDimV: 3 });
    const s = { batch: 2, time: 6, heads: 2, dk: 5, dv: 3 };
    const rng = new Rng(3);
    const f32 = (a: Float64Array) => Float64Array.from(Float32Array.from(a));
    const x = Object.fromEntries(Object.entries(randomScanInputs(c, s, rng)).map(([n, a]) => [n, f32(a)]));
    const dO = f32(Float64Array.from({ length: 2 * 6 * 2 * 3 }, () => normal(rng)));
    const shape = (d: number) => [2, 6, 2, d];
    await writeTensors(join(dir, 'in.safetensors'), { q: { shape: shape(5), data: x.q }, k: { shape: shape(5), data: x.k }, v: { shape: shape(3), data: x.v }, do: { shape: shape(3), data: dO } });
    writeFileSync(join(dir, 'combo.json'), JSON.stringify(m));
    const lines: string[] = [];
    const errs: string[] = [];
    const code = await scanCommand.run(['--combo', join(dir, 'combo.json'), '--in', join(dir, 'in.safetensors'), '--out', join(dir, 'out.safetensors'), '--backend', 'webgpu', '--grad'], (l) => lines.push(l), (l) => errs.push(l));
    expect(errs).toEqual([]);
    expect(code).toBe(0);
    const out = await readTensors(join(dir, 'out.safetensors'));
    const want = referenceScanGrad(c, s, x, { o: dO });
    expect(out.o.shape).toEqual(shape(3));
    expect(relError(out.o.data, want.o)).toBeLessThan(1e-5);
    for (const n of ['q', 'k', 'v']) expect(relError(out[`d${n}`].data, want.grads[n]), n).toBeLessThan(1e-5);
  });

  it('check --random draws attention memories and they pass on WebGPU', async () => {
    const { checkCommand, RANDOM_MEMORY_CYCLE } = await import('@/engine/miras/cli/commands');
    // check --random takes each case's memory from a fixed cycle: draw up to the first attention slot, for two seeds
    const n = RANDOM_MEMORY_CYCLE.indexOf('attention') + 1;
    expect(n, 'the cycle has an attention slot').toBeGreaterThan(0);
    const seen: string[] = [];
    for (const seed of [0, 1]) {
      const lines: string[] = [];
      const code = await checkCommand.run(['--random', String(n), '--seed', String(seed), '--dim', '8'], (l) => lines.push(l));
      const line = lines.find((l) => / #\d+ attention\(/.test(l));
      expect(line, `seed ${seed}: no attention case in ${lines.join(' | ')}`).toBeDefined();
      console.log(`[block-attention] check --random ${n} --seed ${seed}: ${line}`);
      expect(line).toMatch(/^ok +#\d+ attention\((window \d+|full)\)\/l2\/none\/closed-form/);
      expect(code).toBe(0);
      seen.push(line!);
    }
    expect(seen.length).toBe(2);
  });
});
