/**
 * Float64 mirror of the fused kernel's mLSTM path (block.mlstmNormalizer): xLSTM's matrix memory with the
 * normaliser n and the log-space stabiliser m (Beck et al. 2024, arXiv 2405.04517, Eq. 16-21), as B1's oracle:
 *   m_t = max(log f_t + m_{t−1}, ĩ_t),  f' = e^{log f_t + m_{t−1} − m_t},  i' = e^{ĩ_t − m_t}
 *   C_t = f' C_{t−1} + i' k vᵀ,  n_t = f' n_{t−1} + i' k,  o_t = C_tᵀq' / max(|n_tᵀq'|, e^{−m_t}),  q' = s·q
 * State per head: [C (dk·dv), n (dk), m (1)]. log f_t = g_t (scalar decay), log γ_h (constant) or 0 (none).
 */
import type { Combo, ScanDims } from '../math/combo';

type F64 = Float64Array;

export function mlstmStateSize(s: ScanDims): number {
  return s.dk * s.dv + s.dk + 1;
}

function logF(c: Combo, x: Record<string, F64>, s: ScanDims, b: number, t: number, h: number): number {
  const r = c.retention;
  if (r.decay === 'scalar') return x.g[(b * s.time + t) * s.heads + h];
  if (r.decay === 'constant') return Math.log(r.gammas![h]);
  return 0;
}

export function mlstmF64(
  c: Combo,
  s: ScanDims,
  x: Record<string, F64>,
  gy?: { o: F64; finalState?: F64 },
): { o: F64; finalState: F64; grads?: Record<string, F64> } {
  const { batch: B, time: T, heads: H, dk, dv } = s;
  const SZ = mlstmStateSize(s);
  const N = dk * dv;
  const o = new Float64Array(B * T * H * dv);
  const finalState = new Float64Array(B * H * SZ);
  const grads: Record<string, F64> = {};
  if (gy) {
    for (const [name, arr] of Object.entries(x)) grads[name] = new Float64Array(arr.length);
  }
  const row = (t: number, b: number, h: number, D: number) => ((b * T + t) * H + h) * D;
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      let C = new Float64Array(N);
      let n = new Float64Array(dk);
      let m = 0;
      if (c.init.kind === 'learned') {
        C = x.initialState.slice(h * SZ, h * SZ + N);
        n = x.initialState.slice(h * SZ + N, h * SZ + N + dk);
        m = x.initialState[h * SZ + N + dk];
      }
      const Cs: F64[] = [];
      const ns: F64[] = [];
      const ms: number[] = [];
      for (let t = 0; t < T; t++) {
        Cs.push(C);
        ns.push(n);
        ms.push(m);
        const fm = logF(c, x, s, b, t, h) + m;
        const ig = x.i[(b * T + t) * H + h];
        const mNew = fm >= ig ? fm : ig;
        const fs = Math.exp(fm - mNew);
        const is = Math.exp(ig - mNew);
        const k = x.k.subarray(row(t, b, h, dk), row(t, b, h, dk) + dk);
        const v = x.v.subarray(row(t, b, h, dv), row(t, b, h, dv) + dv);
        const C2 = new Float64Array(N);
        const n2 = new Float64Array(dk);
        for (let i = 0; i < dk; i++) {
          n2[i] = fs * n[i] + is * k[i];
          for (let j = 0; j < dv; j++) C2[i * dv + j] = fs * C[i * dv + j] + is * k[i] * v[j];
        }
        C = C2;
        n = n2;
        m = mNew;
        let nq = 0;
        for (let i = 0; i < dk; i++) nq += n[i] * c.scale * x.q[row(t, b, h, dk) + i];
        const den = Math.abs(nq) >= Math.exp(-m) ? Math.abs(nq) : Math.exp(-m);
        for (let j = 0; j < dv; j++) {
          let acc = 0;
          for (let i = 0; i < dk; i++) acc += C[i * dv + j] * c.scale * x.q[row(t, b, h, dk) + i];
          o[row(t, b, h, dv) + j] = acc / den;
        }
      }
      const base = (b * H + h) * SZ;
      finalState.set(C, base);
      finalState.set(n, base + N);
      finalState[base + N + dk] = m;
      if (!gy) continue;
      // reverse recurrence
      let dC = gy.finalState ? gy.finalState.slice(base, base + N) : new Float64Array(N);
      let dn = gy.finalState ? gy.finalState.slice(base + N, base + N + dk) : new Float64Array(dk);
      let dm = gy.finalState ? gy.finalState[base + N + dk] : 0;
      for (let t = T - 1; t >= 0; t--) {
        const Cp = Cs[t];
        const np = ns[t];
        const mp = ms[t];
        const fm = logF(c, x, s, b, t, h) + mp;
        const ig = x.i[(b * T + t) * H + h];
        const fmWins = fm >= ig;
        const mNew = fmWins ? fm : ig;
        const fs = Math.exp(fm - mNew);
        const is = Math.exp(ig - mNew);
        const k = x.k.subarray(row(t, b, h, dk), row(t, b, h, dk) + dk);
        const v = x.v.subarray(row(t, b, h, dv), row(t, b, h, dv) + dv);
        const qq = Float64Array.from({ length: dk }, (_, i) => c.scale * x.q[row(t, b, h, dk) + i]);
        const Cn = new Float64Array(N);
        const nn = new Float64Array(dk);
        for (let i = 0; i < dk; i++) {
          nn[i] = fs * np[i] + is * k[i];
          for (let j = 0; j < dv; j++) Cn[i * dv + j] = fs * Cp[i * dv + j] + is * k[i] * v[j];
        }
        let nq = 0;
        for (let i = 0; i < dk; i++) nq += nn[i] * qq[i];
        const floor = Math.exp(-mNew);
        const absBranch = Math.abs(nq) >= floor;
        const den = absBranch ? Math.abs(nq) : floor;
        const dO = gy.o.subarray(row(t, b, h, dv), row(t, b, h, dv) + dv);
        let dden = 0;
        const dqq = new Float64Array(dk);
        dC = dC.slice();
        dn = dn.slice();
        for (let j = 0; j < dv; j++) {
          let num = 0;
          for (let i = 0; i < dk; i++) num += Cn[i * dv + j] * qq[i];
          dden -= (dO[j] * num) / (den * den);
          for (let i = 0; i < dk; i++) {
            dC[i * dv + j] += (qq[i] * dO[j]) / den;
            dqq[i] += (Cn[i * dv + j] * dO[j]) / den;
          }
        }
        let dmNew = dm;
        if (absBranch) {
          const dnq = dden * Math.sign(nq);
          for (let i = 0; i < dk; i++) {
            dn[i] += dnq * qq[i];
            dqq[i] += dnq * nn[i];
          }
        } else dmNew += dden * -floor;
        let dfs = 0;
        let dis = 0;
        const dCp = new Float64Array(N);
        const dnp = new Float64Array(dk);
        for (let i = 0; i < dk; i++) {
          dfs += np[i] * dn[i];
          dis += k[i] * dn[i];
          dnp[i] = fs * dn[i];
          let dki = dn[i] * is;
          for (let j = 0; j < dv; j++) {
            const a = i * dv + j;
            dfs += Cp[a] * dC[a];
            dis += k[i] * v[j] * dC[a];
            dCp[a] = fs * dC[a];
            dki += is * dC[a] * v[j];
            grads.v[row(t, b, h, dv) + j] += is * k[i] * dC[a];
          }
          grads.k[row(t, b, h, dk) + i] += dki;
          grads.q[row(t, b, h, dk) + i] += c.scale * dqq[i];
        }
        let dfm = dfs * fs;
        let dig = dis * is;
        dmNew -= dfs * fs + dis * is;
        if (fmWins) dfm += dmNew;
        else dig += dmNew;
        grads.i[(b * T + t) * H + h] += dig;
        if (c.retention.decay === 'scalar') grads.g[(b * T + t) * H + h] += dfm;
        dC = dCp;
        dn = dnp;
        dm = dfm;
      }
      if (c.init.kind === 'learned') {
        for (let a = 0; a < N; a++) grads.initialState[h * SZ + a] += dC[a];
        for (let i = 0; i < dk; i++) grads.initialState[h * SZ + N + i] += dn[i];
        grads.initialState[h * SZ + N + dk] += dm;
      }
    }
  return gy ? { o, finalState, grads } : { o, finalState };
}
