/**
 * The reference scan reproduces known recurrences written out independently here, in the form
 * their papers / fla's naive.py give them (S ∈ R^{dk×dv}, o_t = S_tᵀ q_t).
 */
import { describe, expect, it } from 'vitest';
import { referenceScan, type ScanArrays } from '@/engine/miras/reference';
import { Rng, randomCombo, randomScanInputs } from '@/engine/miras/reference/random';
import { resolveCombo, type ComboInput } from '@/engine/miras/catalog';

type Shape = { batch: number; time: number; heads: number; dk: number; dv: number };
const shape: Shape = { batch: 2, time: 9, heads: 3, dk: 5, dv: 4 };

function maxDiff(a: Float64Array, b: Float64Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Run a per-(b, h) token loop `step(S, t) → o_t` over S [dk, dv] and collect o and the final S. */
function tokenLoop(s: Shape, x: ScanArrays, step: (S: Float64Array, b: number, h: number, t: number, get: (n: string, w: number, tt?: number, T?: number) => Float64Array) => Float64Array) {
  const o = new Float64Array(s.batch * s.time * s.heads * s.dv);
  const fin = new Float64Array(s.batch * s.heads * s.dk * s.dv);
  for (let b = 0; b < s.batch; b++)
    for (let h = 0; h < s.heads; h++) {
      const S = new Float64Array(s.dk * s.dv);
      for (let t = 0; t < s.time; t++) {
        const get = (n: string, w: number, tt = t, T = s.time) => x[n].subarray(((b * T + tt) * s.heads + h) * w, ((b * T + tt) * s.heads + h + 1) * w);
        o.set(step(S, b, h, t, get), ((b * s.time + t) * s.heads + h) * s.dv);
      }
      fin.set(S, (b * s.heads + h) * s.dk * s.dv);
    }
  return { o, finalState: fin };
}

const read = (S: Float64Array, q: Float64Array, dk: number, dv: number, scale = 1) => {
  const o = new Float64Array(dv);
  for (let i = 0; i < dk; i++) for (let j = 0; j < dv; j++) o[j] += scale * q[i] * S[i * dv + j];
  return o;
};
const predict = (S: Float64Array, k: Float64Array, dk: number, dv: number) => read(S, k, dk, dv);

function inputsFor(input: ComboInput, s = shape, seed = 3) {
  const c = resolveCombo(input);
  const x = randomScanInputs(c, s, new Rng(seed));
  delete x.initialState; // the loops below start from S_0 = 0
  return { c, x };
}

describe('reference scan reproduces closed forms', () => {
  it('DeltaNet: S_t = S_{t−1} + k_t (β_t (v_t − S_{t−1}ᵀk_t))ᵀ, o_t = S_tᵀ q_t / √dk (fla delta_rule_recurrence)', () => {
    const { c, x } = inputsFor({ memory: { kind: 'matrix' }, bias: { kind: 'l2' }, retention: { kind: 'none' }, learner: { kind: 'gd' }, block: { queryScale: 'inv-sqrt-dk' } });
    const { dk, dv } = shape;
    const want = tokenLoop(shape, x, (S, _b, _h, _t, get) => {
      const k = get('k', dk), v = get('v', dv), beta = get('beta', 1)[0];
      const pred = predict(S, k, dk, dv);
      for (let i = 0; i < dk; i++) for (let j = 0; j < dv; j++) S[i * dv + j] += k[i] * beta * (v[j] - pred[j]);
      return read(S, get('q', dk), dk, dv, 1 / Math.sqrt(dk));
    });
    const got = referenceScan(c, shape, x);
    expect(maxDiff(got.o, want.o)).toBeLessThan(1e-12);
    expect(maxDiff(got.finalState, want.finalState)).toBeLessThan(1e-12);
  });

  it('Gated DeltaNet: S_t = α_t (I − β_t k kᵀ) S_{t−1} + β_t k vᵀ (fla naive_recurrent_gated_delta_rule)', () => {
    const { c, x } = inputsFor({ memory: { kind: 'matrix' }, bias: { kind: 'l2' }, retention: { kind: 'scalar' }, learner: { kind: 'gd' } });
    const { dk, dv } = shape;
    const want = tokenLoop(shape, x, (S, _b, _h, _t, get) => {
      const k = get('k', dk), v = get('v', dv), beta = get('beta', 1)[0], a = Math.exp(get('g', 1)[0]);
      for (let i = 0; i < S.length; i++) S[i] *= a;
      const pred = predict(S, k, dk, dv);
      for (let i = 0; i < dk; i++) for (let j = 0; j < dv; j++) S[i * dv + j] += beta * k[i] * (v[j] - pred[j]);
      return read(S, get('q', dk), dk, dv);
    });
    expect(maxDiff(referenceScan(c, shape, x).o, want.o)).toBeLessThan(1e-12);
  });

  it('GLA: S_t = Diag(α_t) S_{t−1} + k_t v_tᵀ (fla naive_recurrent_gla)', () => {
    const { c, x } = inputsFor({ memory: { kind: 'matrix' }, bias: { kind: 'dot' }, retention: { kind: 'channel' }, learner: { kind: 'gd' }, block: { queryScale: 'inv-sqrt-dk' } });
    delete x.beta;
    const { dk, dv } = shape;
    const want = tokenLoop(shape, x, (S, _b, _h, _t, get) => {
      const k = get('k', dk), v = get('v', dv), g = get('g', dk);
      for (let i = 0; i < dk; i++) for (let j = 0; j < dv; j++) S[i * dv + j] = Math.exp(g[i]) * S[i * dv + j] + k[i] * v[j];
      return read(S, get('q', dk), dk, dv, 1 / Math.sqrt(dk));
    });
    expect(maxDiff(referenceScan(c, shape, x).o, want.o)).toBeLessThan(1e-12);
  });

  it('RetNet: S_t = γ_h S_{t−1} + k vᵀ with γ_h = 1 − 2^(−5−h) (fla retention/naive.py)', () => {
    const { c, x } = inputsFor({ memory: { kind: 'matrix' }, bias: { kind: 'dot' }, retention: { kind: 'constant' }, learner: { kind: 'gd' } });
    delete x.beta;
    const { dk, dv } = shape;
    const want = tokenLoop(shape, x, (S, _b, h, _t, get) => {
      const gamma = 1 - Math.pow(2, -5 - h);
      const k = get('k', dk), v = get('v', dv);
      for (let i = 0; i < dk; i++) for (let j = 0; j < dv; j++) S[i * dv + j] = gamma * S[i * dv + j] + k[i] * v[j];
      return read(S, get('q', dk), dk, dv);
    });
    expect(maxDiff(referenceScan(c, shape, x).o, want.o)).toBeLessThan(1e-12);
  });

  it('Longhorn (diagonal, as shipped): S[:,c] = (1 − ε_c k⊙k) ⊙ S[:,c] + ε_c v_c k, ε_c = β_c/(1 + β_c‖k‖²)', () => {
    const { c, x } = inputsFor({ memory: { kind: 'vector' }, bias: { kind: 'l2' }, retention: { kind: 'none' }, learner: { kind: 'implicit' }, block: { betaPerChannel: true } });
    const { dk, dv } = shape;
    const want = tokenLoop(shape, x, (S, _b, _h, _t, get) => {
      const k = get('k', dk), v = get('v', dv), beta = get('beta', dv);
      const kk = k.reduce((a, y) => a + y * y, 0);
      for (let j = 0; j < dv; j++) {
        const eps = beta[j] / (1 + beta[j] * kk);
        for (let i = 0; i < dk; i++) S[i * dv + j] = (1 - eps * k[i] * k[i]) * S[i * dv + j] + eps * v[j] * k[i];
      }
      return read(S, get('q', dk), dk, dv);
    });
    expect(maxDiff(referenceScan(c, shape, x).o, want.o)).toBeLessThan(1e-12);
  });

  it('implicit GD on a matrix memory is the exact proximal step: (I − ε k kᵀ) S + ε k vᵀ', () => {
    const { c, x } = inputsFor({ memory: { kind: 'matrix' }, bias: { kind: 'l2' }, retention: { kind: 'none' }, learner: { kind: 'implicit' } });
    const { dk, dv } = shape;
    const want = tokenLoop(shape, x, (S, _b, _h, _t, get) => {
      const k = get('k', dk), v = get('v', dv), beta = get('beta', 1)[0];
      const eps = beta / (1 + beta * k.reduce((a, y) => a + y * y, 0));
      const pred = predict(S, k, dk, dv);
      for (let i = 0; i < dk; i++) for (let j = 0; j < dv; j++) S[i * dv + j] += eps * k[i] * (v[j] - pred[j]);
      // the proximal optimality condition: S_t − S_{t−1} = −β k (S_tᵀk − v)ᵀ
      return read(S, get('q', dk), dk, dv);
    });
    expect(maxDiff(referenceScan(c, shape, x).o, want.o)).toBeLessThan(1e-12);
  });

  it('DeltaProduct: decay once, then n_h Householder-like steps (fla gated_delta_product/naive.py)', () => {
    const nh = 3;
    const { c, x } = inputsFor({ memory: { kind: 'matrix' }, bias: { kind: 'l2' }, retention: { kind: 'scalar' }, learner: { kind: 'multistep', params: { steps: nh } } });
    const { dk, dv, time: T } = shape;
    const want = tokenLoop(shape, x, (S, _b, _h, t, get) => {
      const a = Math.exp(get('g', 1)[0]);
      for (let i = 0; i < S.length; i++) S[i] *= a;
      for (let j = 0; j < nh; j++) {
        const k = get('k', dk, t * nh + j, T * nh), v = get('v', dv, t * nh + j, T * nh), beta = get('beta', 1, t * nh + j, T * nh)[0];
        const pred = predict(S, k, dk, dv);
        for (let i = 0; i < dk; i++) for (let l = 0; l < dv; l++) S[i * dv + l] += beta * k[i] * (v[l] - pred[l]);
      }
      return read(S, get('q', dk), dk, dv);
    });
    expect(maxDiff(referenceScan(c, shape, x).o, want.o)).toBeLessThan(1e-12);
  });

  it('mLSTM: the stabilised recurrence equals the plain one C = fC + i k vᵀ, h = Cᵀq / max(|nᵀq|, 1)', () => {
    const { c, x } = inputsFor({ memory: { kind: 'matrix' }, bias: { kind: 'dot' }, retention: { kind: 'scalar', params: { parametrization: 'sigmoid' } }, learner: { kind: 'gd' }, block: { mlstmNormalizer: true, betaActivation: 'exp' } });
    const { dk, dv } = shape;
    const o = new Float64Array(shape.batch * shape.time * shape.heads * dv);
    for (let b = 0; b < shape.batch; b++)
      for (let h = 0; h < shape.heads; h++) {
        const C = new Float64Array(dk * dv);
        const n = new Float64Array(dk);
        for (let t = 0; t < shape.time; t++) {
          const at = (name: string, w: number) => x[name].subarray(((b * shape.time + t) * shape.heads + h) * w, ((b * shape.time + t) * shape.heads + h + 1) * w);
          const f = Math.exp(at('g', 1)[0]), ig = Math.exp(at('i', 1)[0]);
          const k = at('k', dk), v = at('v', dv), q = at('q', dk);
          for (let i = 0; i < dk; i++) {
            n[i] = f * n[i] + ig * k[i];
            for (let j = 0; j < dv; j++) C[i * dv + j] = f * C[i * dv + j] + ig * k[i] * v[j];
          }
          const den = Math.max(Math.abs(n.reduce((a, y, i) => a + y * q[i], 0)), 1);
          o.set(read(C, q, dk, dv, 1 / den), ((b * shape.time + t) * shape.heads + h) * dv);
        }
      }
    expect(maxDiff(referenceScan(c, shape, x).o, o)).toBeLessThan(1e-10);
  });

  it('softmax attention with a sliding window', () => {
    const { c, x } = inputsFor({ memory: { kind: 'attention', params: { window: 3 } }, bias: { kind: 'l2' }, retention: { kind: 'none' }, learner: { kind: 'closed-form' } });
    const { dk, dv, time: T, heads: H } = shape;
    const o = new Float64Array(shape.batch * T * H * dv);
    const at = (name: string, w: number, b: number, t: number, h: number) => x[name].subarray(((b * T + t) * H + h) * w, ((b * T + t) * H + h + 1) * w);
    for (let b = 0; b < shape.batch; b++)
      for (let h = 0; h < H; h++)
        for (let t = 0; t < T; t++) {
          const q = at('q', dk, b, t, h);
          const idx = [t - 2, t - 1, t].filter((i) => i >= 0);
          const sc = idx.map((i) => Math.exp(at('k', dk, b, i, h).reduce((a, y, j) => a + y * q[j], 0) / Math.sqrt(dk)));
          const z = sc.reduce((a, y) => a + y, 0);
          const out = new Float64Array(dv);
          idx.forEach((i, n) => at('v', dv, b, i, h).forEach((y, j) => (out[j] += (sc[n] / z) * y)));
          o.set(out, ((b * T + t) * H + h) * dv);
        }
    expect(maxDiff(referenceScan(c, shape, x).o, o)).toBeLessThan(1e-12);
  });

  it('Titans chunk identity: M_t = β_t M_{t′} − Σ_{i≤t} θ_i (β_t/β_i) ∇ℓ(M_{t′}; x_i) (Titans §3.2)', () => {
    const b = 4;
    const s = { ...shape, time: 11 };
    const { c, x } = inputsFor({ memory: { kind: 'matrix' }, bias: { kind: 'l2' }, retention: { kind: 'l2' }, learner: { kind: 'chunk', params: { chunkSize: b, lagToken: false } } }, s);
    const { dk, dv } = s;
    let M0 = new Float64Array(dk * dv);
    let cum = 1;
    const grads: { theta: number; cumI: number; G: Float64Array }[] = [];
    const want = tokenLoop(s, x, (S, _b, _h, t, get) => {
      if (t === 0) grads.length = 0;
      if (t % b === 0) {
        M0 = S.slice();
        cum = 1;
        grads.length = 0;
      }
      cum *= Math.exp(get('g', 1)[0]);
      const k = get('k', dk), v = get('v', dv);
      const pred = predict(M0, k, dk, dv);
      const G = new Float64Array(dk * dv);
      for (let i = 0; i < dk; i++) for (let j = 0; j < dv; j++) G[i * dv + j] = k[i] * (pred[j] - v[j]);
      grads.push({ theta: get('beta', 1)[0], cumI: cum, G });
      for (let e = 0; e < S.length; e++) S[e] = cum * M0[e] - grads.reduce((a, gi) => a + gi.theta * (cum / gi.cumI) * gi.G[e], 0);
      return read(S, get('q', dk), dk, dv);
    });
    const got = referenceScan(c, s, x);
    expect(maxDiff(got.o, want.o)).toBeLessThan(1e-12);
    expect(maxDiff(got.finalState, want.finalState)).toBeLessThan(1e-12);
  });

  it('KL retention keeps every softmax slice on the simplex (‖W‖₁ = c)', () => {
    for (const axis of ['key', 'value', 'all']) {
      const { c, x } = inputsFor({ memory: { kind: 'matrix' }, bias: { kind: 'l2' }, retention: { kind: 'kl', params: { axis, scale: 2 } }, learner: { kind: 'gd' }, block: { memoryInit: 'uniform' } });
      delete x.initialState;
      const { dk, dv } = shape;
      const fin = referenceScan(c, shape, x).finalState;
      const S = fin.subarray(0, dk * dv);
      expect(Math.min(...S)).toBeGreaterThan(0);
      const total = S.reduce((a, y) => a + y, 0);
      expect(total).toBeCloseTo(axis === 'all' ? 2 : axis === 'key' ? 2 * dv : 2 * dk, 10);
    }
  });

  it('ℓq retention with q = 2 is plain accumulation (= the scalar decay with the gradient at W_{t−1})', () => {
    const base = { memory: { kind: 'matrix' }, bias: { kind: 'lp', params: { p: 3 } }, learner: { kind: 'gd' } };
    const lq = inputsFor({ ...base, retention: { kind: 'lq', params: { q: 2 } } });
    const sc = resolveCombo({ ...base, retention: { kind: 'scalar', params: { gradientAt: 'previous' } } });
    expect(maxDiff(referenceScan(lq.c, shape, lq.x).o, referenceScan(sc, shape, lq.x).o)).toBeLessThan(1e-12);
  });

  it('momentum with η = 0 is one GD step per token', () => {
    const { c, x } = inputsFor({ memory: { kind: 'matrix' }, bias: { kind: 'huber', params: { variant: 'norm', delta: 'fixed' } }, retention: { kind: 'l2' }, learner: { kind: 'momentum' } });
    x.eta.fill(0);
    const gd = resolveCombo({ memory: { kind: 'matrix' }, bias: { kind: 'huber', params: { variant: 'norm', delta: 'fixed' } }, retention: { kind: 'l2' }, learner: { kind: 'gd' } });
    const { eta: _eta, initialState, ...rest } = x;
    void _eta;
    const S = shape.dk * shape.dv;
    const gdInputs: ScanArrays = { ...rest };
    if (initialState) {
      // the momentum state follows the memory in the layout; drop it
      const only = new Float64Array(shape.batch * shape.heads * S);
      for (let bh = 0; bh < shape.batch * shape.heads; bh++) only.set(initialState.subarray(bh * 2 * S, bh * 2 * S + S), bh * S);
      gdInputs.initialState = only;
    }
    expect(maxDiff(referenceScan(c, shape, x).o, referenceScan(gd, shape, gdInputs).o)).toBeLessThan(1e-12);
  });
});

describe('chunked-GD oracle', () => {
  it('equals the token oracle at b = 1 for random valid combinations', () => {
    const rng = new Rng(99);
    let checked = 0;
    for (let n = 0; n < 60 && checked < 16; n++) {
      const c = randomCombo(rng, { mlstm: false });
      if (c.learner.kind !== 'gd') continue;
      if ('gradientAt' in c.retention.params) c.retention.params.gradientAt = 'previous';
      const s = { batch: 1, time: 7, heads: 2, dk: 4, dv: 4 };
      const x = randomScanInputs(c, s, rng);
      const chunked = { ...c, learner: { kind: 'chunk', params: { chunkSize: 1, lagToken: rng.next() < 0.5 } } };
      const a = referenceScan(c, s, x);
      const b = referenceScan(chunked, s, x);
      expect(maxDiff(a.o, b.o)).toBeLessThan(1e-12);
      expect(maxDiff(a.finalState, b.finalState)).toBeLessThan(1e-12);
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(8);
  });
  it('differs from the token oracle for b > 1 (a different model, as miras.md §3.7 warns)', () => {
    const c = resolveCombo({ memory: { kind: 'matrix' }, bias: { kind: 'l2' }, retention: { kind: 'none' }, learner: { kind: 'gd' } });
    const x = randomScanInputs(c, shape, new Rng(5));
    const chunked = resolveCombo({ memory: { kind: 'matrix' }, bias: { kind: 'l2' }, retention: { kind: 'none' }, learner: { kind: 'chunk', params: { chunkSize: 4 } } });
    expect(maxDiff(referenceScan(c, shape, x).o, referenceScan(chunked, shape, x).o)).toBeGreaterThan(1e-3);
  });
});
