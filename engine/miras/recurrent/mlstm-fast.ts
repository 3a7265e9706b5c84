/**
 * Fast backward of the mLSTM fused recurrent scan (block.mlstmNormalizer), with the design of fast.ts: the
 * forward's column split (P invocations per value column, R = d_k/P rows each, all d_v columns in one workgroup
 * because the normaliser's denominator and the gate gradients couple the columns), two-level recomputation in
 * private memory (segment → sub-checkpoint every LP steps → the LP states of a sub-segment), operands staged in
 * workgroup memory per sub-segment (codegen.ts `staging`). Semantics as mlstm.ts / mlstm-f64.ts:
 *   m_t = max(log f + m, ĩ), f' = e^{log f + m − m_t}, i' = e^{ĩ − m_t}, C_t = f'C + i'k vᵀ, n_t = f'n + i'k,
 *   o_t = C_tᵀq' / max(|n_tᵀq'|, e^{−m_t}).
 * What is on the reverse chain and what is not:
 *   - ∂C and ∂n carry back with factor f' only; their per-step inputs (q'·∂o/den and ∂(nᵀq')·q') need den and
 *     ∂den = −Σ_j ∂o_j num_j / den², which depend on the forward only. They are reduced once per sub-segment while
 *     its states are recomputed (partials of nᵀq' and Σ_j ∂o_j num_j per row group, then summed over P).
 *   - ∂m is a scalar chain fed by the full sums Σ C_{t−1}⊙∂C + n_{t−1}·∂n and Σ k vᵀ⊙∂C + k·∂n, which nothing
 *     else needs: those are reduced with the row sums (∂q, ∂k) and the column sums (∂v) of each step, and the ∂m
 *     chain with the ĩ / log f gradients (and the max branch) runs once per sub-segment over the LP reduced sums.
 *   - One reduction area (the column split at d_v = 64 leaves no room for fast.ts's double buffer): two
 *     barriers per reverse step. The unpack kernels are the general ones (one column tile, one row group).
 * Used when it fits the device (mlstmFastConfig); otherwise mlstm.ts's one-invocation-per-column kernel runs.
 */
import type { DeviceCaps, KernelSpec } from '../../plan/kernel';
import type { Combo, ScanDims } from '../math/combo';
import { recomputeDecls, recomputeWalk, type CarriedVar } from './bwd-recompute';
import { consts, header, SG_VARS, splitConsts, SPLIT_IDS, staging, subgroupCheck, unrollLoops, type BackwardTune, type Layout } from './codegen';
import { reduceScatter } from './bwd-subgroups';

const u = (x: number) => `${x}u`;

/** The carried state: C and n per key row, the stabiliser m. */
const CARRIED: CarriedVar[] = [
  { name: 'C', rows: true },
  { name: 'n', rows: true },
  { name: 'm', rows: false },
];

export interface MlstmFastConfig {
  /** invocations per value column */
  P: number;
  /** steps per sub-segment */
  LP: number;
  /** the step's 2·d_k row sums (∂q, ∂k) go through the reduction area in NCH chunks (2 barriers each) */
  NCH: number;
  /** load the next sub-segment's operands during this one (default true; false for measurements) */
  prefetch?: boolean;
  /**
   * Invocations per subgroup row sum where caps offer `subgroups` (default min(d_v, 32); 0 turns the subgroup path
   * off). Must be a power of two dividing d_v; the run-time check falls back to workgroup memory where the device's
   * subgroups do not hold that many invocations with the expected lane mapping.
   */
  sgLanes?: number;
}

/** Staged floats per step: [k | q | v | ∂o | grad.v so far | ĩ | log f]. */
function stepFloats(c: Combo, L: Layout) {
  const q = L.DK;
  const v = 2 * L.DK;
  const dout = v + L.DV;
  const gv = dout + L.DV;
  const ig = gv + L.DV;
  const g = ig + 1;
  return { PS: g + (c.retention.decay === 'scalar' ? 1 : 0), off: { q, v, dout, gv, ig, g } };
}

/** Workgroup floats: staged operands, the reduction area (also the recompute's partials), nq / Σ∂o·num partials, the ∂m chain's sums. */
function wgFloats(c: Combo, L: Layout, P: number, LP: number, NCH: number) {
  const W = L.DV * P;
  // a step's row partials column by column (odd stride XP) and the recompute's partials step by step (stride LW =
  // W + P, column-major within a step): the reductions read consecutive words across lanes (bank-conflict free)
  const XP = ((2 * L.DK) / NCH + 2 * P) | 1;
  const LW = W + P;
  const RB = L.DV * XP + W;
  const RED = Math.max(RB, LP * LW);
  return { W, XP, LW, RB, RED, total: LP * stepFloats(c, L).PS + RED + 4 * LP * P };
}

/** Launch shape of the fast mLSTM backward within `caps`, or null (then mlstm.ts's general kernel runs). */
export function mlstmFastConfig(c: Combo, L: Layout, caps: DeviceCaps, tune: BackwardTune = {}): MlstmFastConfig | null {
  if (!c.mlstm || c.steps !== 1 || tune.general || L.NT !== 1 || L.PB !== 1) return null;
  const maxInv = Math.min(caps.maxComputeInvocationsPerWorkgroup, caps.maxComputeWorkgroupSizeX);
  const floats = caps.maxComputeWorkgroupStorageSize / 4;
  let Pmax = 1;
  while (Pmax < (tune.P ?? 8) && L.DK % (Pmax * 2) === 0 && L.DV * Pmax * 2 <= maxInv) Pmax *= 2;
  if (L.DV > maxInv) return null;
  const best = (minLP: number) => {
    for (let NCH = 1; NCH <= 8 && (2 * L.DK) % NCH === 0; NCH *= 2)
      for (let P = Pmax; P >= 1; P /= 2)
        // R = d_k/P ≤ 8: at R = 16 (d_k = 64 with P = 4, d_k = 16 with P = 1) the kernel crashed SwiftShader's compiler
        // process in testing (not diagnosed), so those launches keep the general kernel
        if (L.DK / P <= 8)
          for (let LP = Math.min(tune.LP ?? 16, L.CK); LP >= minLP; LP--) if (wgFloats(c, L, P, LP, NCH).total <= floats) return { P, LP, NCH };
    return null;
  };
  // prefer one row chunk, then the widest split, with sub-segments of ≥ 8 steps; then anything that fits
  return best(Math.min(8, L.CK, tune.LP ?? 8)) ?? best(1);
}

export function mlstmFastBackwardKernel(c: Combo, s: ScanDims, L: Layout, caps: DeviceCaps, cfg: MlstmFastConfig): KernelSpec {
  const { P, LP, NCH } = cfg;
  const TV = L.DV;
  const R = L.DK / P;
  if (!Number.isInteger(R) || (2 * L.DK) % NCH !== 0) throw new Error(`${c.id}: fast mLSTM backward needs P | d_k and NCH | 2·d_k (P = ${P}, NCH = ${NCH})`);
  const { W, XP, LW, RED, total } = wgFloats(c, L, P, LP, NCH);
  if (total * 4 > caps.maxComputeWorkgroupStorageSize) throw new Error(`${c.id}: fast mLSTM backward (P = ${P}, LP = ${LP}, NCH = ${NCH}) exceeds the workgroup memory`);
  if (W > caps.maxComputeInvocationsPerWorkgroup) throw new Error(`${c.id}: fast mLSTM backward (P = ${P}) needs ${W} invocations per workgroup`);
  const CH = (2 * L.DK) / NCH;
  const { PS, off } = stepFloats(c, L);
  const f = L.fields;
  const NSUB = Math.ceil(L.CK / LP);
  const PRE = (o: string) => `pre[l * PS + ${o}]`;
  const logF = c.retention.decay === 'scalar' ? PRE(u(off.g)) : c.retention.decay === 'constant' ? 'log(GAMMA[h])' : '0.0';
  // the step's gates from the stabiliser before the step (mp)
  const gates = (mp: string) => `let fm = ${logF} + ${mp};
        let ig = ${PRE(u(off.ig))};
        let fmWins = fm >= ig;
        let mN = select(ig, fm, fmWins);
        let fs = exp(fm - mN);
        let is = exp(ig - mN);
        let vj = ${PRE(`${u(off.v)} + j`)};`;
  // forward step in place (C, n, m); `keep`: store the state before it and the partials of nᵀq' and ∂o_j·C[:, j]ᵀq'
  const fwdStep = (keep: boolean) => `        ${gates('m')}
        var pn = 0.0;
        var pd = 0.0;
        for (var r = 0u; r < R; r++) {
          let i = p * R + r;
          let ki = pre[l * PS + i];
          C[r] = fs * C[r] + is * ki * vj;
          n[r] = fs * n[r] + is * ki;
          let qi = SCALE * ${PRE(`${u(off.q)} + i`)};
          pn += n[r] * qi;
          pd += C[r] * qi;
        }
        m = mN;
        ${keep ? `red[l * ${u(LW)} + jl * P + p] = pd * ${PRE(`${u(off.dout)} + j`)};
        if (jl == 0u) { nqa[l * P + p] = pn; }` : '_ = pn; _ = pd;'}`;
  // the denominator of step l from the reduced partials: nq, den, floor, absB, dden, dnq
  const denAt = `var nq = 0.0;
        var dsum = 0.0;
        for (var pp = 0u; pp < P; pp++) { nq += nqa[l * P + pp]; dsum += dda[l * P + pp]; }
        let floor = exp(-mN);
        let absB = abs(nq) >= floor;
        let den = select(floor, abs(nq), absB);
        let dden = -dsum / (den * den);
        let dnq = select(0.0, dden * sign(nq), absB);`;
  // reduction area: [CH row slots (slot x: ∂q row x, ∂k row x − d_k) | ∂f', ∂i' partials per row group | ∂v partials], per column
  const CRO = TV * XP;
  // Subgroup path (caps.subgroups, never assumed; subgroupCheck(G) at run time, else the workgroup-memory path below):
  // the step's 2R row partials and the ∂f', ∂i' partials are reduce-scattered over G columns by shuffles, so only
  // d_v/G partials per value go through workgroup memory (with the ∂v column partials), double-buffered: one barrier
  // per step instead of two per row chunk.
  const G = cfg.sgLanes ?? Math.min(TV, 32);
  const NV = 2 * R + 2;
  const SGP = (TV / Math.max(1, G)) * P * NV;
  const SGB = SGP + W;
  // (its double buffer lives in the reduction area; where it would not fit, only the workgroup-memory path is emitted)
  const sg = !!caps.subgroups && G >= 2 && (G & (G - 1)) === 0 && TV % G === 0 && 2 * SGB <= RED;
  const sgStep = () => {
    const rs = reduceScatter([...Array.from({ length: R }, (_, r) => `pq[${r}]`), ...Array.from({ length: R }, (_, r) => `pk[${r}]`), 'pfs', 'pis'], G, 'jl');
    const hsum = Array.from({ length: TV / G }, (_, hh) => `red[sb + ${u(hh * P * NV)} + x]`).join(' + ');
    return `${rs.code}
      ${Array.from({ length: rs.K }, (_, q) => `{ let vi = (jl % ${u(G)}) * ${u(rs.K)} + ${u(q)}; if (vi < ${u(NV)}) { red[sb + (jl / ${u(G)}) * ${u(P * NV)} + p * ${u(NV)} + vi] = rv[${q}]; } }`).join('\n      ')}
      red[sb + ${u(SGP)} + t] = pdv;
      workgroupBarrier();
      for (var x = t; x < ${u(P * NV)}; x += W) {
        let a = ${hsum};
        let pp = x / ${u(NV)};
        let vi = x % ${u(NV)};
        if (vi < R) { dx[${u(L.dx.q)} + rowq(b, tau, h) + pp * R + vi] = a; }
        else if (vi < ${u(2 * R)}) { dx[${u(L.dx.k)} + rowk(b, tau, h) + pp * R + vi - R] = a; }
        else { dsa[l * ${u(2 * P)} + (vi - ${u(2 * R)}) * P + pp] = a; }
      }
      if (p == 0u) {
        var dv = ${PRE(`${u(off.gv)} + j`)};
        for (var pp = 0u; pp < P; pp++) { dv += red[sb + ${u(SGP)} + pp * TV + j]; }
        grad_v[rowv(b, tau, h) + j] = dv;
      }
      sb = ${u(SGB)} - sb;`;
  };
  const revStep = `        ${gates('histM[l]')}
        ${denAt}
        let doj = ${PRE(`${u(off.dout)} + j`)};
        var pfs = 0.0;
        var pis = 0.0;
        var pdv = 0.0;
        for (var r = 0u; r < R; r++) {
          let i = p * R + r;
          let ki = pre[l * PS + i];
          let qi = SCALE * ${PRE(`${u(off.q)} + i`)};
          let Cp = histC[l * R + r];
          let np = histN[l * R + r];
          dC[r] += qi * doj / den;
          dn[r] += dnq * qi;
          pq[r] = SCALE * (Cn[r] * doj / den + first * dnq * nn[r]);
          pk[r] = is * (dC[r] * vj + first * dn[r]);
          pfs += Cp * dC[r] + first * np * dn[r];
          pis += ki * vj * dC[r] + first * ki * dn[r];
          pdv += is * ki * dC[r];
          dC[r] = fs * dC[r];
          dn[r] = fs * dn[r];
          Cn[r] = Cp;
          nn[r] = np;
        }
        ${sg ? `if (sgok) {
      ${sgStep()}
      } else {` : ''}
        for (var ch = 0u; ch < ${u(NCH)}; ch++) {
        let lo = ch * ${u(CH)};
        for (var r = 0u; r < R; r++) {
          let i = p * R + r;
          if (i >= lo && i < lo + ${u(CH)}) { red[j * ${u(XP)} + i - lo] = pq[r]; }
          if (DK + i >= lo && DK + i < lo + ${u(CH)}) { red[j * ${u(XP)} + DK + i - lo] = pk[r]; }
        }
        if (ch == 0u) {
          red[j * ${u(XP)} + ${u(CH)} + p] = pfs;
          red[j * ${u(XP)} + ${u(CH)} + P + p] = pis;
          red[${u(CRO)} + t] = pdv;
        }
        workgroupBarrier();
        // row sums over the d_v columns: ∂q, ∂k rows to scratch.dx; the ∂f', ∂i' partials per row group for the ∂m chain
        for (var x = t; x < ${u(CH)} + select(0u, ${u(2 * P)}, ch == 0u); x += W) {
          ${
            TV % 4 === 0
              ? `var a4 = vec4f(0.0);
          for (var jj = 0u; jj < TV; jj += 4u) { let y = jj * ${u(XP)} + x; a4 += vec4f(red[y], red[y + ${u(XP)}], red[y + ${u(2 * XP)}], red[y + ${u(3 * XP)}]); }
          let a = (a4.x + a4.y) + (a4.z + a4.w);`
              : `var a = 0.0;
          for (var jj = 0u; jj < TV; jj++) { a += red[jj * ${u(XP)} + x]; }`
          }
          let y = lo + x;
          if (x >= ${u(CH)}) { dsa[l * ${u(2 * P)} + x - ${u(CH)}] = a; }
          else if (y < DK) { dx[${u(L.dx.q)} + rowq(b, tau, h) + y] = a; }
          else { dx[${u(L.dx.k)} + rowk(b, tau, h) + y - DK] = a; }
        }
        if (p == 0u && ch == 0u) {
          var dv = ${PRE(`${u(off.gv)} + j`)};
          for (var pp = 0u; pp < P; pp++) { dv += red[${u(CRO)} + pp * TV + j]; }
          grad_v[rowv(b, tau, h) + j] = dv;
        }
        workgroupBarrier();
        }${sg ? '\n        }' : ''}`;
  // the ∂m chain over the sub-segment (every invocation, identical arithmetic; invocation 0 writes the gate gradients)
  const mChain = `${sg ? '      if (sgok) { workgroupBarrier(); }\n' : ''}      for (var tt = u0; tt < u1; tt++) {
        let tau = u1 - 1u - (tt - u0);
        let l = tau - u0;
        ${gates('histM[l]')}
        _ = vj;
        ${denAt}
        _ = dnq;
        var dfs = 0.0;
        var dis = 0.0;
        for (var pp = 0u; pp < P; pp++) { dfs += dsa[l * ${u(2 * P)} + pp]; dis += dsa[l * ${u(2 * P)} + P + pp]; }
        var dmN = dm;
        if (!absB) { dmN += dden * -floor; }
        dmN -= dfs * fs + dis * is;
        var dfm = dfs * fs;
        var dig = dis * is;
        if (fmWins) { dfm += dmN; } else { dig += dmN; }
        if (t == 0u) {
          dx[${u(L.dx.gates)} + rowg(b, tau, h) + ${u(f.ig!)}] = dig;
          ${f.g !== undefined ? `dx[${u(L.dx.gates)} + rowg(b, tau, h) + ${u(f.g)}] = dfm;` : ''}
        }
        dm = dfm;
      }`;
  const st = staging(
    [
      { name: 'k', len: L.DK, off: 0, src: 'k[rowk(b, tau, h) + o]' },
      { name: 'q', len: L.DK, off: off.q, src: 'q[rowq(b, tau, h) + o]' },
      { name: 'v', len: L.DV, off: off.v, src: 'v[rowv(b, tau, h) + o]' },
      { name: 'do', len: L.DV, off: off.dout, src: 'dout[rowo(b, tau, h) + o]' },
      { name: 'gv', len: L.DV, off: off.gv, src: 'grad_v[rowv(b, tau, h) + o]' },
      { name: 'ig', len: 1, off: off.ig, src: `gates[rowg(b, tau, h) + ${u(f.ig!)}]` },
      ...(c.retention.decay === 'scalar' ? [{ name: 'g', len: 1, off: off.g, src: `gates[rowg(b, tau, h) + ${u(f.g!)}]` }] : []),
    ],
    LP,
    W,
  );
  const names = ['q', 'k', 'v', 'gates', 'dout', 'state', 'dx', 'grad_v'];
  const binds = ['q', 'k', 'v', 'scratch.gates', 'grad.o', 'scratch.state', 'scratch.dx', 'grad.v'];
  const access = ['read', 'read', 'read', 'read', 'read', 'read_write', 'read_write', 'read_write'] as const;
  const decl = names.map((n, i) => `@group(0) @binding(${i}) var<storage, ${access[i]}> ${n}: array<f32>;`).join('\n');
  const wgsl = `${sg ? 'enable subgroups;\n' : ''}${header(c, s, L, 'backward (mLSTM, fast: column-split, two-level recompute)')}
//   ${P} invocations per value column (R = ${R} key rows each), all ${TV} columns in one workgroup; sub-segments of ${LP} steps
${decl}
${consts(c, L)}
${splitConsts({ LP, P, R, TV, W, PS })}
var<workgroup> pre: array<f32, ${LP * PS}>;
var<workgroup> red: array<f32, ${RED}>;
var<workgroup> nqa: array<f32, ${LP * P}>;
var<workgroup> dda: array<f32, ${LP * P}>;
var<workgroup> dsa: array<f32, ${2 * LP * P}>;${sg ? `\n${SG_VARS}` : ''}

@compute @workgroup_size(${W})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u${sg ? ', @builtin(subgroup_size) sgsz: u32' : ''}) {
  ${names.map((n) => `_ = &${n};`).join(' ')}
  ${SPLIT_IDS}${sg ? `\n  ${subgroupCheck(G)}\n  var sb = 0u;` : ''}
  _ = j0;
  let first = select(0.0, 1.0, jl == 0u); // n is replicated over the columns: its terms are counted once
  var C: array<f32, R>;
  var n: array<f32, R>;
  var m = 0.0;
  var Cn: array<f32, R>;
  var nn: array<f32, R>;
  var dC: array<f32, R>;
  var dn: array<f32, R>;
  var pq: array<f32, R>;
  var pk: array<f32, R>;
  ${recomputeDecls(CARRIED, NSUB, LP, R)}
  ${st.decl}
  for (var r = 0u; r < R; r++) {
    let i = p * R + r;
    dC[r] = state[DFIN + bh * SZ + i * DV + j];
    dn[r] = state[DFIN + bh * SZ + DK * DV + i];
  }
  var dm = state[DFIN + bh * SZ + DK * DV + DK];
  ${recomputeWalk({
    vars: CARRIED,
    load: `for (var r = 0u; r < R; r++) { C[r] = state[ckpt(bh, seg, 0u, p * R + r, j)]; n[r] = state[ckpt(bh, seg, 1u, p * R + r, j)]; }
    m = state[ckpt(bh, seg, 2u, 0u, j)];`,
    stage: st,
    prefetch: cfg.prefetch,
    step: fwdStep(false),
    kept: fwdStep(true),
    beforeReverse: `      for (var r = 0u; r < R; r++) { Cn[r] = C[r]; nn[r] = n[r]; }
      workgroupBarrier();
      // Σ_j ∂o_j num_j per (step, row group)
      for (var x = t; x < LP * P; x += W) {
        let l = x / P;
        let pp = x % P;
        var a = 0.0;
        if (u0 + l < u1) { for (var jj = 0u; jj < TV; jj++) { a += red[l * ${u(LW)} + jj * P + pp]; } }
        dda[x] = a;
      }
      workgroupBarrier();`,
    reverse: revStep,
    afterReverse: mChain,
  })}
  ${
    c.init.kind === 'learned'
      ? `// gradient of the initial state (summed over the batch by the unpack kernel)
  for (var r = 0u; r < R; r++) {
    let i = p * R + r;
    dx[${u(L.dx.init)} + bh * SZ + i * DV + j] = dC[r];
    if (jl == 0u) { dx[${u(L.dx.init)} + bh * SZ + DK * DV + i] = dn[r]; }
  }
  if (t == 0u) { dx[${u(L.dx.init)} + bh * SZ + DK * DV + DK] = dm; }`
      : ''
  }
}
`;
  return {
    name: 'miras_recurrent_mlstm_bwd_fast',
    wgsl: unrollLoops(wgsl, 'r', 'R', R),
    entryPoint: 'main',
    bindings: binds.map((buffer, i) => ({ buffer, access: access[i] })),
    workgroups: [L.B * L.H, 1, 1],
  };
}
