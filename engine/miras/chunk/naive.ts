/**
 * Float64 references for the chunk-parallel scans (fla's naive.py next to chunk.py):
 *  - recurrentForward/recurrentBackward: the token recurrence and its hand-written reverse pass;
 *  - chunkForward/chunkBackward: the chunk algorithm of fla (miras.md §3.1–3.3) in float64,
 *    step for step what the WGSL kernels do (state pass, intra-chunk A, WY/UT transform).
 * The math says both give the same o, ht and gradients; tests check that to ~1e-12.
 * All tensors are Float64Array in fla layout [B, T, H, D]; states are [B, H, K, V].
 */
import type { ChunkScanConfig, ChunkScanGrads, ChunkScanInputs, ChunkScanOutputs, ChunkScanShape } from './types';
import { validateChunkScan } from './types';

type F = Float64Array;

/** Per-channel log decay of token t, head h, channel kk (natural log). */
function gateAt(cfg: ChunkScanConfig, s: ChunkScanShape, g: F | undefined, b: number, t: number, h: number, kk: number): number {
  switch (cfg.gate) {
    case 'none':
      return 0;
    case 'const':
      return cfg.logDecay![h];
    case 'scalar':
      return g![(b * s.T + t) * s.H + h];
    case 'vector':
      return g![((b * s.T + t) * s.H + h) * s.K + kk];
  }
}

function need(x: F | undefined, name: string, n: number): F {
  if (!x) throw new Error(`chunk scan reference: input ${name} is required`);
  if (x.length !== n) throw new Error(`chunk scan reference: ${name} has ${x.length} elements, expected ${n}`);
  return x;
}

function checkInputs(cfg: ChunkScanConfig, s: ChunkScanShape, x: ChunkScanInputs<F>): void {
  validateChunkScan(cfg, s);
  const { B, T, H, K, V } = s;
  need(x.q, 'q', B * T * H * K);
  need(x.k, 'k', B * T * H * K);
  need(x.v, 'v', B * T * H * V);
  if (cfg.gate === 'scalar') need(x.g, 'g', B * T * H);
  if (cfg.gate === 'vector') need(x.g, 'g', B * T * H * K);
  if (cfg.rule === 'delta' || cfg.beta) need(x.beta, 'beta', B * T * H);
  if (cfg.initialState) need(x.h0, 'h0', B * H * K * V);
}

/* ------------------------------------------------------------------ token recurrence */

/** States after every token, per (b, h): S[t] is K×V. Used by the backward. */
function runRecurrence(cfg: ChunkScanConfig, s: ChunkScanShape, x: ChunkScanInputs<F>) {
  const { B, T, H, K, V } = s;
  const o = new Float64Array(B * T * H * V);
  const ht = new Float64Array(B * H * K * V);
  const states: F[] = []; // index (b*H+h)*(T+1)+t, t=0 is the initial state
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const S = new Float64Array(K * V);
      if (cfg.initialState) S.set(x.h0!.subarray((b * H + h) * K * V, (b * H + h + 1) * K * V));
      states.push(S.slice());
      for (let t = 0; t < T; t++) {
        const qo = ((b * T + t) * H + h) * K;
        const vo = ((b * T + t) * H + h) * V;
        for (let i = 0; i < K; i++) {
          const a = Math.exp(gateAt(cfg, s, x.g, b, t, h, i));
          for (let j = 0; j < V; j++) S[i * V + j] *= a;
        }
        if (cfg.rule === 'delta') {
          const beta = x.beta![(b * T + t) * H + h];
          // S ← S − β k (k^T S) + β k v^T
          for (let j = 0; j < V; j++) {
            let r = 0;
            for (let i = 0; i < K; i++) r += x.k[qo + i] * S[i * V + j];
            const e = beta * (x.v[vo + j] - r);
            for (let i = 0; i < K; i++) S[i * V + j] += x.k[qo + i] * e;
          }
        } else {
          const bt = cfg.beta ? x.beta![(b * T + t) * H + h] : 1;
          for (let i = 0; i < K; i++) for (let j = 0; j < V; j++) S[i * V + j] += x.k[qo + i] * bt * x.v[vo + j];
        }
        for (let j = 0; j < V; j++) {
          let acc = 0;
          for (let i = 0; i < K; i++) acc += S[i * V + j] * x.q[qo + i];
          o[vo + j] = cfg.scale * acc;
        }
        states.push(S.slice());
      }
      ht.set(S, (b * H + h) * K * V);
    }
  return { o, ht, states };
}

export function recurrentForward(cfg: ChunkScanConfig, s: ChunkScanShape, x: ChunkScanInputs<F>): ChunkScanOutputs<F> {
  checkInputs(cfg, s, x);
  const { o, ht } = runRecurrence(cfg, s, x);
  return { o, ht };
}

/**
 * Reverse pass of the token recurrence. G is ∂L/∂S_t; with P = S_{t-1} and Pa = a·P:
 *  linear: dk = G v, dv = G^T k, dg_k = a_k Σ_v P⊙G (row k), G ← Diag(a) G;
 *  delta:  S_t = Pa − β k (Pa^T k)^T + β k v^T, so with r = Pa^T k and Gk = G^T k:
 *          dv = β Gk, dβ = Gk·(v − r), dk = β(G v − Pa Gk − G r), dPa = G − β k Gk^T,
 *          dg = Σ dPa⊙Pa, G ← a dPa.
 */
export function recurrentBackward(
  cfg: ChunkScanConfig,
  s: ChunkScanShape,
  x: ChunkScanInputs<F>,
  dout: { do: F; dht?: F },
): ChunkScanGrads<F> {
  checkInputs(cfg, s, x);
  const { B, T, H, K, V } = s;
  need(dout.do, 'do', B * T * H * V);
  if (dout.dht) need(dout.dht, 'dht', B * H * K * V);
  const { states } = runRecurrence(cfg, s, x);
  const dq = new Float64Array(B * T * H * K);
  const dk = new Float64Array(B * T * H * K);
  const dv = new Float64Array(B * T * H * V);
  const dg = cfg.gate === 'scalar' || cfg.gate === 'vector' ? new Float64Array(x.g!.length) : undefined;
  const dbeta = cfg.rule === 'delta' || cfg.beta ? new Float64Array(B * T * H) : undefined;
  const dh0 = cfg.initialState ? new Float64Array(B * H * K * V) : undefined;
  const G = new Float64Array(K * V);
  const Pa = new Float64Array(K * V);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      if (dout.dht) G.set(dout.dht.subarray((b * H + h) * K * V, (b * H + h + 1) * K * V));
      else G.fill(0);
      const base = (b * H + h) * (T + 1);
      for (let t = T - 1; t >= 0; t--) {
        const qo = ((b * T + t) * H + h) * K;
        const vo = ((b * T + t) * H + h) * V;
        const St = states[base + t + 1];
        const P = states[base + t];
        for (let i = 0; i < K; i++) for (let j = 0; j < V; j++) G[i * V + j] += cfg.scale * x.q[qo + i] * dout.do[vo + j];
        for (let i = 0; i < K; i++) {
          let acc = 0;
          for (let j = 0; j < V; j++) acc += St[i * V + j] * dout.do[vo + j];
          dq[qo + i] = cfg.scale * acc;
        }
        const a = new Float64Array(K);
        for (let i = 0; i < K; i++) a[i] = Math.exp(gateAt(cfg, s, x.g, b, t, h, i));
        for (let i = 0; i < K; i++) for (let j = 0; j < V; j++) Pa[i * V + j] = a[i] * P[i * V + j];
        const dgRow = new Float64Array(K);
        if (cfg.rule === 'linear') {
          const bt = cfg.beta ? x.beta![(b * T + t) * H + h] : 1;
          for (let i = 0; i < K; i++) {
            let acc = 0;
            for (let j = 0; j < V; j++) acc += G[i * V + j] * bt * x.v[vo + j];
            dk[qo + i] = acc;
          }
          let db = 0;
          for (let j = 0; j < V; j++) {
            let acc = 0;
            for (let i = 0; i < K; i++) acc += G[i * V + j] * x.k[qo + i];
            dv[vo + j] = bt * acc;
            db += x.v[vo + j] * acc;
          }
          if (dbeta) dbeta[(b * T + t) * H + h] = db;
          for (let i = 0; i < K; i++) {
            let acc = 0;
            for (let j = 0; j < V; j++) acc += Pa[i * V + j] * G[i * V + j];
            dgRow[i] = acc;
            for (let j = 0; j < V; j++) G[i * V + j] *= a[i];
          }
        } else {
          const beta = x.beta![(b * T + t) * H + h];
          const r = new Float64Array(V);
          const Gk = new Float64Array(V);
          for (let j = 0; j < V; j++) {
            let rr = 0;
            let gk = 0;
            for (let i = 0; i < K; i++) {
              rr += Pa[i * V + j] * x.k[qo + i];
              gk += G[i * V + j] * x.k[qo + i];
            }
            r[j] = rr;
            Gk[j] = gk;
          }
          let db = 0;
          for (let j = 0; j < V; j++) {
            dv[vo + j] = beta * Gk[j];
            db += Gk[j] * (x.v[vo + j] - r[j]);
          }
          dbeta![(b * T + t) * H + h] = db;
          for (let i = 0; i < K; i++) {
            let acc = 0;
            for (let j = 0; j < V; j++) acc += G[i * V + j] * x.v[vo + j] - Pa[i * V + j] * Gk[j] - G[i * V + j] * r[j];
            dk[qo + i] = beta * acc;
          }
          let ds = 0;
          for (let i = 0; i < K; i++)
            for (let j = 0; j < V; j++) {
              const dPa = G[i * V + j] - beta * x.k[qo + i] * Gk[j];
              ds += dPa * Pa[i * V + j];
              G[i * V + j] = a[i] * dPa;
            }
          dgRow.fill(ds / K); // scalar gate: one value per token (summed below)
        }
        if (dg) {
          if (cfg.gate === 'vector') for (let i = 0; i < K; i++) dg[qo + i] = dgRow[i];
          else {
            let acc = 0;
            for (let i = 0; i < K; i++) acc += dgRow[i];
            dg[(b * T + t) * H + h] = acc;
          }
        }
      }
      if (dh0) dh0.set(G, (b * H + h) * K * V);
    }
  return { dq, dk, dv, dg, dbeta, dh0 };
}

/* ------------------------------------------------------------------ chunk algorithm */

/** Per-chunk quantities of one (b, h): local cumsum Bc [C×K], tokens padded with zeros past T. */
interface ChunkData {
  n0: number; // first token
  len: number; // valid tokens
  q: F; k: F; v: F; do?: F; // C×K, C×K, C×V, C×V
  Bc: F; // C×K chunk-local cumulative log decay (natural log)
  beta: F; // C
}

function loadChunk(
  cfg: ChunkScanConfig, s: ChunkScanShape, x: ChunkScanInputs<F>, b: number, h: number, n: number, C: number, dO?: F,
): ChunkData {
  const { T, H, K, V } = s;
  const n0 = n * C;
  const len = Math.min(C, T - n0);
  const q = new Float64Array(C * K), k = new Float64Array(C * K), v = new Float64Array(C * V), Bc = new Float64Array(C * K);
  const beta = new Float64Array(C);
  const d = dO ? new Float64Array(C * V) : undefined;
  for (let i = 0; i < C; i++) {
    const t = n0 + i;
    for (let kk = 0; kk < K; kk++) {
      const gval = i < len ? gateAt(cfg, s, x.g, b, t, h, kk) : 0;
      Bc[i * K + kk] = (i > 0 ? Bc[(i - 1) * K + kk] : 0) + gval;
      if (i < len) {
        q[i * K + kk] = x.q[((b * T + t) * H + h) * K + kk];
        k[i * K + kk] = x.k[((b * T + t) * H + h) * K + kk];
      }
    }
    if (i < len) {
      for (let j = 0; j < V; j++) v[i * V + j] = x.v[((b * T + t) * H + h) * V + j];
      if (d) for (let j = 0; j < V; j++) d[i * V + j] = dO![((b * T + t) * H + h) * V + j];
      if (cfg.rule === 'delta') beta[i] = x.beta![(b * T + t) * H + h];
    }
  }
  return { n0, len, q, k, v, do: d, Bc, beta };
}

/** WY/UT transform of one chunk: A = strict_lower(β_i (k_i·k_j) Γ_ij), Tm = (I + A)^-1, w = Tm diag(β e^B) K, u = Tm diag(β) V. */
function wyChunk(c: ChunkData, C: number, K: number, V: number) {
  const A = new Float64Array(C * C);
  for (let i = 0; i < C; i++)
    for (let j = 0; j < i; j++) {
      let acc = 0;
      for (let kk = 0; kk < K; kk++) acc += c.k[i * K + kk] * c.k[j * K + kk] * Math.exp(c.Bc[i * K + kk] - c.Bc[j * K + kk]);
      A[i * C + j] = c.beta[i] * acc;
    }
  // (I + A)^-1 by forward substitution: Tm[i][j] = δ_ij − Σ_{j≤m<i} A[i][m] Tm[m][j]
  const Tm = new Float64Array(C * C);
  for (let i = 0; i < C; i++) {
    Tm[i * C + i] = 1;
    for (let j = 0; j < i; j++) {
      let acc = 0;
      for (let m = j; m < i; m++) acc += A[i * C + m] * Tm[m * C + j];
      Tm[i * C + j] = -acc;
    }
  }
  const w = new Float64Array(C * K), u = new Float64Array(C * V);
  for (let i = 0; i < C; i++)
    for (let j = 0; j <= i; j++) {
      const t = Tm[i * C + j] * c.beta[j];
      for (let kk = 0; kk < K; kk++) w[i * K + kk] += t * Math.exp(c.Bc[j * K + kk]) * c.k[j * K + kk];
      for (let vv = 0; vv < V; vv++) u[i * V + vv] += t * c.v[j * V + vv];
    }
  return { A, Tm, w, u };
}

/** Intra-chunk attention A_ij = Σ_k q_ik k_jk e^{B_ik − B_jk} for j ≤ i (zero above the diagonal). */
function intraA(c: ChunkData, C: number, K: number): F {
  const A = new Float64Array(C * C);
  for (let i = 0; i < C; i++)
    for (let j = 0; j <= i; j++) {
      let acc = 0;
      for (let kk = 0; kk < K; kk++) acc += c.q[i * K + kk] * c.k[j * K + kk] * Math.exp(c.Bc[i * K + kk] - c.Bc[j * K + kk]);
      A[i * C + j] = acc;
    }
  return A;
}

interface ChunkState {
  h: F; // state entering the chunk, K×V
  vn: F; // v (linear) or v_new = u − w h (delta), C×V
  wy?: ReturnType<typeof wyChunk>;
}

function chunkPass(cfg: ChunkScanConfig, s: ChunkScanShape, x: ChunkScanInputs<F>, C: number, dO?: F) {
  const { B, T, H, K, V } = s;
  const NT = Math.ceil(T / C);
  const o = new Float64Array(B * T * H * V);
  const ht = new Float64Array(B * H * K * V);
  const per: { c: ChunkData; st: ChunkState }[][] = [];
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const list: { c: ChunkData; st: ChunkState }[] = [];
      let S = new Float64Array(K * V);
      if (cfg.initialState) S.set(x.h0!.subarray((b * H + h) * K * V, (b * H + h + 1) * K * V));
      for (let n = 0; n < NT; n++) {
        const c = loadChunk(cfg, s, x, b, h, n, C, dO);
        let vn = c.v;
        let wy: ReturnType<typeof wyChunk> | undefined;
        if (cfg.rule === 'delta') {
          wy = wyChunk(c, C, K, V);
          vn = new Float64Array(C * V);
          for (let i = 0; i < C; i++)
            for (let j = 0; j < V; j++) {
              let acc = wy.u[i * V + j];
              for (let kk = 0; kk < K; kk++) acc -= wy.w[i * K + kk] * S[kk * V + j];
              vn[i * V + j] = acc;
            }
        }
        const A = intraA(c, C, K);
        for (let i = 0; i < c.len; i++)
          for (let j = 0; j < V; j++) {
            let acc = 0;
            for (let kk = 0; kk < K; kk++) acc += c.q[i * K + kk] * Math.exp(c.Bc[i * K + kk]) * S[kk * V + j];
            for (let m = 0; m <= i; m++) acc += A[i * C + m] * vn[m * V + j];
            o[((b * T + c.n0 + i) * H + h) * V + j] = cfg.scale * acc;
          }
        list.push({ c, st: { h: S.slice(), vn, wy } });
        const L = (C - 1) * K;
        const next = new Float64Array(K * V);
        for (let kk = 0; kk < K; kk++)
          for (let j = 0; j < V; j++) {
            let acc = Math.exp(c.Bc[L + kk]) * S[kk * V + j];
            for (let i = 0; i < C; i++) acc += c.k[i * K + kk] * Math.exp(c.Bc[L + kk] - c.Bc[i * K + kk]) * vn[i * V + j];
            next[kk * V + j] = acc;
          }
        S = next;
      }
      ht.set(S, (b * H + h) * K * V);
      per.push(list);
    }
  return { o, ht, per };
}

/** Linear rule with β: the chunk algorithm runs on v' = β ⊙ v (as the kernels do); dv = β dv', dβ = Σ v⊙dv'. */
function scaledValues(s: ChunkScanShape, x: ChunkScanInputs<F>): F {
  const vb = new Float64Array(x.v.length);
  for (let i = 0; i < vb.length; i++) vb[i] = x.beta![Math.floor(i / s.V)] * x.v[i];
  return vb;
}

export function chunkForward(cfg: ChunkScanConfig, s: ChunkScanShape, x: ChunkScanInputs<F>, C: number): ChunkScanOutputs<F> {
  checkInputs(cfg, s, x);
  if (cfg.rule === 'linear' && cfg.beta) return chunkForward({ ...cfg, beta: false }, s, { ...x, v: scaledValues(s, x) }, C);
  const { o, ht } = chunkPass(cfg, s, x, C);
  return { o, ht };
}

/**
 * Chunk backward (derived for this file; the structure is fla's chunk_bwd_dh, chunk_bwd_dqkwg,
 * chunk_bwd_dv and prepare_wy_repr_bwd). Per chunk with dh = ∂L/∂(state after the chunk):
 *   dvn_j = (k_j ⊙ e^{L−B_j})^T dh + scale Σ_{i≥j} A_ij do_i
 *   dq_i  = scale[e^{B_i} ⊙ (h do_i) + Σ_{j≤i} (do_i·vn_j)(k_j ⊙ e^{B_i−B_j})]
 *   dk_j  = e^{L−B_j} ⊙ (dh vn_j) + scale Σ_{i≥j} (do_i·vn_j)(q_i ⊙ e^{B_i−B_j})
 *   dB_i  = q_i⊙dq_i − k_i⊙dk_i,  dB_L += e^L ⊙ rowsum(h⊙dh) + Σ_j k_j ⊙ dk_j^state
 *   dh   ← e^L ⊙ dh + scale Σ_i (q_i⊙e^{B_i}) do_i^T − w^T dvn            (last term: delta only)
 * Delta adds the UT-transform backward (dw = −dvn h^T, du = dvn) and dg = reverse cumsum of dB.
 */
export function chunkBackward(
  cfg: ChunkScanConfig, s: ChunkScanShape, x: ChunkScanInputs<F>, dout: { do: F; dht?: F }, C: number,
): ChunkScanGrads<F> {
  checkInputs(cfg, s, x);
  if (cfg.rule === 'linear' && cfg.beta) {
    const g = chunkBackward({ ...cfg, beta: false }, s, { ...x, v: scaledValues(s, x) }, dout, C);
    const dv = new Float64Array(x.v.length);
    const dbeta = new Float64Array(x.beta!.length);
    for (let i = 0; i < dv.length; i++) {
      const r = Math.floor(i / s.V);
      dv[i] = x.beta![r] * g.dv[i];
      dbeta[r] += x.v[i] * g.dv[i];
    }
    return { ...g, dv, dbeta };
  }
  const { B, T, H, K, V } = s;
  need(dout.do, 'do', B * T * H * V);
  if (dout.dht) need(dout.dht, 'dht', B * H * K * V);
  const NT = Math.ceil(T / C);
  const { per } = chunkPass(cfg, s, x, C, dout.do);
  const dq = new Float64Array(B * T * H * K);
  const dk = new Float64Array(B * T * H * K);
  const dv = new Float64Array(B * T * H * V);
  const dg = cfg.gate === 'scalar' || cfg.gate === 'vector' ? new Float64Array(x.g!.length) : undefined;
  const dbeta = cfg.rule === 'delta' ? new Float64Array(B * T * H) : undefined;
  const dh0 = cfg.initialState ? new Float64Array(B * H * K * V) : undefined;
  const sc = cfg.scale;
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const list = per[b * H + h];
      let dh = new Float64Array(K * V);
      if (dout.dht) dh.set(dout.dht.subarray((b * H + h) * K * V, (b * H + h + 1) * K * V));
      for (let n = NT - 1; n >= 0; n--) {
        const { c, st } = list[n];
        const dO = c.do!;
        const L = (C - 1) * K;
        const A = intraA(c, C, K);
        const E = (i: number, j: number, kk: number) => Math.exp(c.Bc[i * K + kk] - c.Bc[j * K + kk]);
        const eL = (j: number, kk: number) => Math.exp(c.Bc[L + kk] - c.Bc[j * K + kk]);
        // dvn
        const dvn = new Float64Array(C * V);
        for (let j = 0; j < C; j++)
          for (let vv = 0; vv < V; vv++) {
            let acc = 0;
            for (let kk = 0; kk < K; kk++) acc += c.k[j * K + kk] * eL(j, kk) * dh[kk * V + vv];
            for (let i = j; i < C; i++) acc += sc * A[i * C + j] * dO[i * V + vv];
            dvn[j * V + vv] = acc;
          }
        // ds_ij = do_i · vn_j
        const ds = new Float64Array(C * C);
        for (let i = 0; i < C; i++)
          for (let j = 0; j <= i; j++) {
            let acc = 0;
            for (let vv = 0; vv < V; vv++) acc += dO[i * V + vv] * st.vn[j * V + vv];
            ds[i * C + j] = acc;
          }
        const cq = new Float64Array(C * K), ck = new Float64Array(C * K), ckState = new Float64Array(C * K);
        for (let i = 0; i < C; i++)
          for (let kk = 0; kk < K; kk++) {
            let inter = 0;
            for (let vv = 0; vv < V; vv++) inter += st.h[kk * V + vv] * dO[i * V + vv];
            let acc = Math.exp(c.Bc[i * K + kk]) * inter;
            for (let j = 0; j <= i; j++) acc += ds[i * C + j] * c.k[j * K + kk] * E(i, j, kk);
            cq[i * K + kk] = sc * acc;
            let st2 = 0;
            for (let vv = 0; vv < V; vv++) st2 += dh[kk * V + vv] * st.vn[i * V + vv];
            ckState[i * K + kk] = eL(i, kk) * st2;
            let acc2 = 0;
            for (let m = i; m < C; m++) acc2 += ds[m * C + i] * c.q[m * K + kk] * E(m, i, kk);
            ck[i * K + kk] = ckState[i * K + kk] + sc * acc2;
          }
        const dB = new Float64Array(C * K);
        for (let i = 0; i < C; i++)
          for (let kk = 0; kk < K; kk++) dB[i * K + kk] = c.q[i * K + kk] * cq[i * K + kk] - c.k[i * K + kk] * ck[i * K + kk];
        for (let kk = 0; kk < K; kk++) {
          let acc = 0;
          for (let vv = 0; vv < V; vv++) acc += st.h[kk * V + vv] * dh[kk * V + vv];
          acc *= Math.exp(c.Bc[L + kk]);
          for (let j = 0; j < C; j++) acc += c.k[j * K + kk] * ckState[j * K + kk];
          dB[L + kk] += acc;
        }
        let cv = dvn;
        const cbeta = new Float64Array(C);
        if (cfg.rule === 'delta') {
          const { Tm } = st.wy!;
          // dw = −dvn h^T ; du = dvn
          const dw = new Float64Array(C * K);
          for (let i = 0; i < C; i++)
            for (let kk = 0; kk < K; kk++) {
              let acc = 0;
              for (let vv = 0; vv < V; vv++) acc += dvn[i * V + vv] * st.h[kk * V + vv];
              dw[i * K + kk] = -acc;
            }
          // X = diag(β e^B) K, Y = diag(β) V; dX = Tm^T dw, dY = Tm^T du; dTm = dw X^T + du Y^T
          const dX = new Float64Array(C * K), dY = new Float64Array(C * V), dTm = new Float64Array(C * C);
          for (let j = 0; j < C; j++) {
            for (let kk = 0; kk < K; kk++) {
              let acc = 0;
              for (let i = j; i < C; i++) acc += Tm[i * C + j] * dw[i * K + kk];
              dX[j * K + kk] = acc;
            }
            for (let vv = 0; vv < V; vv++) {
              let acc = 0;
              for (let i = j; i < C; i++) acc += Tm[i * C + j] * dvn[i * V + vv];
              dY[j * V + vv] = acc;
            }
          }
          for (let i = 0; i < C; i++)
            for (let j = 0; j <= i; j++) {
              let acc = 0;
              for (let kk = 0; kk < K; kk++) acc += dw[i * K + kk] * c.beta[j] * Math.exp(c.Bc[j * K + kk]) * c.k[j * K + kk];
              for (let vv = 0; vv < V; vv++) acc += dvn[i * V + vv] * c.beta[j] * c.v[j * V + vv];
              dTm[i * C + j] = acc;
            }
          cv = new Float64Array(C * V);
          for (let j = 0; j < C; j++) {
            let db = 0;
            for (let vv = 0; vv < V; vv++) {
              cv[j * V + vv] = c.beta[j] * dY[j * V + vv];
              db += dY[j * V + vv] * c.v[j * V + vv];
            }
            for (let kk = 0; kk < K; kk++) {
              const e = Math.exp(c.Bc[j * K + kk]);
              ck[j * K + kk] += c.beta[j] * e * dX[j * K + kk];
              db += dX[j * K + kk] * e * c.k[j * K + kk];
              dB[j * K + kk] += c.beta[j] * e * dX[j * K + kk] * c.k[j * K + kk];
            }
            cbeta[j] = db;
          }
          // dA = −Tm^T dTm Tm^T, strictly lower
          const M1 = new Float64Array(C * C);
          for (let i = 0; i < C; i++)
            for (let j = 0; j < C; j++) {
              let acc = 0;
              for (let m = 0; m < C; m++) acc += Tm[m * C + i] * dTm[m * C + j];
              M1[i * C + j] = acc;
            }
          for (let i = 0; i < C; i++)
            for (let j = 0; j < i; j++) {
              let acc = 0;
              for (let m = 0; m < C; m++) acc += M1[i * C + m] * Tm[j * C + m];
              const dA = -acc;
              // A_ij = β_i Σ_k k_ik k_jk e^{B_ik − B_jk}
              let r = 0;
              for (let kk = 0; kk < K; kk++) r += c.k[i * K + kk] * c.k[j * K + kk] * E(i, j, kk);
              cbeta[i] += dA * r;
              for (let kk = 0; kk < K; kk++) {
                const f = dA * c.beta[i] * E(i, j, kk);
                ck[i * K + kk] += f * c.k[j * K + kk];
                ck[j * K + kk] += f * c.k[i * K + kk];
                const t = f * c.k[i * K + kk] * c.k[j * K + kk];
                dB[i * K + kk] += t;
                dB[j * K + kk] -= t;
              }
            }
        }
        // new dh
        const ndh = new Float64Array(K * V);
        for (let kk = 0; kk < K; kk++)
          for (let vv = 0; vv < V; vv++) {
            let acc = Math.exp(c.Bc[L + kk]) * dh[kk * V + vv];
            for (let i = 0; i < C; i++) acc += sc * c.q[i * K + kk] * Math.exp(c.Bc[i * K + kk]) * dO[i * V + vv];
            if (cfg.rule === 'delta') for (let i = 0; i < C; i++) acc -= st.wy!.w[i * K + kk] * dvn[i * V + vv];
            ndh[kk * V + vv] = acc;
          }
        dh = ndh;
        // scatter, with dg = reverse cumsum of dB within the chunk
        const run = new Float64Array(K);
        for (let i = C - 1; i >= 0; i--) {
          for (let kk = 0; kk < K; kk++) run[kk] += dB[i * K + kk];
          if (i >= c.len) continue;
          const t = c.n0 + i;
          for (let kk = 0; kk < K; kk++) {
            dq[((b * T + t) * H + h) * K + kk] = cq[i * K + kk];
            dk[((b * T + t) * H + h) * K + kk] = ck[i * K + kk];
          }
          for (let vv = 0; vv < V; vv++) dv[((b * T + t) * H + h) * V + vv] = cv[i * V + vv];
          if (dbeta) dbeta[(b * T + t) * H + h] = cbeta[i];
          if (dg) {
            if (cfg.gate === 'vector') for (let kk = 0; kk < K; kk++) dg[((b * T + t) * H + h) * K + kk] = run[kk];
            else {
              let acc = 0;
              for (let kk = 0; kk < K; kk++) acc += run[kk];
              dg[(b * T + t) * H + h] = acc;
            }
          }
        }
      }
      if (dh0) dh0.set(dh, (b * H + h) * K * V);
    }
  return { dq, dk, dv, dg, dbeta, dh0 };
}
