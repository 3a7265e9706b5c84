/**
 * Float64 mirror of the fused recurrent kernel: the same recurrence (engine/miras/math/combo.ts) with the
 * same per-option expressions compiled to JS (engine/miras/math/expr.ts), forward and hand-written
 * reverse-mode backward. Tests check its backward against finite differences of its forward, and the
 * WGSL kernels against it; B1's independent oracle (engine/miras/reference/) is the third check.
 */
import { jsExpr } from '../math/expr';
import { mlstmF64 } from './mlstm-f64';
import { comboInputs, initValue, stateSize, type Combo, type ScanDims } from '../math/combo';

type F64 = Float64Array;
type Fn = (...a: number[]) => number;

interface Compiled {
  g: Fn;
  de: Fn;
  ddelta: Fn;
  fwdSums: Fn[];
  bwdSums: Fn[];
  post: Fn | null;
  postD: Fn | null;
  norm: { term: Fn; f: Fn; fd: Fn; dterm: Fn; pn: number; expo: number } | null;
}

const R_ARGS = ['r0', 'r1', 'r2'];
const S_ARGS = ['s0', 's1', 's2'];

function compile(c: Combo): Compiled {
  const b = c.bias;
  const gArgs = ['e', 'dl', ...R_ARGS];
  const bArgs = ['e', 'dg', 'dl', ...R_ARGS, ...S_ARGS];
  return {
    g: jsExpr(gArgs, b.g),
    de: jsExpr(bArgs, b.de),
    ddelta: jsExpr(bArgs, b.ddelta),
    fwdSums: b.fwdSums.map((x) => jsExpr(gArgs, x)),
    bwdSums: b.bwdSums.map((x) => jsExpr(bArgs, x)),
    post: c.retention.post ? jsExpr(['z'], c.retention.post.map) : null,
    postD: c.retention.post ? jsExpr(['z'], c.retention.post.deriv) : null,
    norm: c.retention.norm
      ? {
          term: jsExpr(['a'], c.retention.norm.term),
          f: jsExpr(['a'], c.retention.norm.f),
          fd: jsExpr(['a'], c.retention.norm.fd),
          dterm: jsExpr(['a'], c.retention.norm.dterm),
          pn: c.retention.norm.pn,
          expo: c.retention.norm.expo,
        }
      : null,
  };
}

/** Index groups of the KL softmax slices of S [dk, dv]. */
function slices(c: Combo, dk: number, dv: number): number[][] {
  const ax = c.retention.simplex!.axis;
  if (ax === 'all') return [Array.from({ length: dk * dv }, (_, a) => a)];
  if (ax === 'key') return Array.from({ length: dv }, (_, j) => Array.from({ length: dk }, (_, i) => i * dv + j));
  return Array.from({ length: dk }, (_, i) => Array.from({ length: dv }, (_, j) => i * dv + j));
}

/** The memory read and differentiated: N(A) for ℓq retention, else the carried state itself. */
function effective(fx: Compiled, A: F64): F64 {
  const nm = fx.norm;
  if (!nm) return A;
  let sum = 0;
  for (let a = 0; a < A.length; a++) sum += nm.term(A[a]);
  const sc = Math.pow(sum, -nm.expo / nm.pn);
  return A.map((x) => nm.f(x) * sc);
}

/** VJP of `effective` at A for the upstream v. */
function effectiveVjp(fx: Compiled, A: F64, v: F64): F64 {
  const nm = fx.norm;
  if (!nm) return v;
  let sum = 0;
  let vf = 0;
  for (let a = 0; a < A.length; a++) {
    sum += nm.term(A[a]);
    vf += v[a] * nm.f(A[a]);
  }
  const n = Math.pow(sum, 1 / nm.pn);
  const sc = Math.pow(n, -nm.expo);
  const k2 = nm.expo * Math.pow(n, -nm.expo - nm.pn) * vf;
  return A.map((x, a) => v[a] * nm.fd(x) * sc - k2 * nm.dterm(x));
}

/** Per-step intermediate values of one head, shared by forward and backward. */
interface Step {
  lam: F64; // [dk]
  eta: F64; // [dk*dv] effective step size per entry (per head, or per value column)
  c: F64; // [dk] coupling of the step
  dl: number;
  P: F64; // [dk*dv] gradient point
  e: F64; // [dk*dv] (matrix: row 0 only is used as [dv])
  G: F64; // [dk*dv] bias gradient (matrix: [dv] in row 0)
  r: number[][]; // forward sums per group
  U: F64; // [dk*dv]
  mm: number; // momentum decay
  Mnew: F64 | null;
  step: F64;
  Z: F64;
  Snew: F64;
  /** the memory read after the step (N(Snew) for ℓq) */
  Wnew: F64;
}

export interface F64Result {
  o: F64;
  finalState: F64;
}

function ctx(c: Combo, s: ScanDims) {
  const { batch: B, time: T, heads: H, dk, dv } = s;
  const Ts = T * c.steps;
  const ix = (tn: number, b: number, t: number, h: number, d: number, D: number) => ((b * tn + t) * H + h) * D + d;
  return { B, T, H, dk, dv, Ts, ix };
}

function runStep(c: Combo, s: ScanDims, fx: Compiled, x: Record<string, F64>, b: number, h: number, tau: number, S: F64, M: F64 | null, P0: F64 | null): Step {
  const { T, dk, dv, Ts, ix } = ctx(c, s);
  const t = Math.floor(tau / c.steps);
  const j = tau % c.steps;
  const lam = new Float64Array(dk).fill(1);
  if (j === 0) {
    const r = c.retention;
    for (let i = 0; i < dk; i++) {
      if (r.decay === 'constant') lam[i] = r.gammas![h];
      else if (r.decay === 'scalar') lam[i] = Math.exp(x.g[ix(T, b, t, h, 0, 1)]);
      else if (r.decay === 'channel') lam[i] = Math.exp(x.g[ix(T, b, t, h, i, dk)]);
    }
  }
  const k = (i: number) => x.k[ix(Ts, b, tau, h, i, dk)];
  const v = (jj: number) => x.v[ix(Ts, b, tau, h, jj, dv)];
  const betaAt = (jj: number) => (!c.hasBeta ? 1 : c.betaPerChannel ? x.beta[ix(Ts, b, tau, h, jj, dv)] : x.beta[ix(Ts, b, tau, h, 0, 1)]);
  let kk = 0;
  for (let i = 0; i < dk; i++) kk += k(i) * k(i);
  const eta = new Float64Array(dk * dv);
  for (let i = 0; i < dk; i++)
    for (let jj = 0; jj < dv; jj++) {
      const bt = betaAt(jj);
      eta[i * dv + jj] = c.learner === 'implicit' ? bt / (1 + bt * kk) : bt;
    }
  const cc = new Float64Array(dk);
  for (let i = 0; i < dk; i++) cc[i] = c.retention.coupled ? lam[i] : 1;
  const dl = c.bias.delta === 'data' ? x.delta[ix(Ts, b, tau, h, 0, 1)] : c.bias.deltaValue;
  const N = dk * dv;
  const Seff = effective(fx, S);
  const P = new Float64Array(N);
  for (let i = 0; i < dk; i++)
    for (let jj = 0; jj < dv; jj++) {
      const a = i * dv + jj;
      P[a] = c.learner === 'chunk' ? P0![a] : c.gradAt === 'retained' ? lam[i] * S[a] : Seff[a];
    }
  const e = new Float64Array(N);
  const G = new Float64Array(N);
  const r: number[][] = [];
  if (c.bias.hebbian) {
    for (let i = 0; i < dk; i++) for (let jj = 0; jj < dv; jj++) G[i * dv + jj] = -v(jj);
  } else if (c.memory === 'matrix') {
    for (let jj = 0; jj < dv; jj++) {
      let y = 0;
      for (let i = 0; i < dk; i++) y += P[i * dv + jj] * k(i);
      e[jj] = y - v(jj);
    }
    const rr = fx.fwdSums.map((f) => {
      let acc = 0;
      for (let jj = 0; jj < dv; jj++) acc += f(e[jj], dl, 0, 0, 0);
      return acc;
    });
    r.push(rr);
    for (let jj = 0; jj < dv; jj++) {
      const gj = fx.g(e[jj], dl, rr[0] ?? 0, rr[1] ?? 0, rr[2] ?? 0);
      for (let i = 0; i < dk; i++) G[i * dv + jj] = gj;
    }
  } else {
    for (let i = 0; i < dk; i++) {
      for (let jj = 0; jj < dv; jj++) e[i * dv + jj] = k(i) * P[i * dv + jj] - v(jj);
      const rr = fx.fwdSums.map((f) => {
        let acc = 0;
        for (let jj = 0; jj < dv; jj++) acc += f(e[i * dv + jj], dl, 0, 0, 0);
        return acc;
      });
      r.push(rr);
      for (let jj = 0; jj < dv; jj++) G[i * dv + jj] = fx.g(e[i * dv + jj], dl, rr[0] ?? 0, rr[1] ?? 0, rr[2] ?? 0);
    }
  }
  const U = new Float64Array(N);
  for (let i = 0; i < dk; i++) for (let jj = 0; jj < dv; jj++) U[i * dv + jj] = eta[i * dv + jj] * k(i) * G[i * dv + jj];
  let mm = 1;
  let Mnew: F64 | null = null;
  let step = U;
  if (c.learner === 'momentum') {
    mm = x.eta[ix(T, b, t, h, 0, 1)];
    Mnew = new Float64Array(N);
    step = new Float64Array(N);
    for (let a = 0; a < N; a++) {
      Mnew[a] = mm * M![a] - U[a];
      step[a] = -Mnew[a];
    }
  }
  const Z = new Float64Array(N);
  const Snew = new Float64Array(N);
  const sx = c.retention.simplex;
  for (let i = 0; i < dk; i++)
    for (let jj = 0; jj < dv; jj++) {
      const a = i * dv + jj;
      Z[a] = (sx ? lam[i] * Math.log(S[a]) : lam[i] * S[a]) - cc[i] * step[a];
      Snew[a] = fx.post ? fx.post(Z[a]) : Z[a];
    }
  if (sx) for (const idx of slices(c, dk, dv)) {
    let mx = -Infinity;
    for (const a of idx) mx = Math.max(mx, Z[a]);
    let sum = 0;
    for (const a of idx) sum += Math.exp(Z[a] - mx);
    for (const a of idx) Snew[a] = (sx.scale * Math.exp(Z[a] - mx)) / sum;
  }
  return { lam, eta, c: cc, dl, P, e, G, r, U, mm, Mnew, step, Z, Snew, Wnew: effective(fx, Snew) };
}

/** Forward: outputs o [B,T,H,dv] and finalState [B,H,dk,dv]. `states` (optional) receives S before every sub-step. */
export function f64Forward(c: Combo, s: ScanDims, x: Record<string, F64>, keep?: { S: F64[][]; M: F64[][] }): F64Result {
  checkInputs(c, s, x);
  if (c.mlstm) return mlstmF64(c, s, x);
  const { B, T, H, dk, dv, Ts, ix } = ctx(c, s);
  const fx = compile(c);
  const o = new Float64Array(B * T * H * dv);
  const SZ = stateSize(c, s);
  const finalState = new Float64Array(B * H * SZ);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const init = initialState(c, s, x, h);
      let S: F64 = init.S;
      let M: F64 | null = init.M;
      let P0: F64 | null = null;
      const Ss: F64[] = [];
      const Ms: F64[] = [];
      for (let tau = 0; tau < Ts; tau++) {
        if (c.learner === 'chunk' && tau % c.chunk === 0) P0 = effective(fx, S);
        Ss.push(S);
        if (M) Ms.push(M);
        const st = runStep(c, s, fx, x, b, h, tau, S, M, P0);
        S = st.Snew;
        M = st.Mnew;
        if (c.lagToken && tau % c.chunk === 0) P0 = effective(fx, S);
        if (tau % c.steps === c.steps - 1) {
          const t = Math.floor(tau / c.steps);
          for (let jj = 0; jj < dv; jj++) {
            let acc = 0;
            for (let i = 0; i < dk; i++) acc += st.Wnew[i * dv + jj] * x.q[ix(T, b, t, h, i, dk)];
            o[ix(T, b, t, h, jj, dv)] = c.scale * acc;
          }
        }
      }
      finalState.set(S, (b * H + h) * SZ);
      if (M) finalState.set(M, (b * H + h) * SZ + dk * dv);
      if (keep) {
        keep.S.push(Ss);
        keep.M.push(Ms);
      }
    }
  return { o, finalState };
}

/** Backward: gradients of every input, given grad.o and grad.finalState. */
export function f64Backward(c: Combo, s: ScanDims, x: Record<string, F64>, gy: { o: F64; finalState?: F64 }): Record<string, F64> {
  if (c.mlstm) return mlstmF64(c, s, x, gy).grads!;
  const { B, T, H, dk, dv, Ts, ix } = ctx(c, s);
  const fx = compile(c);
  const keep = { S: [] as F64[][], M: [] as F64[][] };
  f64Forward(c, s, x, keep);
  const grads: Record<string, F64> = {};
  for (const d of comboInputs(c, s)) grads[d.name] = new Float64Array(d.shape.reduce((a, b) => a * b, 1));
  const N = dk * dv;
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const bh = b * H + h;
      const Ss = keep.S[bh];
      const Ms = keep.M[bh];
      const SZ = stateSize(c, s);
      let dS: F64 = gy.finalState ? gy.finalState.slice(bh * SZ, bh * SZ + N) : new Float64Array(N);
      let dM: F64 = gy.finalState && c.learner === 'momentum' ? gy.finalState.slice(bh * SZ + N, bh * SZ + 2 * N) : new Float64Array(N);
      let dP0 = new Float64Array(N);
      // gradient w.r.t. the memory read after the step being processed (W = N(S) for ℓq), not yet pulled back
      let dWpend = new Float64Array(N);
      for (let tau = Ts - 1; tau >= 0; tau--) {
        const t = Math.floor(tau / c.steps);
        const jsub = tau % c.steps;
        const S = Ss[tau];
        const chunkStart = c.learner === 'chunk' ? tau - (tau % c.chunk) : 0;
        // the chunk's anchor: the memory at its start, or after its first (lag) token
        const anchorAt = c.lagToken && tau !== chunkStart ? chunkStart + 1 : chunkStart;
        const P0 = c.learner === 'chunk' ? effective(fx, Ss[anchorAt]) : null;
        if (c.lagToken && tau === chunkStart) {
          // gradients of the tokens anchored after the lag token flow into the lag token's output memory
          for (let a = 0; a < N; a++) dWpend[a] += dP0[a];
          dP0 = new Float64Array(N);
        }
        const st = runStep(c, s, fx, x, b, h, tau, S, Ms.length ? Ms[tau] : null, P0);
        const k = (i: number) => x.k[ix(Ts, b, tau, h, i, dk)];
        dS = dS.slice();
        if (jsub === c.steps - 1) {
          for (let i = 0; i < dk; i++) {
            let acc = 0;
            for (let jj = 0; jj < dv; jj++) acc += st.Wnew[i * dv + jj] * gy.o[ix(T, b, t, h, jj, dv)];
            grads.q[ix(T, b, t, h, i, dk)] += c.scale * acc;
            const qi = x.q[ix(T, b, t, h, i, dk)];
            for (let jj = 0; jj < dv; jj++) dWpend[i * dv + jj] += c.scale * qi * gy.o[ix(T, b, t, h, jj, dv)];
          }
        }
        {
          const pulled = effectiveVjp(fx, st.Snew, dWpend);
          for (let a = 0; a < N; a++) dS[a] += pulled[a];
          dWpend = new Float64Array(N);
        }
        const dZ = new Float64Array(N);
        for (let a = 0; a < N; a++) dZ[a] = fx.postD ? fx.postD(st.Z[a]) * dS[a] : dS[a];
        const sx = c.retention.simplex;
        if (sx) {
          // W = c·softmax(Z) per slice: dZ = W ⊙ (dW − Σ dW ⊙ W / c)
          for (const idx of slices(c, dk, dv)) {
            let d = 0;
            for (const a of idx) d += (dS[a] * st.Snew[a]) / sx.scale;
            for (const a of idx) dZ[a] = st.Snew[a] * (dS[a] - d);
          }
        }
        const dlam = new Float64Array(dk);
        const dSprev = new Float64Array(N);
        const dstep = new Float64Array(N);
        for (let i = 0; i < dk; i++)
          for (let jj = 0; jj < dv; jj++) {
            const a = i * dv + jj;
            dlam[i] += (sx ? Math.log(S[a]) : S[a]) * dZ[a];
            if (c.retention.coupled) dlam[i] -= st.step[a] * dZ[a];
            dstep[a] = -st.c[i] * dZ[a];
            dSprev[a] = sx ? (st.lam[i] * dZ[a]) / S[a] : st.lam[i] * dZ[a];
          }
        let dU = dstep;
        if (c.learner === 'momentum') {
          const dMn = new Float64Array(N);
          let dmm = 0;
          const Mprev = Ms[tau];
          for (let a = 0; a < N; a++) {
            dMn[a] = dM[a] - dstep[a];
            dmm += Mprev[a] * dMn[a];
          }
          dU = new Float64Array(N);
          const dMp = new Float64Array(N);
          for (let a = 0; a < N; a++) {
            dU[a] = -dMn[a];
            dMp[a] = st.mm * dMn[a];
          }
          dM = dMp;
          grads.eta[ix(T, b, t, h, 0, 1)] += dmm;
        }
        const deta = new Float64Array(N);
        const dG = new Float64Array(N);
        const dkv = new Float64Array(dk);
        for (let i = 0; i < dk; i++)
          for (let jj = 0; jj < dv; jj++) {
            const a = i * dv + jj;
            deta[a] = k(i) * st.G[a] * dU[a];
            dkv[i] += st.eta[a] * st.G[a] * dU[a];
            dG[a] = st.eta[a] * k(i) * dU[a];
          }
        const dP = new Float64Array(N);
        const dvv = new Float64Array(dv);
        let ddl = 0;
        if (c.bias.hebbian) {
          for (let i = 0; i < dk; i++) for (let jj = 0; jj < dv; jj++) dvv[jj] -= dG[i * dv + jj];
        } else {
          const groups = c.memory === 'matrix' ? 1 : dk;
          for (let gi = 0; gi < groups; gi++) {
            const row = (jj: number) => (c.memory === 'matrix' ? jj : gi * dv + jj);
            const dg = (jj: number) => {
              if (c.memory === 'vector') return dG[gi * dv + jj];
              let acc = 0;
              for (let i = 0; i < dk; i++) acc += dG[i * dv + jj];
              return acc;
            };
            const rr = st.r[gi];
            const ra = [rr[0] ?? 0, rr[1] ?? 0, rr[2] ?? 0];
            const ss = fx.bwdSums.map((f) => {
              let acc = 0;
              for (let jj = 0; jj < dv; jj++) acc += f(st.e[row(jj)], dg(jj), st.dl, ra[0], ra[1], ra[2], 0, 0, 0);
              return acc;
            });
            const sa = [ss[0] ?? 0, ss[1] ?? 0, ss[2] ?? 0];
            for (let jj = 0; jj < dv; jj++) {
              const args = [st.e[row(jj)], dg(jj), st.dl, ra[0], ra[1], ra[2], sa[0], sa[1], sa[2]];
              const de = fx.de(...args);
              ddl += fx.ddelta(...args);
              dvv[jj] -= de;
              if (c.memory === 'matrix') {
                for (let i = 0; i < dk; i++) {
                  dP[i * dv + jj] += k(i) * de;
                  dkv[i] += st.P[i * dv + jj] * de;
                }
              } else {
                dP[gi * dv + jj] += k(gi) * de;
                dkv[gi] += st.P[gi * dv + jj] * de;
              }
            }
          }
        }
        for (let jj = 0; jj < dv; jj++) grads.v[ix(Ts, b, tau, h, jj, dv)] += dvv[jj];
        if (c.bias.delta === 'data') grads.delta[ix(Ts, b, tau, h, 0, 1)] += ddl;
        // route dP to the state it was taken at
        for (let i = 0; i < dk; i++)
          for (let jj = 0; jj < dv; jj++) {
            const a = i * dv + jj;
            if (c.learner === 'chunk' && !(c.lagToken && tau === chunkStart)) dP0[a] += dP[a];
            else if (c.learner === 'chunk') dWpend[a] += dP[a];
            else if (c.gradAt === 'retained') {
              dSprev[a] += st.lam[i] * dP[a];
              dlam[i] += S[a] * dP[a];
            } else dWpend[a] += dP[a];
          }
        if (c.learner === 'chunk' && !c.lagToken && tau === chunkStart) {
          for (let a = 0; a < N; a++) dWpend[a] += dP0[a];
          dP0 = new Float64Array(N);
        }
        // step size: η_ij = β_j (per head: one β), implicit ε_j = β_j/(1 + β_j‖k‖²)
        if (c.hasBeta) {
          let kk = 0;
          for (let i = 0; i < dk; i++) kk += k(i) * k(i);
          for (let jj = 0; jj < dv; jj++) {
            const bidx = c.betaPerChannel ? ix(Ts, b, tau, h, jj, dv) : ix(Ts, b, tau, h, 0, 1);
            const bt = x.beta[bidx];
            let sd = 0;
            for (let i = 0; i < dk; i++) sd += deta[i * dv + jj];
            if (c.learner === 'implicit') {
              const den = 1 + bt * kk;
              grads.beta[bidx] += sd / (den * den);
              for (let i = 0; i < dk; i++) dkv[i] += (sd * -2 * bt * bt * k(i)) / (den * den);
            } else grads.beta[bidx] += sd;
          }
        }
        for (let i = 0; i < dk; i++) grads.k[ix(Ts, b, tau, h, i, dk)] += dkv[i];
        if (jsub === 0) {
          if (c.retention.decay === 'scalar') {
            let acc = 0;
            for (let i = 0; i < dk; i++) acc += dlam[i];
            grads.g[ix(T, b, t, h, 0, 1)] += st.lam[0] * acc;
          } else if (c.retention.decay === 'channel') {
            for (let i = 0; i < dk; i++) grads.g[ix(T, b, t, h, i, dk)] += st.lam[i] * dlam[i];
          }
        }
        dS = dSprev;
      }
      {
        const pulled = effectiveVjp(fx, Ss[0], dWpend);
        dS = dS.map((v, a) => v + pulled[a]);
      }
      if (c.init.kind === 'learned') {
        // initialState [H, size] is shared by the batch rows
        for (let a = 0; a < N; a++) grads.initialState[h * SZ + a] += dS[a];
        if (c.learner === 'momentum') for (let a = 0; a < N; a++) grads.initialState[h * SZ + N + a] += dM[a];
      }
    }
  return grads;
}

function initialState(c: Combo, s: ScanDims, x: Record<string, F64>, h: number): { S: F64; M: F64 | null } {
  const N = s.dk * s.dv;
  const SZ = stateSize(c, s);
  const S = new Float64Array(N).fill(initValue(c, s));
  const M = c.learner === 'momentum' ? new Float64Array(N) : null;
  if (c.init.kind === 'learned') {
    S.set(x.initialState.subarray(h * SZ, h * SZ + N));
    if (M) M.set(x.initialState.subarray(h * SZ + N, h * SZ + 2 * N));
  }
  return { S, M };
}

export function checkInputs(c: Combo, s: ScanDims, x: Record<string, F64 | Float32Array>): void {
  for (const d of comboInputs(c, s)) {
    const n = d.shape.reduce((a, b) => a * b, 1);
    if (!x[d.name]) throw new Error(`${c.id}: missing input "${d.name}" of shape [${d.shape.join(', ')}]`);
    if (x[d.name].length !== n) throw new Error(`${c.id}: input "${d.name}" has ${x[d.name].length} elements, expected [${d.shape.join(', ')}] = ${n}`);
  }
}
