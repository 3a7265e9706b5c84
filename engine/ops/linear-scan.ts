/**
 * Plain causal linear attention as a ScanProvider (Katharopoulos et al. 2020, unnormalised, as
 * fla/ops/linear_attn/naive.py with normalize=False): the first occupant of the scan slot.
 *   S_t = S_{t−1} + k_t v_tᵀ,   o_t = scale · S_tᵀ q_t,   scale = dk^−½      (fla S form, S ∈ R^{dk×dv})
 * Backward:  dq_t = scale · S_t do_t;  dS_t = dS_final + Σ_{t'≥t} scale q_t' do_t'ᵀ;
 *            dk_t = dS_t v_t;  dv_t = dS_tᵀ k_t.
 * Kernels: one thread per (batch, head, column) walking time and holding a state column in registers.
 */
import type { DeviceCaps, KernelSpec } from '../plan/kernel';
import type { ScanProvider, ScanShape } from '../ir/scan';
import { f, rd, rw, threadKernel, u } from './wgsl';

const at = (s: ScanShape, b: number, t: number, h: number, d: number, D: number) => ((b * s.time + t) * s.heads + h) * D + d;

export function linearAttentionReference(x: Record<string, Float64Array>, s: ScanShape) {
  const { batch: B, time: T, heads: H, dk, dv } = s;
  const scale = 1 / Math.sqrt(dk);
  const o = new Float64Array(B * T * H * dv);
  const finalState = new Float64Array(B * H * dk * dv);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const S = new Float64Array(dk * dv);
      for (let t = 0; t < T; t++) {
        for (let i = 0; i < dk; i++) {
          const ki = x.k[at(s, b, t, h, i, dk)];
          for (let j = 0; j < dv; j++) S[i * dv + j] += ki * x.v[at(s, b, t, h, j, dv)];
        }
        for (let j = 0; j < dv; j++) {
          let acc = 0;
          for (let i = 0; i < dk; i++) acc += S[i * dv + j] * x.q[at(s, b, t, h, i, dk)];
          o[at(s, b, t, h, j, dv)] = scale * acc;
        }
      }
      finalState.set(S, (b * H + h) * dk * dv);
    }
  return { o, finalState };
}

export function linearAttentionReferenceBackward(x: Record<string, Float64Array>, g: Record<string, Float64Array>, s: ScanShape) {
  const { batch: B, time: T, heads: H, dk, dv } = s;
  const scale = 1 / Math.sqrt(dk);
  const dq = new Float64Array(x.q.length);
  const dkk = new Float64Array(x.k.length);
  const dvv = new Float64Array(x.v.length);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const S = new Float64Array(dk * dv);
      for (let t = 0; t < T; t++) {
        for (let i = 0; i < dk; i++)
          for (let j = 0; j < dv; j++) S[i * dv + j] += x.k[at(s, b, t, h, i, dk)] * x.v[at(s, b, t, h, j, dv)];
        for (let i = 0; i < dk; i++) {
          let acc = 0;
          for (let j = 0; j < dv; j++) acc += S[i * dv + j] * g.o[at(s, b, t, h, j, dv)];
          dq[at(s, b, t, h, i, dk)] = scale * acc;
        }
      }
      const dS = g.finalState.slice((b * H + h) * dk * dv, (b * H + h + 1) * dk * dv);
      for (let t = T - 1; t >= 0; t--) {
        for (let i = 0; i < dk; i++)
          for (let j = 0; j < dv; j++) dS[i * dv + j] += scale * x.q[at(s, b, t, h, i, dk)] * g.o[at(s, b, t, h, j, dv)];
        for (let i = 0; i < dk; i++) {
          let acc = 0;
          for (let j = 0; j < dv; j++) acc += dS[i * dv + j] * x.v[at(s, b, t, h, j, dv)];
          dkk[at(s, b, t, h, i, dk)] = acc;
        }
        for (let j = 0; j < dv; j++) {
          let acc = 0;
          for (let i = 0; i < dk; i++) acc += dS[i * dv + j] * x.k[at(s, b, t, h, i, dk)];
          dvv[at(s, b, t, h, j, dv)] = acc;
        }
      }
    }
  return { q: dq, k: dkk, v: dvv };
}

function kernels(caps: DeviceCaps, s: ScanShape): { forward: KernelSpec[]; backward: KernelSpec[]; scratch: [] } {
  const { batch: B, time: T, heads: H, dk, dv } = s;
  const scale = f(1 / Math.sqrt(dk));
  // Index helpers: row (b, t, h) base offsets for D-wide vectors.
  const prelude = `
fn rowk(b: u32, t: u32, h: u32) -> u32 { return ((b * ${u(T)} + t) * ${u(H)} + h) * ${u(dk)}; }
fn rowv(b: u32, t: u32, h: u32) -> u32 { return ((b * ${u(T)} + t) * ${u(H)} + h) * ${u(dv)}; }`;
  // WGSL names follow the provider's buffer names ("grad.o" → grad_o).
  const r = (name: string) => rd(name.replace('.', '_'), name);
  const w = (name: string) => rw(name.replace('.', '_'), name);
  // Thread → (b, h, c) with c a column index of width C.
  const split = (C: number) => `  let c = i % ${u(C)}; let bh = i / ${u(C)}; let h = bh % ${u(H)}; let b = bh / ${u(H)};`;
  const forward = threadKernel({
    name: 'linear_attn_fwd',
    caps,
    binds: [r('q'), r('k'), r('v'), w('o'), w('finalState')],
    total: B * H * dv,
    prelude,
    body: `${split(dv)}
  var S: array<f32, ${dk}>;
  for (var t = 0u; t < ${u(T)}; t++) {
    let vj = v[rowv(b, t, h) + c];
    var acc = 0.0;
    for (var d = 0u; d < ${u(dk)}; d++) {
      S[d] += k[rowk(b, t, h) + d] * vj;
      acc += S[d] * q[rowk(b, t, h) + d];
    }
    o[rowv(b, t, h) + c] = ${scale} * acc;
  }
  for (var d = 0u; d < ${u(dk)}; d++) { finalState[(bh * ${u(dk)} + d) * ${u(dv)} + c] = S[d]; }`,
  });
  const dq = threadKernel({
    name: 'linear_attn_bwd_dq',
    caps,
    binds: [r('k'), r('v'), r('grad.o'), w('grad.q')],
    total: B * H * dk,
    prelude,
    body: `${split(dk)}
  var S: array<f32, ${dv}>;
  for (var t = 0u; t < ${u(T)}; t++) {
    let ki = k[rowk(b, t, h) + c];
    var acc = 0.0;
    for (var j = 0u; j < ${u(dv)}; j++) {
      S[j] += ki * v[rowv(b, t, h) + j];
      acc += S[j] * grad_o[rowv(b, t, h) + j];
    }
    grad_q[rowk(b, t, h) + c] += ${scale} * acc;
  }`,
  });
  const dk_ = threadKernel({
    name: 'linear_attn_bwd_dk',
    caps,
    binds: [r('q'), r('v'), r('grad.o'), r('grad.finalState'), w('grad.k')],
    total: B * H * dk,
    prelude,
    body: `${split(dk)}
  var dS: array<f32, ${dv}>;
  for (var j = 0u; j < ${u(dv)}; j++) { dS[j] = grad_finalState[(bh * ${u(dk)} + c) * ${u(dv)} + j]; }
  for (var tt = 0u; tt < ${u(T)}; tt++) {
    let t = ${u(T - 1)} - tt;
    let qi = ${scale} * q[rowk(b, t, h) + c];
    var acc = 0.0;
    for (var j = 0u; j < ${u(dv)}; j++) {
      dS[j] += qi * grad_o[rowv(b, t, h) + j];
      acc += dS[j] * v[rowv(b, t, h) + j];
    }
    grad_k[rowk(b, t, h) + c] += acc;
  }`,
  });
  const dv_ = threadKernel({
    name: 'linear_attn_bwd_dv',
    caps,
    binds: [r('q'), r('k'), r('grad.o'), r('grad.finalState'), w('grad.v')],
    total: B * H * dv,
    prelude,
    body: `${split(dv)}
  var dS: array<f32, ${dk}>;
  for (var d = 0u; d < ${u(dk)}; d++) { dS[d] = grad_finalState[(bh * ${u(dk)} + d) * ${u(dv)} + c]; }
  for (var tt = 0u; tt < ${u(T)}; tt++) {
    let t = ${u(T - 1)} - tt;
    let g = ${scale} * grad_o[rowv(b, t, h) + c];
    var acc = 0.0;
    for (var d = 0u; d < ${u(dk)}; d++) {
      dS[d] += q[rowk(b, t, h) + d] * g;
      acc += dS[d] * k[rowk(b, t, h) + d];
    }
    grad_v[rowv(b, t, h) + c] += acc;
  }`,
  });
  return { forward: [forward], backward: [dq, dk_, dv_], scratch: [] };
}

export const linearAttentionProvider: ScanProvider = {
  id: 'linear-attention',
  inputs: (s) => [
    { name: 'q', shape: [s.batch, s.time, s.heads, s.dk] },
    { name: 'k', shape: [s.batch, s.time, s.heads, s.dk] },
    { name: 'v', shape: [s.batch, s.time, s.heads, s.dv] },
  ],
  outputs: (s) => [
    { name: 'o', shape: [s.batch, s.time, s.heads, s.dv] },
    { name: 'finalState', shape: [s.batch, s.heads, s.dk, s.dv] },
  ],
  referenceForward: linearAttentionReference,
  referenceBackward: linearAttentionReferenceBackward,
  kernels,
};
