/**
 * Fused recurrent kernels for the mLSTM block (block.mlstmNormalizer; xLSTM, Beck et al. 2024, arXiv 2405.04517
 * Eq. 16-21), semantics as engine/miras/recurrent/mlstm-f64.ts and B1's oracle:
 *   m_t = max(log f_t + m_{t−1}, ĩ_t), f' = e^{log f_t + m_{t−1} − m_t}, i' = e^{ĩ_t − m_t}
 *   C_t = f' C_{t−1} + i' k vᵀ,  n_t = f' n_{t−1} + i' k,  o_t = C_tᵀq' / max(|n_tᵀq'|, e^{−m_t}),  q' = s·q
 * Forward: P invocations per value column (rows split), columns tiled over workgroups; n and m are replicated in
 * every column (identical arithmetic). Checkpoint slots: C, n (per column copy), m.
 */
import type { DeviceCaps, KernelSpec } from '../../plan/kernel';
import type { Combo, ScanDims } from '../math/combo';
import { blockSteps, budget, consts, header, splitConsts, SPLIT_IDS, staging, treeSum, unrollLoops, type ForwardTune, type Layout } from './codegen';
import { mlstmFastBackwardKernel, mlstmFastConfig } from './mlstm-fast';

const u = (x: number) => `${x}u`;

function logF(c: Combo, L: Layout): string {
  if (c.retention.decay === 'scalar') return `gates[gbase + ${u(L.fields.g!)}]`;
  if (c.retention.decay === 'constant') return 'log(GAMMA[h])';
  return '0.0';
}

/** The step's gates from the stabiliser `m`: fm = log f + m, m_t = max(fm, ĩ), f' = e^{fm − m_t}, i' = e^{ĩ − m_t}. */
function gatesAt(c: Combo, L: Layout, m: string): string {
  return `    let gbase = rowg(b, tau, h);
    let fm = ${logF(c, L)} + ${m};
    let ig = gates[gbase + ${u(L.fields.ig!)}];
    let fmWins = fm >= ig;
    let mN = select(ig, fm, fmWins);
    let fs = exp(fm - mN);
    let is = exp(ig - mN);
    let vj = v[rowv(b, tau, h) + j];
    let krow = rowk(b, tau, h);`;
}

function decls(names: string[], access: readonly string[]): string {
  return names.map((n, i) => `@group(0) @binding(${i}) var<storage, ${access[i]}> ${n}: array<f32>;`).join('\n');
}

/**
 * mLSTM forward, column split as the main forward (codegen.ts forwardKernel): each value column j is owned by P
 * invocations splitting the d_k rows (R = d_k/P registers of C, and of n, which every column keeps a copy of);
 * columns are tiled over workgroups (TV per workgroup; nothing in a step couples columns). The stabiliser chain
 * m is replicated in every invocation. Per block of LP steps, k, q, v (the tile's columns), ĩ (and log f) are
 * staged in workgroup memory from registers loaded one block ahead; full blocks run as straight-line code. The
 * read-out (Cᵀq' and nᵀq' partials per invocation) is reduced over the P partials once per block.
 */
export function mlstmForwardKernel(c: Combo, s: ScanDims, L: Layout, caps: DeviceCaps, tune: ForwardTune = {}): KernelSpec {
  budget(caps, c, L);
  if (L.DV < 1) throw new Error('mLSTM needs d_v ≥ 1');
  const learned = c.init.kind === 'learned';
  const scalarF = c.retention.decay === 'scalar';
  const maxInv = Math.min(caps.maxComputeInvocationsPerWorkgroup, caps.maxComputeWorkgroupSizeX);
  let TV = L.DV;
  if (tune.TV && L.DV % tune.TV === 0 && tune.TV <= maxInv) TV = tune.TV;
  else while (TV > 16 && TV % 2 === 0 && L.B * L.H * (L.DV / TV) < 256) TV /= 2;
  let P = 1;
  const maxP = tune.P ?? 8;
  while (P < maxP && L.DK % (P * 2) === 0 && TV * P * 2 <= maxInv) P *= 2;
  const R = L.DK / P;
  const W = TV * P;
  const binds = ['q', 'k', 'v', 'scratch.gates', 'o', 'finalState', 'scratch.state', ...(learned ? ['initialState'] : [])];
  const access = ['read', 'read', 'read', 'read', 'read_write', 'read_write', 'read_write', 'read'] as const;
  const names = ['q', 'k', 'v', 'gates', 'o', 'finalState', 'state', 'initialState'].slice(0, binds.length);
  // staged per step: [k | q' = s·q | v (tile) | ĩ | log f]
  const OQ = L.DK;
  const OV = 2 * L.DK;
  const OI = OV + TV;
  const OG = OI + 1;
  const PS = OG + (scalarF ? 1 : 0);
  // workgroup memory per step: the staged operands, the P partials of Cᵀq' (W), of nᵀq' (P) and m
  const perStep = PS + (P > 1 ? W + P + 1 : 0);
  const fitLP = Math.floor(caps.maxComputeWorkgroupStorageSize / 4 / perStep);
  const LP = Math.max(1, Math.min(tune.LP ?? 16, fitLP, Math.floor((48 * W) / PS)));
  if (LP * perStep * 4 > caps.maxComputeWorkgroupStorageSize) throw new Error(`${c.id}: d_k = ${L.DK}, d_v = ${L.DV} do not fit ${caps.maxComputeWorkgroupStorageSize} bytes of workgroup memory`);
  const st = staging(
    [
      { name: 'k', len: L.DK, off: 0, src: 'k[rowk(b, tau, h) + o]' },
      { name: 'q', len: L.DK, off: OQ, src: 'SCALE * q[rowq(b, tau, h) + o]' },
      { name: 'v', len: TV, off: OV, src: 'v[rowv(b, tau, h) + j0 + o]' },
      { name: 'ig', len: 1, off: OI, src: `gates[rowg(b, tau, h) + ${u(L.fields.ig!)}]` },
      ...(scalarF ? [{ name: 'g', len: 1, off: OG, src: `gates[rowg(b, tau, h) + ${u(L.fields.g!)}]` }] : []),
    ],
    LP,
    W,
  );
  const PRE = (off: string) => `pre[l * PS + ${off}]`;
  const ckHoist = L.CK % LP === 0;
  const ckStore = (at: string) => `for (var r = 0u; r < R; r++) {
        let i = p * R + r;
        state[ckpt(bh, ${at} / CK, 0u, i, j)] = C[r];
        state[ckpt(bh, ${at} / CK, 1u, i, j)] = n[r];
      }
      if (p == 0u) { state[ckpt(bh, ${at} / CK, 2u, 0u, j)] = m; }`;
  const rows = Array.from({ length: R }, (_, r) => r);
  const step = (lc: number | null) => `      ${lc === null ? '' : `const l = ${u(lc)};`}
      let tau = base + l;
      ${ckHoist ? '' : `if (tau % CK == 0u) {\n        ${ckStore('tau')}\n      }`}
      let fm = ${scalarF ? PRE(u(OG)) : logF(c, L)} + m;
      let ig = ${PRE(u(OI))};
      let mN = select(ig, fm, fm >= ig);
      let fs = exp(fm - mN);
      let is = exp(ig - mN);
      let isv = is * ${PRE('OV + jl')};
      for (var r = 0u; r < R; r++) {
        let ki = ${PRE('p * R + r')};
        C[r] = fs * C[r] + ki * isv;
        n[r] = fs * n[r] + is * ki;
      }
      m = mN;
      let num = ${treeSum(rows.map((r) => `C[${r}] * ${PRE(`OQ + p * R + ${u(r)}`)}`))};
      let nq = ${treeSum(rows.map((r) => `n[${r}] * ${PRE(`OQ + p * R + ${u(r)}`)}`))};
      ${
        P > 1 && lc !== null
          ? `numl[${lc}] = num; nql[${lc}] = nq; ml[${lc}] = m;`
          : P > 1
          ? `po[l * W + t] = num;
      if (jl == 0u) { pq[l * P + p] = nq; }
      if (t == 0u) { pm[l] = m; }`
          : `let den = select(exp(-m), abs(nq), abs(nq) >= exp(-m));
      o[rowo(b, tau, h) + j] = num / den;`
      }`;
  const wgsl = `${header(c, s, L, 'forward (mLSTM)')}
//   mLSTM: m_t = max(log f + m, ĩ), C_t = f'C + i'k vᵀ, n_t = f'n + i'k, o = Cᵀq'/max(|nᵀq'|, e^{−m}) (xLSTM Eq. 16-21)
//   ${L.DV / TV} workgroup(s) of ${TV} value columns per head; ${P} invocations per column (R = ${R} key rows each); blocks of ${LP} steps staged one block ahead
${decls(names, access)}
${consts(c, L)}
${splitConsts({ LP, P, R, TV, W, PS })}
const OQ = ${u(OQ)};
const OV = ${u(OV)};
var<workgroup> pre: array<f32, ${LP * PS}>;
${P > 1 ? `var<workgroup> po: array<f32, ${LP * W}>;\nvar<workgroup> pq: array<f32, ${LP * P}>;\nvar<workgroup> pm: array<f32, ${LP}>;` : ''}

@compute @workgroup_size(${W})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  ${names.map((n) => `_ = &${n};`).join(' ')}
  ${SPLIT_IDS}
  var C: array<f32, R>;
  var n: array<f32, R>;
  var m = 0.0;
  for (var r = 0u; r < R; r++) {
    let i = p * R + r;
    ${learned ? 'C[r] = initialState[h * SZ + i * DV + j]; n[r] = initialState[h * SZ + DK * DV + i];' : 'C[r] = 0.0; n[r] = 0.0;'}
  }
  ${learned ? 'm = initialState[h * SZ + DK * DV + DK];' : ''}
  ${st.loopHead}
    // the next block's operands are in flight while this block runs
    ${st.load('base + LP')}
    ${ckHoist ? `// CK is a multiple of LP: a checkpoint can only fall on the block's first step\n    if (base % CK == 0u) {\n      ${ckStore('base')}\n    }` : ''}
    // full blocks as straight-line code; read-out partials stay in registers until the block's end
    ${blockSteps(
      LP,
      step,
      P > 1 ? 'var numl: array<f32, LP>; var nql: array<f32, LP>; var ml: array<f32, LP>;' : '',
      P > 1
        ? `${Array.from({ length: LP }, (_, l) => `po[${u(l)} * W + t] = numl[${l}];`).join(' ')}
      if (jl == 0u) { ${Array.from({ length: LP }, (_, l) => `pq[${u(l)} * P + p] = nql[${l}];`).join(' ')} }
      if (t == 0u) { ${Array.from({ length: LP }, (_, l) => `pm[${u(l)}] = ml[${l}];`).join(' ')} }`
        : '',
    )}
    ${
      P > 1
        ? `// read-out of the block: o = Cᵀq' / max(|nᵀq'|, e^{−m}), each sum over the P partials of the column
    workgroupBarrier();
    for (var x = t; x < LP * TV; x += W) {
      let l = x / TV;
      let tau = base + l;
      if (tau < TS) {
        var num = 0.0;
        var nq = 0.0;
        for (var pp = 0u; pp < P; pp++) { num += po[l * W + pp * TV + x % TV]; nq += pq[l * P + pp]; }
        let em = exp(-pm[l]);
        let den = select(em, abs(nq), abs(nq) >= em);
        o[rowo(b, tau, h) + j0 + x % TV] = num / den;
      }
    }`
        : ''
    }
  }
  for (var r = 0u; r < R; r++) {
    let i = p * R + r;
    finalState[bh * SZ + i * DV + j] = C[r];
    if (j == 0u) { finalState[bh * SZ + DK * DV + i] = n[r]; }
  }
  if (j == 0u && p == 0u) { finalState[bh * SZ + DK * DV + DK] = m; }
}
`;
  return {
    name: 'miras_recurrent_mlstm_fwd',
    wgsl: unrollLoops(wgsl, 'r', 'R', R),
    entryPoint: 'main',
    bindings: binds.map((buffer, i) => ({ buffer, access: access[i] })),
    workgroups: [L.B * L.H, L.DV / TV, 1],
  };
}

/** The mLSTM backward: the column-split kernel of mlstm-fast.ts when it fits `caps`, else the general one below. */
export function mlstmBackwardKernel(c: Combo, s: ScanDims, L: Layout, caps: DeviceCaps): KernelSpec {
  const fast = mlstmFastConfig(c, L, caps);
  return fast ? mlstmFastBackwardKernel(c, s, L, caps, fast) : mlstmGeneralBackwardKernel(c, s, L, caps);
}

/** One invocation per value column, d_k-long private arrays, the segment's states stored and reloaded through scratch.state. */
export function mlstmGeneralBackwardKernel(c: Combo, s: ScanDims, L: Layout, caps: DeviceCaps): KernelSpec {
  const { RC, red } = budget(caps, c, L);
  const binds = ['q', 'k', 'v', 'scratch.gates', 'grad.o', 'scratch.state', 'scratch.dx', 'grad.v'];
  const access = ['read', 'read', 'read', 'read', 'read', 'read_write', 'read_write', 'read_write'] as const;
  const names = ['q', 'k', 'v', 'gates', 'dout', 'state', 'dx', 'grad_v'];
  const f = L.fields;
  // dq and dk rows: sums over the value columns (RC rows per pass through workgroup memory)
  const rows = [
    { arr: 'adq', dst: `${u(L.dx.q)} + qrow + i` },
    { arr: 'adk', dst: `${u(L.dx.k)} + krow + i` },
  ];
  const rowReduce = `      for (var i0 = 0u; i0 < DK; i0 += ${u(RC)}) {
        for (var r = 0u; r < ${u(RC)}; r++) {
          let i = i0 + r;
          if (i < DK) { ${rows.map((rw, mm) => `red[(${u(mm)} * ${u(RC)} + r) * DV + j] = ${rw.arr}[i];`).join(' ')} }
        }
        workgroupBarrier();
        for (var w = j; w < ${u(2 * RC)}; w += DV) {
          let sel = w / ${u(RC)};
          let i = i0 + w % ${u(RC)};
          if (i < DK) {
            var acc = 0.0;
            for (var jj = 0u; jj < DV; jj++) { acc += red[w * DV + jj]; }
            if (sel == 0u) { dx[${rows[0].dst}] = acc; } else { dx[${rows[1].dst}] = acc; }
          }
        }
        workgroupBarrier();
      }`;
  // sums of per-column values over the workgroup, broadcast
  const colSum = (vals: string[], outs: string[]) => `      ${vals.map((v, mm) => `red[${u(mm)} * DV + j] = ${v};`).join(' ')}
      workgroupBarrier();
      ${outs.map((o) => `var ${o} = 0.0;`).join(' ')}
      for (var jj = 0u; jj < DV; jj++) { ${outs.map((o, mm) => `${o} += red[${u(mm)} * DV + jj];`).join(' ')} }
      workgroupBarrier();`;
  const wgsl = `${header(c, s, L, 'backward (mLSTM)')}
${decls(names, access)}
${consts(c, L)}
var<workgroup> red: array<f32, ${red}>;

@compute @workgroup_size(${L.DV})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  ${names.map((n) => `_ = &${n};`).join(' ')}
  let bh = wid.x;
  let b = bh / H;
  let h = bh % H;
  let j = lid.x;
  let first = select(0.0, 1.0, j == 0u); // terms replicated in every invocation are counted once
  var C: array<f32, DK>;
  var n: array<f32, DK>;
  var m = 0.0;
  var dC: array<f32, DK>;
  var dn: array<f32, DK>;
  for (var i = 0u; i < DK; i++) { dC[i] = state[DFIN + bh * SZ + i * DV + j]; dn[i] = state[DFIN + bh * SZ + DK * DV + i]; }
  var dm = state[DFIN + bh * SZ + DK * DV + DK];
  for (var sg = 0u; sg < NCK; sg++) {
    let seg = NCK - 1u - sg;
    let t0 = seg * CK;
    let t1 = min(TS, t0 + CK);
    for (var i = 0u; i < DK; i++) { C[i] = state[ckpt(bh, seg, 0u, i, j)]; n[i] = state[ckpt(bh, seg, 1u, i, j)]; }
    m = state[ckpt(bh, seg, 2u, 0u, j)];
    // 1. recompute the segment, storing the state before every step
    for (var tau = t0; tau < t1; tau++) {
      for (var i = 0u; i < DK; i++) { state[segs(bh, tau - t0, 0u, i, j)] = C[i]; state[segs(bh, tau - t0, 1u, i, j)] = n[i]; }
      state[segs(bh, tau - t0, 2u, 0u, j)] = m;
${gatesAt(c, L, 'm')}
      for (var i = 0u; i < DK; i++) { let ki = k[krow + i]; C[i] = fs * C[i] + is * ki * vj; n[i] = fs * n[i] + is * ki; }
      m = mN;
    }
    // 2. reverse recurrence
    for (var tt = t0; tt < t1; tt++) {
      let tau = t1 - 1u - (tt - t0);
      var Cp: array<f32, DK>;
      var np: array<f32, DK>;
      for (var i = 0u; i < DK; i++) { Cp[i] = state[segs(bh, tau - t0, 0u, i, j)]; np[i] = state[segs(bh, tau - t0, 1u, i, j)]; }
      let mp = state[segs(bh, tau - t0, 2u, 0u, j)];
${gatesAt(c, L, 'mp')}
      let qrow = rowq(b, tau, h);
      var Cn: array<f32, DK>;
      var nn: array<f32, DK>;
      var nq = 0.0;
      var num = 0.0;
      for (var i = 0u; i < DK; i++) {
        let ki = k[krow + i];
        Cn[i] = fs * Cp[i] + is * ki * vj;
        nn[i] = fs * np[i] + is * ki;
        let qi = SCALE * q[qrow + i];
        nq += nn[i] * qi;
        num += Cn[i] * qi;
      }
      let floor = exp(-mN);
      let absB = abs(nq) >= floor;
      let den = select(floor, abs(nq), absB);
      let doj = dout[rowo(b, tau, h) + j];
${colSum(['-doj * num / (den * den)'], ['dden'])}
      var adq: array<f32, DK>;
      var adk: array<f32, DK>;
      var dmN = dm;
      let dnq = select(0.0, dden * sign(nq), absB);
      if (!absB) { dmN += dden * -floor; }
      var pfs = 0.0;
      var pis = 0.0;
      var dvj = 0.0;
      for (var i = 0u; i < DK; i++) {
        let ki = k[krow + i];
        let qi = SCALE * q[qrow + i];
        dC[i] += qi * doj / den;
        dn[i] += dnq * qi;
        adq[i] = SCALE * (Cn[i] * doj / den + first * dnq * nn[i]);
        pfs += Cp[i] * dC[i] + first * np[i] * dn[i];
        pis += ki * vj * dC[i] + first * ki * dn[i];
        adk[i] = is * (dC[i] * vj + first * dn[i]);
        dvj += is * ki * dC[i];
      }
${colSum(['pfs', 'pis'], ['dfs', 'dis'])}
      var dfm = dfs * fs;
      var dig = dis * is;
      dmN -= dfs * fs + dis * is;
      if (fmWins) { dfm += dmN; } else { dig += dmN; }
      if (j == 0u) {
        dx[${u(L.dx.gates)} + gbase + ${u(f.ig!)}] = dig;
        ${f.g !== undefined ? `dx[${u(L.dx.gates)} + gbase + ${u(f.g)}] = dfm;` : ''}
      }
      grad_v[rowv(b, tau, h) + j] += dvj;
${rowReduce}
      for (var i = 0u; i < DK; i++) { dC[i] = fs * dC[i]; dn[i] = fs * dn[i]; }
      dm = dfm;
    }
  }
  ${
    c.init.kind === 'learned'
      ? `for (var i = 0u; i < DK; i++) { dx[${u(L.dx.init)} + bh * SZ + i * DV + j] = dC[i]; }
  if (j == 0u) {
    for (var i = 0u; i < DK; i++) { dx[${u(L.dx.init)} + bh * SZ + DK * DV + i] = dn[i]; }
    dx[${u(L.dx.init)} + bh * SZ + DK * DV + DK] = dm;
  }`
      : ''
  }
}
`;
  return { name: 'miras_recurrent_mlstm_bwd', wgsl, entryPoint: 'main', bindings: binds.map((buffer, i) => ({ buffer, access: access[i] })), workgroups: [L.B * L.H, 1, 1] };
}
