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
import { MIRAS_PRESETS, MIRAS_PRESET_NOTES } from '@/engine/presets/miras';
import { Rng, normal } from '@/engine/miras/reference/random';
import { mixerCost, stateLayout } from '@/engine/miras/cost';
import { resolveCombo } from '@/engine/miras/catalog';
import type { MirasMixer } from '@/engine/spec';

function buildFor(name: string, dModel: number) {
  const spec = MIRAS_PRESETS.find((p) => p.name === name)!.build({ vocabSize: 16, dModel, nLayers: 2 });
  const mixer = spec.layers[0].mixer;
  if (mixer.type !== 'miras') throw new Error('expected a Miras layer first');
  // keep the scan tiny: at most 2 heads of 8 (an MLP memory with the residual needs d_k = d_v)
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

/** The parameters buildMirasMixer allocates for a mixer, by name (scope "mixer." removed). */
function allocated(mixer: MirasMixer, dModel: number): Map<string, number> {
  const g = new Graph();
  const x = g.input('x', [1, 3, dModel], 'f32');
  g.scoped('mixer', () => buildMirasMixer(x, mixer, { layer: 1, nLayers: 2, normEps: 1e-5 }));
  return new Map(g.params.map((p) => [p.tensor.id.replace(/^mixer\./, ''), p.tensor.size]));
}

describe('Miras cost model', () => {
  const names = MIRAS_PRESETS.map((p) => p.name);
  it.each(names)('%s: mixerCost counts exactly the parameters the builder allocates (d_model 64 and 256)', (name) => {
    for (const dModel of [64, 256]) {
      const spec = MIRAS_PRESETS.find((p) => p.name === name)!.build({ vocabSize: 16, dModel, nLayers: 2 });
      for (const l of spec.layers) {
        if (l.mixer.type !== 'miras') continue;
        const total = [...allocated(l.mixer, dModel).values()].reduce((a, b) => a + b, 0);
        expect(mixerCost(l.mixer, dModel).params.total, `${name} at d_model ${dModel}`).toBe(total);
      }
    }
  });
});

describe('Titans momentum starts at zero', () => {
  it('state0 holds the memory only; the scan starts from [learned memory | zero momentum]', () => {
    const spec = MIRAS_PRESETS.find((p) => p.name === 'titans')!.build({ vocabSize: 16, dModel: 16, nLayers: 2 });
    const m = spec.layers[0].mixer;
    if (m.type !== 'miras') throw new Error('expected a Miras layer');
    const mixer = { ...m, heads: 2, headDimK: 4, headDimV: 4, memory: { ...m.memory, params: { ...m.memory.params, expansion: 2 } } };
    const layout = stateLayout(resolveCombo(mixer), 4, 4);
    const mem = layout.segments.filter((s) => !s.name.startsWith('mom.')).reduce((a, s) => a + s.size, 0);
    expect(mem).toBe(layout.size / 2);
    expect(allocated(mixer, 16).get('state0')).toBe(2 * mem);
    expect(mixerCost(mixer, 16).params.breakdown['initial state']).toBe(2 * mem);
    const g = new Graph();
    const x = g.input('x', [1, 3, 16], 'f32');
    g.scoped('mixer', () => buildMirasMixer(x, mixer, { layer: 0, nLayers: 2, normEps: 1e-5 }));
    const scanNode = g.nodes.find((n) => n.op.name === 'scan')!;
    const init = scanNode.inputs.find((t) => t.shape.length === 2 && t.shape[1] === layout.size)!;
    expect(init.shape).toEqual([2, layout.size]);
    const feeds = initParams(g, 5);
    feeds.set(x.id, new Float64Array(3 * 16).fill(0.1));
    const v = referenceForward(g, feeds).get(init.id)!;
    const s0 = feeds.get('mixer.state0')!;
    for (let h = 0; h < 2; h++) {
      expect([...v.subarray(h * layout.size, h * layout.size + mem)]).toEqual([...s0.subarray(h * mem, (h + 1) * mem)]);
      expect(v.subarray(h * layout.size + mem, (h + 1) * layout.size).every((z) => z === 0)).toBe(true);
    }
  });
});

describe('low-rank gates in presets', () => {
  // A preset that sets gateRank or whose docs say "rank-N" must factor at least one gate at that rank at the documented size.
  it.each(MIRAS_PRESETS.map((p) => p.name))('%s: a stated gate rank is a real factorisation at d_model 1024', (name) => {
    const spec = MIRAS_PRESETS.find((p) => p.name === name)!.build({ vocabSize: 16, dModel: 1024, nLayers: 2 });
    const stated = /rank-(\d+)/.exec(MIRAS_PRESET_NOTES[name].block)?.[1];
    for (const l of spec.layers) {
      if (l.mixer.type !== 'miras') continue;
      const rank = (l.mixer.block.gateRank as number | undefined) ?? 0;
      if (stated) expect(rank || (l.mixer.retention.kind === 'channel' ? 16 : 0), `${name}: docs say rank-${stated}`).toBe(Number(stated));
      if (!rank && !stated) continue;
      const params = allocated(l.mixer, 1024);
      const downs = [...params.keys()].filter((k) => k.endsWith('_down'));
      expect(downs.length, `${name}: no gate is factored`).toBeGreaterThan(0);
      for (const k of downs) expect(params.get(k)).toBe(1024 * Number(stated ?? rank));
    }
  });
});
