/**
 * Causal softmax attention with an optional sliding window (fla/ops/attn/naive.py semantics):
 *   o_t = Σ_{s ∈ [t−W+1, t]} softmax_s(scale · q_t·k_s) v_s,   scale = Dk^−½, W = window (∞ when null)
 * Layout [B, T, H·D] (= fla's [B, T, H, D]); q and k have head dimension Dk, v and o have Dv (Dv may differ
 * from Dk, as in a Miras softmax-attention memory with d_k ≠ d_v). Forward is an online softmax (Milakov & Gimelshein
 * 2018) per query row and saves lse [B, T, H]. Backward (FlashAttention-2, Dao 2023, Alg. 2):
 *   P = exp(scale·QKᵀ − lse), dP = dO Vᵀ, δ_t = o_t·do_t, dS = P ⊙ (dP − δ),
 *   dQ = scale·dS K,  dK = scale·dSᵀ Q,  dV = Pᵀ dO.
 * Real GPUs (`tiled`) run the blocked kernels of attention-flash.ts when the head dims allow; otherwise (and
 * on CPU emulation) one thread per query row (dQ) or key row (dK, dV); Dk and Dv are baked in as private-array lengths.
 */
import { numel, shapeStr, type Tensor } from '../ir/graph';
import type { OpDef, TensorType } from '../ir/op';
import { f, threadKernel, u, rd, rw } from './wgsl';
import { flashDelta, flashDkDv, flashDq, flashFits, flashForward } from './attention-flash';

export interface AttentionAttrs {
  heads: number;
  /** Sliding window (the query sees itself and window−1 earlier tokens); null = full causal. */
  window: number | null;
}

function dims(ins: TensorType[], a: AttentionAttrs) {
  const q = ins[0];
  if (q.shape.length !== 3 && q.shape.length !== 4) throw new Error(`q must be [B, T, H·D] or [B, T, H, D], got ${shapeStr(q.shape)}`);
  const [B, T] = q.shape;
  const [k, v] = [ins[1], ins[2]];
  const HD = numel(q.shape.slice(2));
  const HDv = numel(v.shape.slice(2));
  if (!Number.isInteger(a.heads) || a.heads < 1 || HD % a.heads || HDv % a.heads) throw new Error(`${HD} query/key channels and ${HDv} value channels do not both split into ${a.heads} heads`);
  for (const t of ins) if (t.dtype !== 'f32') throw new Error('q, k, v must be f32');
  if (numel(k.shape) !== numel(q.shape) || k.shape[0] !== B) throw new Error(`q and k must have the same shape; got ${shapeStr(q.shape)} and ${shapeStr(k.shape)}`);
  if (v.shape.length !== q.shape.length || v.shape[0] !== B || v.shape[1] !== T || (q.shape.length === 4 && v.shape[2] !== q.shape[2])) {
    throw new Error(`v must be [B, T, H·Dv] or [B, T, H, Dv] like q (${shapeStr(q.shape)}); got ${shapeStr(v.shape)}`);
  }
  if (a.window !== null && !(Number.isInteger(a.window) && a.window >= 1)) throw new Error(`window must be a positive integer or null, got ${a.window}`);
  return { B, T, H: a.heads, D: HD / a.heads, Dv: HDv / a.heads, W: a.window ?? T };
}

export const attentionOp: OpDef<AttentionAttrs> = {
  name: 'attention',
  infer(ins, a) {
    if (ins.length !== 3) throw new Error('attention takes q, k, v');
    const { B, T, H } = dims(ins, a);
    return [
      { shape: ins[2].shape, dtype: 'f32' },
      { shape: [B, T, H], dtype: 'f32' },
    ];
  },
  differentiable: () => [true, false],
  // δ = rowsum(o ⊙ do) for the tiled backward.
  scratch(c) {
    const { B, T, H } = dims(c.ins, c.attrs);
    return [{ name: 'delta', bytes: B * T * H * 4 }];
  },
  forward([q, k, v], c) {
    const { B, T, H, D, Dv, W } = dims(c.ins, c.attrs);
    const scale = 1 / Math.sqrt(D);
    const o = new Float64Array(v.length);
    const lse = new Float64Array(B * T * H);
    const p = new Float64Array(T);
    for (let b = 0; b < B; b++)
      for (let h = 0; h < H; h++)
        for (let t = 0; t < T; t++) {
          const qo = ((b * T + t) * H + h) * D;
          const oo = ((b * T + t) * H + h) * Dv;
          const s0 = Math.max(0, t - W + 1);
          let m = -Infinity;
          for (let s = s0; s <= t; s++) {
            let dot = 0;
            for (let d = 0; d < D; d++) dot += q[qo + d] * k[((b * T + s) * H + h) * D + d];
            p[s] = scale * dot;
            m = Math.max(m, p[s]);
          }
          let l = 0;
          for (let s = s0; s <= t; s++) l += (p[s] = Math.exp(p[s] - m));
          for (let s = s0; s <= t; s++) for (let d = 0; d < Dv; d++) o[oo + d] += (p[s] / l) * v[((b * T + s) * H + h) * Dv + d];
          lse[(b * T + t) * H + h] = m + Math.log(l);
        }
    return [o, lse];
  },
  backward([q, k, v], [o, lse], [g], c) {
    const { B, T, H, D, Dv, W } = dims(c.ins, c.attrs);
    const scale = 1 / Math.sqrt(D);
    const gq = new Float64Array(q.length);
    const gk = new Float64Array(k.length);
    const gv = new Float64Array(v.length);
    if (!g) return [gq, gk, gv];
    const row = (b: number, t: number, h: number) => ((b * T + t) * H + h) * D;
    const rowV = (b: number, t: number, h: number) => ((b * T + t) * H + h) * Dv;
    for (let b = 0; b < B; b++)
      for (let h = 0; h < H; h++)
        for (let t = 0; t < T; t++) {
          const qt = row(b, t, h);
          const ot = rowV(b, t, h);
          let delta = 0;
          for (let d = 0; d < Dv; d++) delta += o[ot + d] * g[ot + d];
          for (let s = Math.max(0, t - W + 1); s <= t; s++) {
            const ks = row(b, s, h);
            const vs = rowV(b, s, h);
            let dot = 0;
            let dp = 0;
            for (let d = 0; d < D; d++) dot += q[qt + d] * k[ks + d];
            for (let d = 0; d < Dv; d++) dp += g[ot + d] * v[vs + d];
            const p = Math.exp(scale * dot - lse[(b * T + t) * H + h]);
            const ds = p * (dp - delta);
            for (let d = 0; d < D; d++) {
              gq[qt + d] += scale * ds * k[ks + d];
              gk[ks + d] += scale * ds * q[qt + d];
            }
            for (let d = 0; d < Dv; d++) gv[vs + d] += p * g[ot + d];
          }
        }
    return [gq, gk, gv];
  },
  kernels: {
    forward(c) {
      const { B, T, H, D, Dv, W } = dims(c.ins, c.attrs);
      if (c.tiled && flashFits({ B, T, H, D, Dv, W }, c.caps)) {
        return [flashForward(`${c.label}:fwd`, { B, T, H, D, Dv, W }, { q: c.in[0], k: c.in[1], v: c.in[2], o: c.out[0], lse: c.out[1] }, c.caps)];
      }
      return [
        threadKernel({
          name: `${c.label}:fwd`,
          caps: c.caps,
          binds: [
            rd('q', c.in[0]),
            rd('k', c.in[1]),
            rd('v', c.in[2]),
            rw('o', c.out[0]),
            rw('lse', c.out[1]),
          ],
          total: B * T * H,
          body: `  let h = i % ${u(H)}; let bt = i / ${u(H)}; let t = bt % ${u(T)}; let b = bt / ${u(T)};
  let qo = i * ${u(D)};
  var acc: array<f32, ${Dv}>;
  var m = -3.0e38; var l = 0.0;
  let s0 = select(0u, t + 1u - ${u(W)}, t + 1u >= ${u(W)});
  for (var s = s0; s <= t; s++) {
    let kv = (b * ${u(T)} + s) * ${u(H)} + h;
    let ko = kv * ${u(D)};
    let vo = kv * ${u(Dv)};
    var dot = 0.0;
    for (var d = 0u; d < ${u(D)}; d++) { dot += q[qo + d] * k[ko + d]; }
    dot = dot * ${f(1 / Math.sqrt(D))};
    let mn = max(m, dot);
    let corr = exp(m - mn);
    let p = exp(dot - mn);
    l = l * corr + p;
    for (var d = 0u; d < ${u(Dv)}; d++) { acc[d] = acc[d] * corr + p * v[vo + d]; }
    m = mn;
  }
  for (var d = 0u; d < ${u(Dv)}; d++) { o[i * ${u(Dv)} + d] = acc[d] / l; }
  lse[i] = m + log(l);`,
        }),
      ];
    },
    backward(c) {
      const { B, T, H, D, Dv, W } = dims(c.ins, c.attrs);
      const fs = { B, T, H, D, Dv, W };
      if (c.tiled && flashFits(fs, c.caps)) {
        const io = { q: c.in[0], k: c.in[1], v: c.in[2], lse: c.out[1], g: c.gout[0]!, delta: c.scratch('delta') };
        return [
          flashDelta(`${c.label}:delta`, fs, { o: c.out[0], g: c.gout[0]!, delta: io.delta }, c.caps),
          flashDq(`${c.label}:dq`, fs, { ...io, gq: c.gin[0]! }, c.caps),
          flashDkDv(`${c.label}:dkdv`, fs, { ...io, gk: c.gin[1]!, gv: c.gin[2]! }, c.caps),
        ];
      }
      const scale = f(1 / Math.sqrt(D));
      // me: this row in q/k/gq/gk (Dk wide); mv: this row in v/o/g/gv (Dv wide).
      const head = `  let h = i % ${u(H)}; let bt = i / ${u(H)}; let t0 = bt % ${u(T)}; let b = bt / ${u(T)};
  let me = i * ${u(D)}; let mv = i * ${u(Dv)};`;
      // Both backward kernels read the inputs, the saved output and lse, and the output gradient.
      const saved = [rd('q', c.in[0]), rd('k', c.in[1]), rd('v', c.in[2]), rd('o', c.out[0]), rd('lse', c.out[1]), rd('g', c.gout[0]!)];
      const rowOf = (t: string) => `((b * ${u(T)} + ${t}) * ${u(H)} + h)`;
      return [
        threadKernel({
          name: `${c.label}:dq`,
          caps: c.caps,
          binds: [...saved, rw('gq', c.gin[0]!)],
          total: B * T * H,
          body: `${head}
  var delta = 0.0;
  for (var d = 0u; d < ${u(Dv)}; d++) { delta += o[mv + d] * g[mv + d]; }
  var acc: array<f32, ${D}>;
  let s0 = select(0u, t0 + 1u - ${u(W)}, t0 + 1u >= ${u(W)});
  for (var s = s0; s <= t0; s++) {
    let ko = ${rowOf('s')} * ${u(D)};
    let vo = ${rowOf('s')} * ${u(Dv)};
    var dot = 0.0; var dp = 0.0;
    for (var d = 0u; d < ${u(D)}; d++) { dot += q[me + d] * k[ko + d]; }
    for (var d = 0u; d < ${u(Dv)}; d++) { dp += g[mv + d] * v[vo + d]; }
    let ds = exp(${scale} * dot - lse[i]) * (dp - delta);
    for (var d = 0u; d < ${u(D)}; d++) { acc[d] += ds * k[ko + d]; }
  }
  for (var d = 0u; d < ${u(D)}; d++) { gq[me + d] += ${scale} * acc[d]; }`,
        }),
        threadKernel({
          name: `${c.label}:dkdv`,
          caps: c.caps,
          binds: [...saved, rw('gk', c.gin[1]!), rw('gv', c.gin[2]!)],
          total: B * T * H,
          body: `${head}
  var ak: array<f32, ${D}>;
  var av: array<f32, ${Dv}>;
  let tEnd = min(${u(T)}, t0 + ${u(W)});
  for (var t = t0; t < tEnd; t++) {
    let qo = ${rowOf('t')};
    var dot = 0.0; var dp = 0.0; var delta = 0.0;
    for (var d = 0u; d < ${u(D)}; d++) { dot += q[qo * ${u(D)} + d] * k[me + d]; }
    for (var d = 0u; d < ${u(Dv)}; d++) {
      let gd = g[qo * ${u(Dv)} + d];
      dp += gd * v[mv + d]; delta += o[qo * ${u(Dv)} + d] * gd;
    }
    let p = exp(${scale} * dot - lse[qo]);
    let ds = p * (dp - delta);
    for (var d = 0u; d < ${u(D)}; d++) { ak[d] += ds * q[qo * ${u(D)} + d]; }
    for (var d = 0u; d < ${u(Dv)}; d++) { av[d] += p * g[qo * ${u(Dv)} + d]; }
  }
  for (var d = 0u; d < ${u(D)}; d++) { gk[me + d] += ${scale} * ak[d]; }
  for (var d = 0u; d < ${u(Dv)}; d++) { gv[mv + d] += av[d]; }`,
        }),
      ];
    },
  },
};

export function attention(q: Tensor, k: Tensor, v: Tensor, attrs: AttentionAttrs, name = 'attention'): Tensor {
  return q.graph.apply(attentionOp, [q, k, v], attrs, name)[0];
}
