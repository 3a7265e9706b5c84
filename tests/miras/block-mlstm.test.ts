/**
 * Without a dedicated mLSTM kernel, the block runs the mLSTM as two fused Hebbian scans (C with values v,
 * the normaliser n with a column of ones): the same outputs as the stabilised float64 oracle, and correct
 * gradients. The fused-kernel provider registers only after the first graph is built.
 */
import { describe, expect, it } from 'vitest';
import { Graph } from '@/engine/ir/graph';
import { mul, sum } from '@/engine/ops';
import { initParams } from '@/engine/model/init';
import { referenceForward } from '@/engine/reference/interpreter';
import { finiteDifferenceCheck } from '@/engine/reference/gradcheck';
import { buildMirasMixer } from '@/engine/miras/block';
import { MIRAS_PRESETS } from '@/engine/presets/miras';
import { Rng, normal } from '@/engine/miras/reference/random';

function build() {
  const spec = MIRAS_PRESETS.find((p) => p.name === 'mlstm')!.build({ vocabSize: 16, dModel: 16, nLayers: 1 });
  const m = spec.layers[0].mixer;
  if (m.type !== 'miras') throw new Error('expected a Miras layer');
  const mixer = { ...m, heads: 2, headDimK: 8, headDimV: 8 };
  const g = new Graph();
  const x = g.input('x', [2, 6, 16], 'f32');
  const r = g.input('r', [2, 6, 16], 'f32');
  const y = g.scoped('mixer', () => buildMirasMixer(x, mixer, { layer: 0, nLayers: 1, normEps: 1e-5 }));
  const loss = sum(sum(sum(mul(y, r), 2), 1), 0);
  return { g, x, r, y, loss };
}

describe('mLSTM block on two fused scans', () => {
  it('matches the stabilised oracle and has correct gradients', async () => {
    const oracle = build();
    const scansBefore = oracle.g.nodes.filter((n) => n.op.name === 'scan').length;
    await import('@/engine/miras/recurrent/provider'); // registers the fused kernels
    const fused = build();
    const scanNodes = fused.g.nodes.filter((n) => n.op.name === 'scan');
    expect(scansBefore).toBe(1);
    // B2's dedicated mLSTM kernel (engine/miras/recurrent/mlstm.ts) takes the mixer as one scan; without it, two Hebbian scans
    expect([1, 2]).toContain(scanNodes.length);
    const rng = new Rng(4);
    const feeds = initParams(oracle.g, 9);
    const xs = Float64Array.from({ length: 2 * 6 * 16 }, () => normal(rng));
    const rs = Float64Array.from({ length: 2 * 6 * 16 }, () => normal(rng));
    feeds.set(oracle.x.id, xs);
    feeds.set(oracle.r.id, rs);
    const feeds2 = new Map(feeds);
    feeds2.set(fused.x.id, xs);
    feeds2.set(fused.r.id, rs);
    const a = referenceForward(oracle.g, feeds).get(oracle.y.id)!;
    const b = referenceForward(fused.g, feeds2).get(fused.y.id)!;
    let d = 0;
    a.forEach((v, i) => (d = Math.max(d, Math.abs(v - b[i]))));
    expect(d).toBeLessThan(1e-10);
    for (const res of finiteDifferenceCheck(fused.g, fused.loss, feeds2, { maxCoords: 3 })) expect(res.relError, res.param).toBeLessThan(1e-4);
  });
});
