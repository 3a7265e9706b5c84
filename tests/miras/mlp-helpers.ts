/** Shared fixtures of the MLP-memory kernel tests: mixers, seeded inputs in the ranges a block produces, errors. */
import type { MirasMixer } from '../../engine/spec';
import { resolveCombo, type Combo } from '../../engine/miras/catalog';
import { providerInputs } from '../../engine/miras/reference/provider';
import { resolveMlpCombo, type MlpCombo } from '../../engine/miras/mlp/program';
import { referenceProviderFor } from '../../engine/miras/reference/provider';
import type { ScanShape } from '../../engine/ir/scan';
import { gauss, relErr, rng } from './kernel-helpers';

export { gauss, relErr, rng };

export function mlpMixer(memory: object, bias: [string, object?], retention: [string, object?], learner: [string, object?], heads = 1, d = 8, block: object = {}): MirasMixer {
  return {
    type: 'miras',
    heads,
    headDimK: d,
    headDimV: d,
    memory: { kind: 'mlp', params: memory as Record<string, number> },
    bias: { kind: bias[0], params: (bias[1] ?? {}) as Record<string, number> },
    retention: { kind: retention[0], params: (retention[1] ?? {}) as Record<string, number> },
    learner: { kind: learner[0], params: (learner[1] ?? {}) as Record<string, number> },
    block: { memoryInit: 'learned', ...block } as unknown as Record<string, number>,
  };
}

export function mlpCase(m: MirasMixer, s: ScanShape): { cat: Combo; mc: MlpCombo } {
  const cat = resolveCombo(m);
  const mc = resolveMlpCombo(cat, s.heads, s.dk, s.dv, providerInputs(cat, s).map((d) => d.name));
  return { cat, mc };
}

/** Provider inputs: unit-norm keys, β ∈ (0.1, 0.6), α ∈ (0.8, 1), η ∈ (0.5, 0.95), δ ∈ (0.3, 1.3), a scaled random (positive for KL) W_0. */
export function mlpInputs(cat: Combo, mc: MlpCombo, s: ScanShape, seed: number): Record<string, Float64Array> {
  const r = rng(seed);
  const out: Record<string, Float64Array> = {};
  for (const d of providerInputs(cat, s)) {
    const n = d.shape.reduce((a, b) => a * b, 1);
    const x = new Float64Array(n);
    if (d.name === 'initialState') {
      let off = 0;
      const seg: number[] = [];
      for (const [o, i] of mc.shapes) for (let j = 0; j < o * i; j++) seg.push(i);
      const mem = seg.length;
      for (let h = 0; h < s.heads; h++) {
        for (let j = 0; j < n / s.heads; j++) {
          const fanIn = seg[j % mem];
          const isMom = j >= mem;
          x[off++] = isMom ? 0.05 * gauss(r) : cat.retention.kind === 'kl' ? (0.5 + r()) / fanIn : gauss(r) / Math.sqrt(fanIn);
        }
      }
    } else {
      for (let i = 0; i < n; i++) {
        if (d.name === 'beta') x[i] = 0.1 + 0.5 * r();
        else if (d.name === 'g') x[i] = Math.log(0.8 + 0.19 * r());
        else if (d.name === 'delta') x[i] = 0.3 + r();
        else if (d.name === 'eta') x[i] = 0.5 + 0.45 * r();
        else x[i] = gauss(r);
      }
      if (d.name === 'k' || d.name === 'q') {
        const D = d.shape[3];
        for (let row = 0; row < n / D; row++) {
          let nn = 0;
          for (let i = 0; i < D; i++) nn += x[row * D + i] ** 2;
          for (let i = 0; i < D; i++) x[row * D + i] /= Math.sqrt(nn);
        }
      }
    }
    out[d.name] = x;
  }
  return out;
}

/** A case with the oracle's answers: inputs (seeded), outputs, random upstream gradients and the input gradients. */
export function oracleCase(m: MirasMixer, s: ScanShape, seed: number) {
  const { cat, mc } = mlpCase(m, s);
  const x = mlpInputs(cat, mc, s, seed);
  const oracle = referenceProviderFor(cat);
  const want = oracle.referenceForward(x, s);
  const r = rng(seed + 1);
  const go = Float64Array.from(want.o, () => gauss(r));
  const gf = Float64Array.from(want.finalState, () => gauss(r));
  const wantG = oracle.referenceBackward(x, { o: go, finalState: gf }, s);
  return { cat, mc, x, oracle, want, go, gf, wantG };
}

/** Relative error of every output and input gradient. */
export function errors(got: { o: ArrayLike<number>; finalState: ArrayLike<number>; grads?: Record<string, ArrayLike<number>> }, c: ReturnType<typeof oracleCase>): Record<string, number> {
  const e: Record<string, number> = { o: relErr(got.o, c.want.o), finalState: relErr(got.finalState, c.want.finalState) };
  for (const n of Object.keys(c.x)) e[`d${n}`] = relErr(got.grads![n], c.wantG[n]);
  return e;
}

export const fmtErrors = (e: Record<string, number>) => Object.entries(e).map(([n, v]) => `${n} ${v.toExponential(1)}`).join('  ');

/** Option cases shared by the float64-mirror and WebGPU tests (d = 8, hidden 8–16). */
export const MLP_CASES: [string, Parameters<typeof mlpMixer>][] = [
  ['ttt-linear (1 layer, chunk 4)', [{ layers: 1 }, ['l2'], ['none'], ['chunk', { chunkSize: 4 }]]],
  ['titans (momentum, l2 retention)', [{ layers: 2, expansion: 2 }, ['l2'], ['l2'], ['momentum']]],
  ['moneta (lp, lq)', [{ layers: 2, expansion: 2 }, ['lp', { p: 3 }], ['lq', { q: 4, eps: 1e-3 }], ['gd']]],
  ['yaad (huber switch, data δ)', [{ layers: 2, expansion: 2 }, ['huber', { variant: 'switch', delta: 'data' }], ['l2'], ['gd']]],
  ['memora (kl key)', [{ layers: 2, expansion: 2 }, ['l2'], ['kl', { axis: 'key' }], ['gd']]],
  ['3 layers silu, no LN, dot, constant', [{ layers: 3, expansion: 1, activation: 'silu', layerNorm: false }, ['dot'], ['constant'], ['gd'], 2]],
  ['relu, no residual, robust, elastic smooth', [{ layers: 2, expansion: 2, activation: 'relu', residual: false }, ['robust', { shift: 0.3 }], ['elastic', { surrogate: 'smooth', threshold: 0.02 }], ['gd']]],
  ['huber norm fixed δ, scalar decayed, q scale', [{ layers: 2, expansion: 1 }, ['huber', { variant: 'norm', delta: 'fixed', deltaValue: 0.5 }], ['scalar', { gradientAt: 'decayed' }], ['gd'], 1, 8, { queryScale: 'inv-sqrt-dk' }]],
  ['chunk + lag token, lq mirror, coupled l2-free', [{ layers: 2, expansion: 1 }, ['l1', { sharpness: 5 }], ['lq', { q: 3, form: 'mirror', eps: 1e-3 }], ['chunk', { chunkSize: 3, lagToken: true }]]],
  ['kl value, momentum', [{ layers: 2, expansion: 1 }, ['l2'], ['kl', { axis: 'value', scale: 2 }], ['momentum']]],
  ['kl all, chunk', [{ layers: 1 }, ['huber', { variant: 'coordinate', delta: 'data' }], ['kl', { axis: 'all' }], ['chunk', { chunkSize: 2 }]]],
  ['chunk 2 + lag token (anchor = new W), robust, scalar decay', [{ layers: 2, expansion: 2 }, ['robust', { shift: 0.3 }], ['scalar'], ['chunk', { chunkSize: 2, lagToken: true }]]],
  ['coupled l2, momentum, constant β', [{ layers: 2, expansion: 1 }, ['l2'], ['l2', { coupled: true }], ['momentum'], 1, 8, { betaActivation: 'constant' }]],
];
