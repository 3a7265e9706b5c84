/**
 * Fast backward of the fused recurrent scan for the combinations whose step couples nothing across value columns
 * and whose bias is elementwise: matrix or vector memory; dot, ℓ2, ℓp, ℓ1, coordinate Huber or robust bias (no
 * group sums); no, constant, scalar or channel decay (coupled or not, no post map, ℓq or KL); gd, multistep or
 * implicit learner; β per head or per channel. That covers linear attention, RetNet, GLA, Mamba2, HGRN2, DeltaNet,
 * Gated DeltaNet, DeltaProduct and Longhorn. Other combinations use the general backward in codegen.ts.
 *
 * Design (same math as codegen.ts's backward and engine/miras/recurrent/f64.ts):
 *   - Like the forward, each value column j is owned by P invocations that split the d_k rows (R = d_k/P
 *     registers each), TV columns per workgroup, so a head's state is spread over P·TV invocations.
 *   - Two-level recomputation without global traffic: the forward's checkpoint segment (CK sub-steps) is
 *     recomputed once, keeping a sub-checkpoint every LP sub-steps in private memory; then, sub-segment by
 *     sub-segment in reverse, the LP states are recomputed into private memory and the reverse recurrence runs
 *     over them. Every operand of a sub-segment (k, q, gates, v, ∂o, β) is staged in workgroup memory first.
 *   - One barrier per reverse step. Column sums over the P invocations that the chain needs (∂G for the ℓ2
 *     family) and the row sums over the tile's columns (∂q, ∂k, channel ∂λ) plus the scalar gate gradients
 *     (per row group) share a double-buffered reduction area: a step's column partials and the previous step's
 *     row partials go in before the barrier, both are reduced after it. Scalar gate gradients land per
 *     (tile, row group) in scratch.dx; the unpack kernels add those partials into grad.<input>.
 */
import type { DeviceCaps, KernelSpec } from '../../plan/kernel';
import type { Combo, ScanDims } from '../math/combo';
import { lit } from '../math/expr';
import { recomputeDecls, recomputeWalk } from './bwd-recompute';
import { allSum, reduceScatter } from './bwd-subgroups';
import { consts, header, mathFns, SG_VARS, splitConsts, SPLIT_IDS, staging, subgroupCheck, unrollLoops, type BackwardTune, type Layout } from './codegen';

const u = (x: number) => `${x}u`;

/** Whether the fast backward covers this combination. */
export function fastBackwardCovers(c: Combo): boolean {
  const r = c.retention;
  return (
    !c.mlstm &&
    c.bias.fwdSums.length === 0 &&
    c.bias.bwdSums.length === 0 &&
    ['none', 'constant', 'scalar', 'channel'].includes(r.decay) &&
    !r.post &&
    !r.norm &&
    !r.simplex &&
    ['gd', 'multistep', 'implicit'].includes(c.learner)
  );
}

export interface FastConfig {
  P: number;
  LP: number;
  /** load the next sub-segment's operands during this one (default true; false for measurements) */
  prefetch?: boolean;
  /** row sums by subgroup shuffles where caps offer `subgroups` (default true; false forces workgroup memory) */
  sg?: boolean;
}

interface Parts {
  PS: number;
  off: { q: number; g: number; v: number; dout: number; gv: number; bc: number; s: number; kk: number };
  scal: ('beta' | 'g' | 'delta')[];
  /** pseudo-row scalar gradient fields, row fields, column fields */
  sf: ('beta' | 'g' | 'delta')[];
  rows: ('k' | 'q' | 'l')[];
  cols: ('g' | 'b')[];
  /** row partials per column, and their stride in the reduction area */
  NI: number;
  NIP: number;
  RB: number;
  cyN: number;
}

function parts(c: Combo, L: Layout, TV: number, P: number): Parts {
  const chan = c.retention.decay === 'channel';
  const f = L.fields;
  const scal = (['beta', 'g', 'delta'] as const).filter((n) => f[n] !== undefined);
  const q = L.DK;
  const g = 2 * L.DK;
  const v = g + (chan ? L.DK : 0);
  const dout = v + TV;
  const gv = dout + TV;
  const bc = gv + TV;
  const s = bc + (f.bc !== undefined ? TV : 0);
  const kk = s + scal.length;
  const PS = kk + (c.learner === 'implicit' ? 1 : 0);
  const sf = (['beta', 'g', 'delta'] as const).filter((n) => f[n] !== undefined);
  const rows: Parts['rows'] = ['k', 'q', ...(chan ? (['l'] as const) : [])];
  const cols: Parts['cols'] = ['g', ...(c.hasBeta && (c.betaPerChannel || c.learner === 'implicit') ? (['b'] as const) : [])];
  const W = TV * P;
  // row partials column by column with an odd stride NIP: the reduction reads consecutive words across lanes
  // (the column-major stride TV, a multiple of 16, made its loads 16-way bank conflicts)
  const NI = rows.length * L.DK + sf.length * P;
  const NIP = NI | 1;
  const RB = TV * NIP + cols.length * W;
  const cyN = c.memory === 'matrix' && !c.bias.hebbian && P > 1 ? 2 * W : 0;
  return { PS, off: { q, g, v, dout, gv, bc, s, kk }, scal: [...scal], sf: [...sf], rows, cols, NI, NIP, RB, cyN };
}

/** Launch shape of the fast backward within `caps`, or null when it does not fit (then the general kernel runs). */
export function fastBackwardConfig(c: Combo, L: Layout, caps: DeviceCaps, tune: BackwardTune = {}): FastConfig | null {
  if (!fastBackwardCovers(c) || tune.general) return null;
  const maxInv = Math.min(caps.maxComputeInvocationsPerWorkgroup, caps.maxComputeWorkgroupSizeX);
  const TV = L.TVB;
  const floats = caps.maxComputeWorkgroupStorageSize / 4;
  let P = 1;
  while (P < (tune.P ?? 8) && L.DK % (P * 2) === 0 && TV * P * 2 <= maxInv) P *= 2;
  for (; P >= 1; P /= 2) {
    if (TV * P > maxInv) continue;
    const pt = parts(c, L, TV, P);
    const LP = Math.min(tune.LP ?? 16, L.CK, Math.floor((floats - 2 * pt.RB - pt.cyN) / pt.PS));
    if (LP >= 1) return { P, LP };
  }
  return null;
}

export function fastBackwardKernel(c: Combo, s: ScanDims, L: Layout, caps: DeviceCaps, cfg: FastConfig): KernelSpec {
  const { P, LP } = cfg;
  const TV = L.TVB;
  const W = TV * P;
  const R = L.DK / P;
  if (L.PB !== P) throw new Error(`${c.id}: fast backward needs the layout for ${P} row groups (got ${L.PB})`);
  const pt = parts(c, L, TV, P);
  const { PS, off, rows, cols, sf, NI, NIP, RB, cyN } = pt;
  const f = L.fields;
  const sg = !!caps.subgroups && cfg.sg !== false && TV >= 2 && TV <= 128 && (TV & (TV - 1)) === 0;
  const sgIf = (cond: string, body: string) => (sg ? `if (${cond}) {\n      ${body}\n      }` : body);
  const chan = c.retention.decay === 'channel';
  const implicit = c.learner === 'implicit';
  const matrixL2 = c.memory === 'matrix' && !c.bias.hebbian;
  const vectorL2 = c.memory === 'vector' && !c.bias.hebbian;
  const retained = c.gradAt === 'retained';
  const cpl = c.retention.coupled ? 'lam' : '1.0';
  const NSUB = Math.ceil(L.CK / LP);
  const CRO = TV * NIP;
  const PRE = (o: string) => `pre[l * PS + ${o}]`;
  const sIdx = (n: 'beta' | 'g' | 'delta') => u(off.s + pt.scal.indexOf(n));
  const lamS = c.retention.decay === 'constant' ? 'GAMMA[h]' : c.retention.decay === 'scalar' ? `exp(${PRE(sIdx('g'))})` : '1.0';
  const beta = !c.hasBeta ? '1.0' : c.betaPerChannel ? PRE(`${u(off.bc)} + jl`) : PRE(sIdx('beta'));
  const dl = c.bias.delta === 'data' ? PRE(sIdx('delta')) : lit(c.bias.deltaValue);
  const lamRow = chan ? `select(1.0, exp(${PRE(`${u(off.g)} + i`)}), sub == 0u)` : 'lamS';
  const eta = implicit ? 'beta / (1.0 + beta * kk)' : 'beta';
  const scalars = `let sub = tau % STEPS;
      var lamS = 1.0;
      if (sub == 0u) { lamS = ${lamS}; }
      let beta = ${beta};
      let dl = ${dl};
      let kk = ${implicit ? PRE(u(off.kk)) : '0.0'};
      let eta = ${eta};
      let vj = ${PRE(`${u(off.v)} + jl`)};`;
  // forward step from S (in place); matrix ℓ2 family: e of the column (kept for the reverse step when `keepE`)
  const fwdStep = (keepE: boolean) => {
    const point = (x: string) => (retained ? `${lamRow} * ${x}` : x);
    let bias = '';
    if (c.bias.hebbian) bias = 'let G = -vj;';
    else if (matrixL2) {
      bias = `var yp = 0.0;
      for (var r = 0u; r < R; r++) { let i = p * R + r; yp += ${point('S[r]')} * pre[l * PS + i]; }
      ${P > 1 ? `cy[cyb + t] = yp;
      workgroupBarrier();
      var y = 0.0;
      for (var pp = 0u; pp < P; pp++) { y += cy[cyb + pp * TV + jl]; }
      cyb = ${u(W)} - cyb;` : 'let y = yp;'}
      let e = y - vj;
      ${keepE ? 'histE[l] = e;' : ''}
      let G = bias_g(e, dl, 0.0, 0.0, 0.0);`;
    }
    return `      ${scalars}
      ${bias}
      for (var r = 0u; r < R; r++) {
        let i = p * R + r;
        let ki = pre[l * PS + i];
        let lam = ${lamRow};
        ${vectorL2 ? `let G = bias_g(ki * ${point('S[r]')} - vj, dl, 0.0, 0.0, 0.0);` : ''}
        let U = eta * ki * G;
        S[r] = lam * S[r] - ${cpl} * U;
      }`;
  };
  // destinations of the reduced partials of pending sub-step tp (0xffffffff: not written)
  const DXG = L.dx.gates;
  const rowDst: Record<string, string> = {
    k: `${u(L.dx.k)} + wid.y * ${u(L.dx.kReg)} + rowk(b, tp, h) + i`,
    q: `select(0xffffffffu, ${u(L.dx.q)} + wid.y * ${u(L.dx.qReg)} + rowq(b, tp / STEPS, h) + i, tp % STEPS == STEPS - 1u)`,
    l: `select(0xffffffffu, ${u(DXG)} + wid.y * ${u(L.PB * L.dx.gReg)} + rowg(b, tp, h) + ${u(f.gc ?? 0)} + i, tp % STEPS == 0u)`,
  };
  const rowArr: Record<string, string> = { k: 'pk', q: 'pq', l: 'pl' };
  const subgroupRows = () => {
    const NV = rows.length * R;
    const rs = reduceScatter(Array.from({ length: NV }, (_, x) => `${rowArr[rows[Math.floor(x / R)]]}[${x % R}]`), TV, 'jl');
    const out = [rs.code, 'let tp = tau;'];
    for (let x = 0; x < rs.K; x++)
      out.push(`{ let vi = jl * ${u(rs.K)} + ${u(x)}; let n = vi / R; let i = p * R + vi % R; var dst = 0xffffffffu;
        ${rows.map((m, n) => `if (n == ${u(n)}) { dst = ${rowDst[m]}; }`).join(' ')}
        if (vi < ${u(NV)} && dst != 0xffffffffu) { dx[dst] = rv[${x}]; } }`);
    sf.forEach((m, n) =>
      out.push(`{ var sa = ps[${n}]; ${allSum('sa', TV)}
        if (jl == 0u) { dx[${u(DXG)} + (wid.y * ${u(L.PB)} + p) * ${u(L.dx.gReg)} + rowg(b, tau, h) + ${u(f[m]!)}] = sa; } }`),
    );
    return out.join('\n      ');
  };
  const writePending = `for (var r = 0u; r < R; r++) {
        let i = p * R + r;
        ${rows.map((m, n) => `red[rb + jl * ${u(NIP)} + ${u(n * L.DK)} + i] = ${rowArr[m]}[r];`).join('\n        ')}
      }
      ${sf.map((_, n) => `red[rb + jl * ${u(NIP)} + ${u(rows.length * L.DK + n * P)} + p] = ps[${n}];`).join('\n      ')}`;
  const reduce = `if (pend != 0xffffffffu) {
        let tp = pend;
        for (var x = t; x < ${u(NI)}; x += W) {
          ${
            TV % 4 === 0
              ? `var a4 = vec4f(0.0);
          for (var jj = 0u; jj < TV; jj += 4u) { let y = rb + jj * ${u(NIP)} + x; a4 += vec4f(red[y], red[y + ${u(NIP)}], red[y + ${u(2 * NIP)}], red[y + ${u(3 * NIP)}]); }
          let a = (a4.x + a4.y) + (a4.z + a4.w);`
              : `var a = 0.0;
          for (var jj = 0u; jj < TV; jj++) { a += red[rb + jj * ${u(NIP)} + x]; }`
          }
          var dst = 0xffffffffu;
          ${rows.map((m, n) => `if (x >= ${u(n * L.DK)} && x < ${u((n + 1) * L.DK)}) { let i = x - ${u(n * L.DK)}; dst = ${rowDst[m]}; }`).join('\n          ')}
          ${sf.map((m, n) => `if (x >= ${u(rows.length * L.DK + n * P)} && x < ${u(rows.length * L.DK + (n + 1) * P)}) { dst = ${u(DXG)} + (wid.y * ${u(L.PB)} + x - ${u(rows.length * L.DK + n * P)}) * ${u(L.dx.gReg)} + rowg(b, tp, h) + ${u(f[m]!)}; }`).join('\n          ')}
          if (dst != 0xffffffffu) { dx[dst] = a; }
        }
      }`;
  const sfIdx = (m: 'beta' | 'g' | 'delta') => sf.indexOf(m);
  // Subgroup path (caps.subgroups, never assumed): the row sums of a step over the tile's TV columns by shuffles, no
  // workgroup memory. The ids are row-major (t = p·TV + jl), so with TV a power of two the TV invocations of row
  // group p are t ^ m, m < TV; subgroupCheck(TV) proves at run time that they share a full subgroup with exactly
  // that lane mapping (else the workgroup takes the workgroup-memory path, same kernel). The NV = |rows|·R row
  // partials of an invocation are reduce-scattered: at mask m an invocation keeps the half of its values selected
  // by bit m of jl and adds its partner's copy of that half, so after log2 TV stages it holds the full tile sums of
  // values jl·K … jl·K + K − 1 (K = NV/TV, rounded up) and stores them; scalar gate partials are all-reduced.
  const colSum = (n: number) => `var c${n}T = 0.0; for (var pp = 0u; pp < P; pp++) { c${n}T += red[rb + ${u(CRO + n * W)} + pp * TV + jl]; }`;
  const cb = cols.indexOf('b');
  const sgRows = sg ? subgroupRows() : '';
  // Subgroup path, column sums that only leave the kernel (∂v; β per channel without the implicit learner): each
  // step writes its partials into slot l of a ring (aliasing the reduction area, which the subgroup path does not
  // use otherwise) and they are reduced once per sub-segment, so the reverse steps have no barrier at all. The
  // chain's column sum (∂G of the matrix ℓ2 family) and the implicit learner's β sum (it feeds ∂k) keep theirs.
  const CW = cols.length * W;
  const defer = sg && !matrixL2 && !(implicit && c.hasBeta) && LP * CW <= 2 * RB;
  const bcOut = c.hasBeta && c.betaPerChannel && !implicit ? `if (p == 0u) { dx[${u(DXG)} + rowg(b, tau, h) + ${u(f.bc ?? 0)} + j] = c${cb}T; }` : '';
  const ringOut = `if (sgok) {
        workgroupBarrier();
        for (var x = t; x < LP * TV; x += W) {
          let l = x / TV;
          let jj = x % TV;
          let tau = u0 + l;
          if (tau < u1) {
            ${cols
              .map(
                (m, n) => `var a${n} = 0.0;
            for (var pp = 0u; pp < P; pp++) { a${n} += red[l * ${u(CW)} + ${u(n * W)} + pp * TV + jj]; }
            ${m === 'g' ? `grad_v[rowv(b, tau, h) + j0 + jj] = ${PRE(`${u(off.gv)} + jj`)} + a${n};` : `dx[${u(DXG)} + rowg(b, tau, h) + ${u(f.bc ?? 0)} + j0 + jj] = a${n};`}`,
              )
              .join('\n            ')}
          }
        }
      }`;
  // the reverse step at sub-step tau (local l): histS[l] = S_{τ−1}, Sn = S_τ, dS = ∂L/∂S_τ on entry, ∂L/∂S_{τ−1} on exit
  const revStep = `      ${sgIf('!sgok', writePending)}
      ${scalars}
      ${matrixL2 ? 'let e = histE[l]; let G = bias_g(e, dl, 0.0, 0.0, 0.0);' : c.bias.hebbian ? 'let G = -vj;' : ''}
      let doj = select(0.0, ${PRE(`${u(off.dout)} + jl`)}, sub == STEPS - 1u);
      var cg = 0.0;
      var cbp = 0.0;
      var sdl = 0.0;
      for (var r = 0u; r < R; r++) {
        let i = p * R + r;
        let ki = pre[l * PS + i];
        let lam = ${lamRow};
        let Sp = histS[l * R + r];
        pq[r] = SCALE * Sn[r] * doj;
        let dZ = dS[r] + SCALE * ${PRE(`${u(off.q)} + i`)} * doj;
        ${vectorL2 ? `let Pt = ${retained ? 'lam * Sp' : 'Sp'}; let ev = ki * Pt - vj; let G = bias_g(ev, dl, 0.0, 0.0, 0.0);` : ''}
        let U = eta * ki * G;
        var dlam = Sp * dZ${c.retention.coupled ? ' - U * dZ' : ''};
        let dU = -${cpl} * dZ;
        dS[r] = lam * dZ;
        cbp += ki * G * dU;
        pk[r] = eta * G * dU;
        let dGv = eta * ki * dU;
        ${c.bias.hebbian ? 'cg -= dGv;' : matrixL2 ? 'cg += dGv;' : ''}
        ${
          vectorL2
            ? `let de = bias_de(ev, dl, 0.0, 0.0, 0.0, dGv, 0.0, 0.0, 0.0);
        sdl += bias_ddelta(ev, dl, 0.0, 0.0, 0.0, dGv, 0.0, 0.0, 0.0);
        cg -= de;
        let dP = ki * de;
        pk[r] += Pt * de;
        ${retained ? 'dS[r] += lam * dP; dlam += Sp * dP;' : 'dS[r] += dP;'}`
            : ''
        }
        pl[r] = dlam;
      }
      ${defer ? `if (sgok) {
      red[l * ${u(CW)} + t] = cg;${cb >= 0 ? `
      red[l * ${u(CW)} + ${u(cb * W)} + t] = cbp;` : ''}
      } else {` : ''}
      red[rb + ${u(CRO)} + t] = cg;
      ${cb >= 0 ? `red[rb + ${u(CRO + cb * W)} + t] = cbp;` : ''}
      workgroupBarrier();
      ${colSum(0)}
      ${cb >= 0 ? colSum(cb) : ''}
      ${sgIf('!sgok', reduce)}
      ${
        matrixL2
          ? `let de = bias_de(e, dl, 0.0, 0.0, 0.0, c0T, 0.0, 0.0, 0.0);
      let ddl = bias_ddelta(e, dl, 0.0, 0.0, 0.0, c0T, 0.0, 0.0, 0.0);
      if (p == 0u) { grad_v[rowv(b, tau, h) + j] = ${PRE(`${u(off.gv)} + jl`)} - de; }
      for (var r = 0u; r < R; r++) {
        let i = p * R + r;
        let ki = pre[l * PS + i];
        let lam = ${lamRow};
        let Sp = histS[l * R + r];
        let dP = ki * de;
        pk[r] += ${retained ? 'lam * Sp' : 'Sp'} * de;
        ${retained ? 'dS[r] += lam * dP; pl[r] += Sp * dP;' : 'dS[r] += dP;'}
      }`
          : `if (p == 0u) { grad_v[rowv(b, tau, h) + j] = ${PRE(`${u(off.gv)} + jl`)} + c0T; }`
      }${defer && bcOut ? `\n      ${bcOut}` : ''}${defer ? '\n      }' : ''}
      ${
        !c.hasBeta
          ? ''
          : implicit
            ? `let den = 1.0 + beta * kk;
      let dbc = c${cb}T / (den * den);
      for (var r = 0u; r < R; r++) { let ki = pre[l * PS + p * R + r]; pk[r] += c${cb}T * (-2.0 * beta * beta * ki) / (den * den); }
      ${c.betaPerChannel ? `if (p == 0u) { dx[${u(DXG)} + rowg(b, tau, h) + ${u(f.bc!)} + j] = dbc; }` : `ps[${sfIdx('beta')}] = select(0.0, dbc, p == 0u);`}`
            : c.betaPerChannel
              ? defer
                ? ''
                : bcOut
              : `ps[${sfIdx('beta')}] = cbp;`
      }
      ${c.retention.decay === 'scalar' ? `var sgs = 0.0; if (sub == 0u) { for (var r = 0u; r < R; r++) { sgs += lamS * pl[r]; } } ps[${sfIdx('g')}] = sgs;` : ''}
      ${chan ? `for (var r = 0u; r < R; r++) { let i = p * R + r; pl[r] = select(0.0, ${lamRow} * pl[r], sub == 0u); }` : ''}
      ${c.bias.delta === 'data' ? `ps[${sfIdx('delta')}] = ${matrixL2 ? 'select(0.0, ddl, p == 0u)' : 'sdl'};` : ''}
      ${sg ? `if (sgok) { ${sgRows} }` : ''}
      for (var r = 0u; r < R; r++) { Sn[r] = histS[l * R + r]; }
      pend = tau;
      rb = ${u(RB)} - rb;`;
  // staged operands of sub-step tau, slot o: [k | q | channel gates | v | ∂o | grad.v so far | β per channel | scalar gates | ‖k‖²]
  // (grad.v is read here so the reverse step only stores: a read-modify-write would expose a global latency per step)
  const st = staging(
    [
      { name: 'k', len: L.DK, off: 0, src: 'k[rowk(b, tau, h) + o]' },
      { name: 'q', len: L.DK, off: off.q, src: 'q[rowq(b, tau / STEPS, h) + o]' },
      ...(chan ? [{ name: 'gc', len: L.DK, off: off.g, src: `gates[rowg(b, tau, h) + ${u(f.gc!)} + o]` }] : []),
      { name: 'v', len: TV, off: off.v, src: 'v[rowv(b, tau, h) + j0 + o]' },
      { name: 'do', len: TV, off: off.dout, src: 'select(0.0, dout[rowo(b, tau / STEPS, h) + j0 + o], tau % STEPS == STEPS - 1u)' },
      { name: 'gv', len: TV, off: off.gv, src: 'grad_v[rowv(b, tau, h) + j0 + o]' },
      ...(f.bc !== undefined ? [{ name: 'bc', len: TV, off: off.bc, src: `gates[rowg(b, tau, h) + ${u(f.bc)} + j0 + o]` }] : []),
      ...pt.scal.map((n, m) => ({ name: `s${m}`, len: 1, off: off.s + m, src: `gates[rowg(b, tau, h) + ${u(f[n]!)}]` })),
    ],
    LP,
    W,
  );
  const stage = {
    load: st.load,
    store: st.store,
    after: implicit
      ? `for (var l = t; l < LP; l += W) { var a = 0.0; for (var i = 0u; i < DK; i++) { let ki = pre[l * PS + i]; a += ki * ki; } pre[l * PS + ${u(off.kk)}] = a; }
      workgroupBarrier();`
      : undefined,
  };
  const names = ['q', 'k', 'v', 'gates', 'dout', 'state', 'dx', 'grad_v'];
  const binds = ['q', 'k', 'v', 'scratch.gates', 'grad.o', 'scratch.state', 'scratch.dx', 'grad.v'];
  const access = ['read', 'read', 'read', 'read', 'read', 'read_write', 'read_write', 'read_write'] as const;
  const decl = names.map((n, i) => `@group(0) @binding(${i}) var<storage, ${access[i]}> ${n}: array<f32>;`).join('\n');
  const wgsl = `${sg ? 'enable subgroups;\n' : ''}${header(c, s, L, 'backward (fast: column-split, two-level recompute)')}
//   ${L.NT} workgroup(s) of ${TV} value columns per head; ${P} invocations per column (R = ${R} key rows each); sub-segments of ${LP} sub-steps
${decl}
${consts(c, L)}
${mathFns(c)}
${splitConsts({ LP, P, R, TV, W, PS })}
var<workgroup> pre: array<f32, ${LP * PS}>;
var<workgroup> red: array<f32, ${2 * RB}>;
${cyN ? `var<workgroup> cy: array<f32, ${cyN}>;` : ''}${sg ? `\n${SG_VARS}` : ''}

@compute @workgroup_size(${W})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u${sg ? ', @builtin(subgroup_size) sgsz: u32' : ''}) {
  ${names.map((n) => `_ = &${n};`).join(' ')}
  ${SPLIT_IDS}${sg ? `\n  ${subgroupCheck(TV)}` : ''}
  var S: array<f32, R>;
  var Sn: array<f32, R>;
  var dS: array<f32, R>;
  var pk: array<f32, R>;
  var pq: array<f32, R>;
  var pl: array<f32, R>;
  var ps: array<f32, ${Math.max(1, sf.length)}>;
  ${recomputeDecls([{ name: 'S', rows: true }], NSUB, LP, R)}
  ${matrixL2 ? `var histE: array<f32, ${LP}>;` : ''}
  ${st.decl}
  var pend = 0xffffffffu;
  var rb = 0u;
  var cyb = 0u;
  for (var r = 0u; r < R; r++) { dS[r] = state[DFIN + bh * SZ + (p * R + r) * DV + j]; }
  ${recomputeWalk({
    vars: [{ name: 'S', rows: true }],
    load: 'for (var r = 0u; r < R; r++) { S[r] = state[ckpt(bh, seg, 0u, p * R + r, j)]; }',
    stage,
    prefetch: cfg.prefetch,
    step: fwdStep(false),
    kept: fwdStep(true),
    beforeReverse: '      for (var r = 0u; r < R; r++) { Sn[r] = S[r]; }',
    reverse: revStep,
    afterReverse: defer ? `      ${ringOut}` : undefined,
  })}
  // the last sub-step's row sums
  ${sg ? sgIf('!sgok', writePending) : `{
    ${writePending}
  }`}
  workgroupBarrier();
  ${sgIf('!sgok', reduce)}
  ${
    c.init.kind === 'learned'
      ? `// gradient of the initial memory (summed over the batch by the unpack kernel)
  for (var r = 0u; r < R; r++) { dx[${u(L.dx.init)} + bh * SZ + (p * R + r) * DV + j] = dS[r]; }`
      : ''
  }
}
`;
  return {
    name: 'miras_recurrent_bwd_fast',
    wgsl: unrollLoops(wgsl, 'r', 'R', R),
    entryPoint: 'main',
    bindings: binds.map((buffer, i) => ({ buffer, access: access[i] })),
    workgroups: [L.B * L.H, L.NT, 1],
  };
}
