/**
 * The Miras mixer block builds for every preset, runs on the float64 reference backend, and its
 * gradients (projections, conv, gates, norms, and the scan's tape gradients) match finite differences.
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

function buildFor(name: string, dModel: number) {
  const spec = MIRAS_PRESETS.find((p) => p.name === name)!.build({ vocabSize: 16, dModel, nLayers: 2 });
  const mixer = spec.layers[0].mixer;
  if (mixer.type !== 'miras') throw new Error('expected a Miras layer first');
  // keep the scan tiny: at most 2 heads of 8 (MLP memories need d_k = d_v)
  const small = { ...mixer, heads: Math.min(mixer.heads, 2), headDimK: Math.min(mixer.headDimK, 8), headDimV: Math.min(mixer.headDimV, 8) };
  if (small.memory.kind === 'mlp') small.memory = { ...small.memory, params: { ...small.memory.params, expansion: 2 } };
  const g = new Graph();
  const B = 1, T = 5;
  const x = g.input('x', [B, T, dModel], 'f32');
  const r = g.input('r', [B, T, dModel], 'f32');
  const y = g.scoped('mixer', () => buildMirasMixer(x, small, { layer: 1, nLayers: 2, normEps: 1e-5 }));
  const loss = sum(sum(sum(mul(y, r), 2), 1), 0);
  const rng = new Rng(11);
  const feeds = initParams(g, 3);
  feeds.set(x.id, Float64Array.from({ length: B * T * dModel }, () => normal(rng)));
  feeds.set(r.id, Float64Array.from({ length: B * T * dModel }, () => normal(rng)));
  return { g, y, loss, feeds };
}

describe('Miras block builder', () => {
  const names = MIRAS_PRESETS.map((p) => p.name);
  it.each(names)('%s: builds, runs, and its gradients match finite differences', (name) => {
    const { g, y, loss, feeds } = buildFor(name, 16);
    expect(y.shape).toEqual([1, 5, 16]);
    const out = referenceForward(g, feeds).get(y.id)!;
    expect(out.every(Number.isFinite)).toBe(true);
    expect(Math.max(...out.map(Math.abs))).toBeGreaterThan(0);
    const res = finiteDifferenceCheck(g, loss, feeds, { maxCoords: 3 });
    for (const r of res) expect(r.relError, `${name}: ${r.param}`).toBeLessThan(1e-4);
  });
});
