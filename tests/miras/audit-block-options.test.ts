/**
 * Audit of issue #4's block-level options: every value of every block option (engine/miras/catalog/block.ts)
 * is wired into the block (engine/miras/block.ts) and differentiable. For each non-default value, on a base
 * combination where the option is meaningful (validate.ts accepts it), the float64 block output must differ
 * from the same block with the option at its default (same parameter values by name), and the block's
 * gradients must match central finite differences. A value the builder ignored would leave the output unchanged.
 * The option list is read from the catalog's zod schema, so a new option or value without a case here fails.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Graph } from '@/engine/ir/graph';
import { mul, sum } from '@/engine/ops';
import { initParams } from '@/engine/model/init';
import { referenceForward } from '@/engine/reference/interpreter';
import { finiteDifferenceCheck } from '@/engine/reference/gradcheck';
import { buildMirasMixer } from '@/engine/miras/block';
import { BlockParamsSchema } from '@/engine/miras/catalog';
import { validateMixer } from '@/engine/miras/validate';
import { Rng, normal } from '@/engine/miras/reference/random';
import type { MirasMixer, Params } from '@/engine/spec';

type Choice = { kind: string; params?: Params };
const D_MODEL = 8;

function mixerOf(memory: Choice, bias: Choice, retention: Choice, learner: Choice, block: Params = {}): MirasMixer {
  const c = (x: Choice) => ({ kind: x.kind, params: x.params ?? {} });
  return { type: 'miras', heads: 2, headDimK: 4, headDimV: 4, memory: c(memory), bias: c(bias), retention: c(retention), learner: c(learner), block };
}

// Base combinations where each option is meaningful.
const GDN = () => mixerOf({ kind: 'matrix' }, { kind: 'l2' }, { kind: 'scalar' }, { kind: 'gd' });
const TITANS_LIN = () => mixerOf({ kind: 'matrix' }, { kind: 'l2' }, { kind: 'l2' }, { kind: 'momentum' });
const YAAD_LIN = () => mixerOf({ kind: 'matrix' }, { kind: 'huber', params: { variant: 'switch', delta: 'data' } }, { kind: 'l2' }, { kind: 'gd' });
const MEMORA_LIN = () => mixerOf({ kind: 'matrix' }, { kind: 'l2' }, { kind: 'kl' }, { kind: 'gd' }, { memoryInit: 'uniform' });
const MLSTM = () => mixerOf({ kind: 'matrix' }, { kind: 'dot' }, { kind: 'scalar', params: { parametrization: 'sigmoid' } }, { kind: 'gd' }, { betaActivation: 'exp' });
const HGRN2 = () => mixerOf({ kind: 'matrix' }, { kind: 'dot' }, { kind: 'channel', params: { parametrization: 'hgrn2' } }, { kind: 'gd' });
const MAMBA2 = () => mixerOf({ kind: 'matrix' }, { kind: 'dot' }, { kind: 'scalar', params: { parametrization: 'mamba2' } }, { kind: 'gd' }, { betaActivation: 'softplus' });

/** option → value → [base mixer, extra block options the value needs]. Every non-default value must be listed. */
const CASES: Record<string, Record<string, [() => MirasMixer, Params?]>> = {
  projectionBias: { true: [GDN] },
  convSize: { '0': [GDN], '2': [GDN], '8': [GDN] },
  convTargets: { qk: [GDN] },
  convActivation: { none: [GDN] },
  featureMap: { 'elu+1': [GDN, { qkNorm: 'none' }], silu: [GDN], relu: [GDN] },
  qkNorm: { none: [GDN] },
  queryScale: { 'inv-sqrt-dk': [GDN] },
  betaActivation: { softplus: [GDN], exp: [GDN], constant: [GDN] },
  betaPerChannel: { true: [GDN] },
  eigenvalueRange: { '[-1,1]': [GDN] },
  gateRank: { '1': [GDN], '2': [GDN, { betaPerChannel: true }] }, // rank 2 with β per head (width 2) is full rank by design
  momentumActivation: { constant: [TITANS_LIN] },
  deltaActivation: { sigmoid: [YAAD_LIN] },
  memoryInit: { uniform: [GDN], learned: [MEMORA_LIN] },
  outputNorm: { groupnorm: [GDN], layernorm: [GDN], none: [GDN] },
  outputGate: { sigmoid: [GDN], none: [GDN] },
  gateBeforeNorm: { true: [GDN] },
  dSkip: { true: [GDN] },
  mlstmNormalizer: { true: [MLSTM] },
  keyFromDecay: { true: [HGRN2] },
  valueTimesStep: { true: [MAMBA2] },
};

/** Non-default values of an option, read from the schema (enums, booleans; numbers from the cases). */
function nonDefaultValues(name: string, prop: { default?: unknown; enum?: unknown[]; type?: string }): string[] {
  if (prop.enum) return prop.enum.filter((v) => v !== prop.default).map(String);
  if (prop.type === 'boolean') return [String(!prop.default)];
  return Object.keys(CASES[name] ?? {});
}

const parse = (v: string): string | number | boolean => (v === 'true' ? true : v === 'false' ? false : /^\d+$/.test(v) ? Number(v) : v);

/** The block on [1, 5, D_MODEL] with every parameter drawn by name (constants perturbed, so zero biases and unit norms count). */
function run(m: MirasMixer) {
  const g = new Graph();
  const T = 5;
  const x = g.input('x', [1, T, D_MODEL], 'f32');
  const r = g.input('r', [1, T, D_MODEL], 'f32');
  const y = g.scoped('mixer', () => buildMirasMixer(x, m, { layer: 1, nLayers: 2, normEps: 1e-5 }));
  const loss = sum(sum(sum(mul(y, r), 2), 1), 0);
  const feeds = initParams(g, 3);
  for (const p of g.params) {
    if (p.init.kind !== 'const') continue;
    const rng = new Rng([...p.tensor.id].reduce((h, ch) => (h * 31 + ch.charCodeAt(0)) >>> 0, 7));
    feeds.set(p.tensor.id, feeds.get(p.tensor.id)!.map((v) => v + 0.3 * normal(rng)));
  }
  const rng = new Rng(11);
  feeds.set(x.id, Float64Array.from({ length: T * D_MODEL }, () => normal(rng)));
  feeds.set(r.id, Float64Array.from({ length: T * D_MODEL }, () => normal(rng)));
  return { g, y, loss, feeds, out: referenceForward(g, feeds).get(y.id)! };
}

describe('every block option value is wired into the block and differentiable', () => {
  const props = (z.toJSONSchema(BlockParamsSchema, { io: 'input' }) as { properties: Record<string, { default?: unknown; enum?: unknown[]; type?: string }> }).properties;

  it('every option and every non-default value has a case', () => {
    for (const [name, prop] of Object.entries(props)) {
      expect(CASES[name], `block option ${name} has no case`).toBeDefined();
      for (const v of nonDefaultValues(name, prop)) expect(CASES[name][v], `${name} = ${v} has no case`).toBeDefined();
    }
  });

  for (const [name, values] of Object.entries(CASES)) {
    for (const [value, [base, extra]] of Object.entries(values)) {
      it(`${name} = ${value}`, () => {
        const ref = base();
        ref.block = { ...ref.block, ...(extra ?? {}) };
        const alt: MirasMixer = { ...ref, block: { ...ref.block, [name]: parse(value) } };
        expect(validateMixer(ref), 'base combination').toEqual([]);
        expect(validateMixer(alt), `${name} = ${value} on this base`).toEqual([]);
        const a = run(ref);
        const b = run(alt);
        expect(b.out.every(Number.isFinite)).toBe(true);
        const diff = Math.max(...b.out.map((v, i) => Math.abs(v - a.out[i])));
        const scale = Math.max(...a.out.map(Math.abs));
        expect(diff / scale, `${name} = ${value} leaves the block output unchanged`).toBeGreaterThan(1e-6);
        for (const res of finiteDifferenceCheck(b.g, b.loss, b.feeds, { maxCoords: 3 })) expect(res.relError, `${name} = ${value}: ${res.param}`).toBeLessThan(1e-4);
      });
    }
  }

  it('outputNorm layernorm is LayerNorm per head, the same map as GroupNorm with one group per head', () => {
    const gn = GDN();
    gn.block = { outputNorm: 'groupnorm' };
    const ln = GDN();
    ln.block = { outputNorm: 'layernorm' };
    const [a, b] = [run(gn).out, run(ln).out];
    expect(Math.max(...a.map((v, i) => Math.abs(v - b[i])))).toBeLessThan(1e-12);
  });
});
