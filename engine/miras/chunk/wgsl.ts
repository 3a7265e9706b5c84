/**
 * WGSL generators of the chunk-parallel scans (fla's chunk.py, miras.md §3.1–3.3), one float64
 * reference away in ./naive.ts (chunkForward/chunkBackward mirror these kernels step for step).
 *
 * Kernels (C = chunk, NT = ⌈T/C⌉ chunks, BH = batch·heads; "par" = one workgroup per (chunk, bh),
 * "seq" = one workgroup per (V-tile, bh) walking the chunks with its state tile in workgroup memory,
 * "scan" = one invocation per state element walking the chunks):
 *   forward   linear: state_local (par: each chunk's own k̃ᵀv) → state_scan (h[n], final state) → output (par)
 *             delta:  wy (par) → state (seq: h[n], v_new, final state) → output (par)
 *   backward  linear: dstate_local (par) → dstate_scan (reverse) → dq → dkv → dg (par)
 *             delta:  dvlocal → dstate (seq, reverse, dv2) → dqk → wy_bwd_a → wy_bwd_b (par)
 * Products are register-blocked (gemm(): rm×4 outputs per invocation); operand tiles are staged in
 * workgroup memory by priority within the device's limit, loads kept several in flight (unrolled()),
 * and the delta rule's sequential passes prefetch the next chunk into registers (prefetch()).
 * Gates are chunk-local log2 cumsums (exp2 as fla). The channel-wise gate uses secondary chunking:
 * 16-token sub-chunks; across sub-chunks I > J, e^{B_i−B_j} = e^{B_i−F_I}·e^{F_I−E_J}·e^{E_J−B_j}
 * (F_I first row of I, E_J last row of J), three factors ≤ 1 that never overflow; inside a
 * sub-chunk the factor is computed per element. Backward reuses the forward's scratch (states,
 * w, u, v_new, (I+A)^-1) and ADDS into grad buffers (engine/ir/scan.ts convention).
 * Every kernel binds at most 8 storage buffers and sizes its workgroup memory from the tiling.
 */
import type { KernelSpec } from '../../plan/kernel';
import { bindings, declare, f, u, type Bind } from '../../ops/wgsl';
import type { ChunkScanConfig, ChunkScanShape } from './types';

export interface ChunkTiling {
  /** chunk length: 16, 32 or 64 */
  C: number;
  /** workgroup memory the parallel kernels may fill with staged operand tiles (bytes; 0: none) */
  stageBytes?: number;
  /** V-tile of the sequential (state) kernels */
  VT: number;
  /** invocations per workgroup */
  WG: number;
  /**
   * 'f16' (needs the device feature shader-f16): operand tiles whose scale is that of the inputs (q, k, v, do,
   * w, u, v_new, the intra-chunk matrices A and dS) are staged in workgroup memory as f16, products accumulate
   * in f32. Gate cumsums, states and state gradients, the WY inverse and every reduction stay f32 (README).
   * Default 'f32': the WGSL is exactly that of a tiling without this field.
   */
  precision?: ChunkPrecision;
  /**
   * Reductions through subgroup operations (device feature `subgroups`, never assumed): the workgroup sums of the
   * chunk-end term and the dg reverse cumsums, each behind a run-time check with the workgroup-memory fallback.
   * Absent or false: the WGSL is exactly that of a tiling without this field.
   */
  subgroups?: boolean;
}

export type ChunkPrecision = 'f32' | 'f16';

/** Logical buffer names, engine/ir/scan.ts convention. */
const BUF: Record<string, string> = {
  q: 'q', k: 'k', v: 'v', g: 'g', beta: 'beta', h0: 'h0', o: 'o', ht: 'finalState',
  dO: 'grad.o', dht: 'grad.finalState', dq: 'grad.q', dk: 'grad.k', dv: 'grad.v', dg: 'grad.g', dbeta: 'grad.beta', dh0: 'grad.h0',
  wsS: 'scratch.state', wsT: 'scratch.tok',
};

/** Offsets (in f32 elements) of the scratch regions. */
export function scratchLayout(cfg: ChunkScanConfig, s: ChunkScanShape, C: number) {
  const BH = s.B * s.H;
  const NT = Math.ceil(s.T / C);
  const TP = NT * C;
  const stateN = BH * NT * s.K * s.V;
  const regions: [string, number][] = [];
  if (cfg.rule === 'delta') {
    regions.push(['W', BH * TP * s.K], ['U', BH * TP * s.V], ['VN', BH * TP * s.V], ['AINV', BH * NT * C * C]);
    regions.push(['DVL', BH * TP * s.V], ['DV2', BH * TP * s.V], ['DW', BH * TP * s.K]);
    regions.push(['DX', BH * TP * s.K], ['DY', BH * TP * s.V], ['M1', BH * NT * C * C]);
    // GC: the chunk-local log2 gate cumsum, from the WY kernel, for the sequential state passes
    regions.push(['GC', BH * TP]);
  }
  const tok: Record<string, number> = {};
  let off = 0;
  for (const [name, n] of regions) {
    tok[name] = off;
    off += n;
  }
  // DB: per-token (per-channel for the vector gate) gradient of the chunk-local cumsum, before the reverse cumsum
  const GK = cfg.gate === 'vector' ? s.K : 1;
  // DEC: each chunk's total decay e^{B_L} (per channel for the vector gate), written by the linear rule's
  // local-state kernels and read by the chunk scans; HT: the final state again, for dg's chunk-end term
  const DB = 2 * stateN;
  const DEC = DB + BH * TP * GK;
  const HT = DEC + BH * NT * GK;
  return { HS: 0, DHS: stateN, DB, DEC, HT, stateElems: HT + BH * s.K * s.V, tok, tokElems: off };
}

/** Linear rule with β: the kernels read v' = β⊙v and accumulate dv' in scratch; small kernels convert. */
let bufMap: Record<string, string> = BUF;
/** Precision of the operand tiles while one configuration is generated (see ChunkTiling.precision). */
let half = false;
/** Subgroup reductions while one configuration is generated (see ChunkTiling.subgroups). */
let sgOn = false;

/**
 * Subgroup sum of arr[0 .. n) into `v`, in workgroup-uniform control flow: every subgroup sums all n entries
 * (lane l takes l, l + sgsz, …) and reduces with subgroupAdd. WGSL promises no mapping of invocations to lanes;
 * this needs none, only that the subgroup is full (its lanes then cover every residue mod sgsz), which it
 * checks: `${v}Full` = subgroupAdd(1) == sgsz. Where that is false the caller runs its fallback.
 */
function sgTotal(v: string, arr: string, n: string): string {
  return `
  var ${v}P = 0.0;
  for (var l = sgid; l < ${n}; l += sgsz) { ${v}P += ${arr}[l]; }
  let ${v} = subgroupAdd(${v}P);
  let ${v}Full = subgroupAdd(1u) == sgsz;`;
}

/**
 * The gate gradient's reverse cumsum over the chunk's valid rows: dst(i) += init + Σ_{i ≤ i' < cv} x(i').
 * Serial: invocation 0 walks the rows (after `serialInit`, which may add to its `run`). With subgroups: the subgroup holding
 * invocation 0 scans segments of sgsz rows with subgroupInclusiveAdd (lane l takes row cv − 1 − (s0 + l)); every
 * subgroup runs the loop (cv and sgsz are uniform), so the subgroup operations stay in uniform control flow,
 * and only that subgroup writes. It needs a full subgroup (checked); else invocation 0 runs the serial walk.
 * `sgInit` is the subgroup path's start value (e.g. an sgTotal).
 */
function reverseCumsum(x: (i: string) => string, dst: (i: string) => string, sgInit = '0.0', serialInit = ''): string {
  const serial = `
    var run = 0.0;${serialInit}
    for (var ii = 0u; ii < cv; ii++) {
      let i = cv - 1u - ii;
      run += ${x('i')};
      ${dst('i')} += run;
    }`;
  if (!sgOn) return `
  if (tid == 0u) {${serial}
  }`;
  return `
  let rcLead = subgroupAny(tid == 0u);
  let rcFull = subgroupAdd(1u) == sgsz;
  var rcCarry = ${sgInit};
  for (var s0 = 0u; s0 < cv; s0 += sgsz) {
    let ii = s0 + sgid;
    var xv = 0.0;
    if (ii < cv) { let i = cv - 1u - ii; xv = ${x('i')}; }
    let incl = subgroupInclusiveAdd(xv);
    if (rcLead && rcFull && ii < cv) { let i = cv - 1u - ii; ${dst('i')} += rcCarry + incl; }
    rcCarry += subgroupAdd(xv);
  }
  if (tid == 0u && !rcFull) {${serial}
  }`;
}

/** β of the chunk's rows into sBeta (zero past T). */
const BETA_LOAD = 'for (var e = tid; e < C; e += WG) { var bt = 0.0; if (e < cv) { bt = beta[(b * T + n0 + e) * H + h]; } sBeta[e] = bt; }';

/** sA[i][j] = Σ_k q_ik k_jk Γ_ijk for j ≤ i (zero elsewhere and past T). */
const INTRA_A = `for (var e = tid; e < C * C; e += WG) {
    let i = e / C; let j = e % C;
    var a = 0.0;
    if (j <= i && i < cv) { a = gatedDot(b, h, n0, i, j); }
    sA[e] = a;
  }`;

/** One accumulation of a register-blocked product: acc(i, c) += Σ_{l ∈ [from, to)} a(i, l) · b(l, c). */
interface Term {
  /** loop bounds, WGSL u32 expressions (may use i0, the block's first row, and iN, one past its last) */
  from?: string;
  to: string;
  a: (i: string, l: string) => string;
  b: (l: string, c: string) => string;
  /** multiply each row's accumulators by this after the term (e.g. a gate factor) */
  rowScale?: (i: string) => string;
}

/**
 * A copy loop with up to UF elements per invocation per trip: every load of a trip is issued before
 * its stores, so UF global loads are in flight at once instead of one round trip per element.
 * load(e, j) declares and fills x{j} for element e (guarding e < n itself); store(e, j) runs when e < n.
 */
function unrolled(n: number, WG: number, load: (e: string, j: number) => string, store: (e: string, j: number) => string, UFmax = 8): string {
  const UF = Math.max(1, Math.min(UFmax, Math.ceil(n / WG)));
  const J = [...Array(UF).keys()];
  return `
  for (var e0 = tid; e0 < ${u(n)}; e0 += ${u(UF * WG)}) {
    ${J.map((j) => `let e${j} = ${j ? `e0 + ${u(j * WG)}` : 'e0'}; ${load(`e${j}`, j)}`).join('\n    ')}
    ${J.map((j) => `if (e${j} < ${u(n)}) { ${store(`e${j}`, j)} }`).join('\n    ')}
  }`;
}

/** Block shape of gemm(): rm rows × cn columns per invocation; NB column groups per row. */
function gemmShape(M: number, N: number, WG: number) {
  const cn = N % 4 === 0 ? 4 : N % 2 === 0 ? 2 : 1;
  const NB = N / cn;
  let rm = 1;
  for (const r of [4, 2]) if (M % r === 0 && (M / r) * NB >= WG) { rm = r; break; }
  return { rm, cn, NB, MB: M / rm };
}

/**
 * Register-blocked product over an M×N output: each invocation owns rm consecutive rows × cn columns
 * (columns interleaved by N/cn, so neighbouring invocations read neighbouring addresses: no bank
 * conflicts on padded tiles, coalesced global reads), loads rm + cn operands per rm·cn FMAs, and keeps
 * rm·cn independent accumulators. store(i, c, v, rs) writes one result; rs names a per-row f32 the
 * store may add to, handed to rowSum(i, rs) after the block (e.g. sP[i·NB + cb] = rs, cb in scope).
 * Equal (M, N) give every invocation the same blocks, so consecutive gemms need no barrier between
 * them for data they own.
 */
function gemm(WG: number, o: {
  M: number; N: number; terms: Term[];
  store: (i: string, c: string, v: string, rs: string) => string;
  rowSum?: (i: string, rs: string) => string;
}): string {
  const { rm, cn, NB, MB } = gemmShape(o.M, o.N, WG);
  const R = [...Array(rm).keys()];
  const Cs = [...Array(cn).keys()];
  const row = (r: number) => (r ? `(i0 + ${r}u)` : 'i0');
  const col = (m: number) => (m ? `(cb + ${u(m * NB)})` : 'cb');
  let s = `
  for (var blk = tid; blk < ${u(MB * NB)}; blk += WG) {
    let i0 = (blk / ${u(NB)}) * ${u(rm)}; let iN = i0 + ${u(rm)}; let cb = blk % ${u(NB)};
    ${R.map((r) => Cs.map((m) => `var acc${r}_${m} = 0.0;`).join(' ')).join('\n    ')}${o.rowSum ? `\n    ${R.map((r) => `var rs${r} = 0.0;`).join(' ')}` : ''}`;
  for (const t of o.terms) {
    s += `
    for (var l = ${t.from ?? '0u'}; l < ${t.to}; l++) {
      ${R.map((r) => `let a${r} = ${t.a(row(r), 'l')};`).join(' ')}
      ${Cs.map((m) => `let b${m} = ${t.b('l', col(m))};`).join(' ')}
      ${R.map((r) => Cs.map((m) => `acc${r}_${m} = fma(a${r}, b${m}, acc${r}_${m});`).join(' ')).join('\n      ')}
    }`;
    if (t.rowScale) {
      s += R.map((r) => `
    { let f = ${t.rowScale!(row(r))}; ${Cs.map((m) => `acc${r}_${m} *= f;`).join(' ')} }`).join('');
    }
  }
  s += R.map((r) => Cs.map((m) => `
    { let i = ${row(r)}; let c = ${col(m)}; ${o.store('i', 'c', `acc${r}_${m}`, `rs${r}`)} }`).join('')).join('');
  if (o.rowSum) s += R.map((r) => `\n    ${o.rowSum!(row(r), `rs${r}`)}`).join('');
  return `${s}
  }`;
}

class Kernel {
  binds: Bind[] = [];
  shared: [string, number, string][] = [];
  constructor(readonly name: string) {}
  bind(v: string, access: 'read' | 'read_write') {
    this.binds.push({ name: v, buffer: bufMap[v], access });
    return this;
  }
  smem(name: string, n: number) {
    this.shared.push([name, Math.max(1, n), 'f32']);
    return this;
  }
  /** workgroup array of n vec4<f32> (register-blocked products read four channels per load) */
  smem4(name: string, n: number) {
    this.shared.push([name, Math.max(1, n), 'vec4<f32>']);
    return this;
  }
  /**
   * An operand tile: f16 in the 'f16' precision mode (every access converted by halveAccesses in finish()),
   * else f32. Only for values on the inputs' scale, never for gate cumsums, states or reductions.
   */
  op(name: string, n: number) {
    this.shared.push([name, Math.max(1, n), half ? 'f16' : 'f32']);
    return this;
  }
  /** vec4 operand tile (see op) */
  op4(name: string, n: number) {
    this.shared.push([name, Math.max(1, n), half ? 'vec4<f16>' : 'vec4<f32>']);
    return this;
  }
  get smemBytes() {
    return this.shared.reduce((a, [, n, ty]) => a + SMEM_BYTES[ty] * n, 0);
  }
}

const SMEM_BYTES: Record<string, number> = { f32: 4, f16: 2, 'vec4<f32>': 16, 'vec4<f16>': 8 };
/** Bytes of one operand-tile element in the current precision. */
const opBytes = () => (half ? 2 : 4);

/**
 * Rewrites every access to the f16 workgroup arrays of a kernel: a read becomes f32(a[i]) (vec4f for vec4
 * arrays), a store a[i] = x becomes a[i] = f16(x), a compound store a[i] op= x becomes a[i] = f16(f32(a[i]) op (x)).
 * So the generators write one WGSL for both precisions, and the arithmetic stays f32 in registers.
 */
export function halveAccesses(code: string, arrays: Map<string, string>): string {
  if (!arrays.size) return code;
  const pat = `(?<![\\w.])(${[...arrays.keys()].join('|')})\\[`;
  const re = new RegExp(pat, 'g');
  let out = '';
  let pos = 0;
  for (let m = re.exec(code); m; m = re.exec(code)) {
    const name = m[1];
    const open = m.index + name.length;
    let depth = 0;
    let close = open;
    for (; close < code.length; close++) {
      if (code[close] === '[') depth++;
      else if (code[close] === ']' && --depth === 0) break;
    }
    const idx = code.slice(open + 1, close);
    if (new RegExp(pat).test(idx)) {
      throw new Error(`halveAccesses: nested f16 array access in ${name}[${idx}]`);
    }
    const vec = arrays.get(name)!.startsWith('vec4');
    const rd = vec ? 'vec4f' : 'f32';
    const wr = vec ? 'vec4<f16>' : 'f16';
    const after = code.slice(close + 1);
    const st = /^\s*([-+*]?)=(?!=)/.exec(after);
    out += code.slice(pos, m.index);
    if (st) {
      // the stored expression runs to the statement's ';' at bracket depth 0
      let d = 0;
      let end = close + 1 + st[0].length;
      for (; end < code.length; end++) {
        const ch = code[end];
        if (ch === '(' || ch === '[') d++;
        else if (ch === ')' || ch === ']') d--;
        else if (ch === ';' && d === 0) break;
      }
      const rhs = halveAccesses(code.slice(close + 1 + st[0].length, end).trim(), arrays);
      const val = st[1] ? `${rd}(${name}[${idx}]) ${st[1]} (${rhs})` : rhs;
      out += `${name}[${idx}] = ${wr}(${val})`;
      pos = end;
    } else {
      out += `${rd}(${name}[${idx}])`;
      pos = close + 1;
    }
    re.lastIndex = pos;
  }
  return out + code.slice(pos);
}

export interface GeneratedKernel extends KernelSpec {
  smemBytes: number;
}

/** Everything the generators need, with the WGSL snippets that depend on the gate. */
class Ctx {
  readonly C: number;
  readonly NT: number;
  readonly NC: number;
  readonly GK: number;
  readonly vec: boolean;
  readonly gated: boolean;
  readonly delta: boolean;
  readonly lay: ReturnType<typeof scratchLayout>;
  constructor(readonly cfg: ChunkScanConfig, readonly s: ChunkScanShape, readonly t: ChunkTiling) {
    this.C = t.C;
    this.NT = Math.ceil(s.T / t.C);
    this.NC = t.C / 16;
    this.vec = cfg.gate === 'vector';
    this.gated = cfg.gate !== 'none';
    this.delta = cfg.rule === 'delta';
    this.GK = this.vec ? s.K : 1;
    this.lay = scratchLayout(cfg, s, t.C);
  }

  /** log2 cumsum at chunk row i (channel kk for the vector gate): a WGSL expression. */
  G(i: string, kk = '0u'): string {
    if (!this.gated) return '0.0';
    return this.vec ? `sB[(${i}) * K + (${kk})]` : `sB[${i}]`;
  }

  /** Raw log2 decay of token t (guarded by the caller). */
  rawGate(kk: string): string {
    switch (this.cfg.gate) {
      case 'const':
        return 'GH[h] * RLN2';
      case 'scalar':
        return 'g[(b * T + t) * H + h] * RLN2';
      case 'vector':
        return `g[((b * T + t) * H + h) * K + ${kk}] * RLN2`;
      default:
        return '0.0';
    }
  }

  prelude(k: Kernel): string {
    const { s, C, NT } = this;
    const tok = Object.entries(this.lay.tok)
      .map(([n, o]) => `const ${n}_OFF: u32 = ${u(o)};`)
      .join('\n');
    return `// ${k.name}: chunk scan (${this.cfg.rule}, gate ${this.cfg.gate}), C=${C}
${declare(k.binds)}
const T: u32 = ${u(s.T)};
const H: u32 = ${u(s.H)};
const K: u32 = ${u(s.K)};
const V: u32 = ${u(s.V)};
const C: u32 = ${u(C)};
const NT: u32 = ${u(NT)};
const TP: u32 = ${u(NT * C)};
const NC: u32 = ${u(this.NC)};
const GK: u32 = ${u(this.GK)};
const VT: u32 = ${u(this.t.VT)};
const WG: u32 = ${u(this.t.WG)};
const SCALE: f32 = ${f(this.cfg.scale)};
const RLN2: f32 = 1.4426950408889634;${this.cfg.gate === 'const' ? `\nconst GH = array<f32, ${s.H}>(${this.cfg.logDecay!.map(f).join(', ')});` : ''}
const HS_OFF: u32 = ${u(this.lay.HS)};
const DHS_OFF: u32 = ${u(this.lay.DHS)};
const DB_OFF: u32 = ${u(this.lay.DB)};
const DEC_OFF: u32 = ${u(this.lay.DEC)};
const HT_OFF: u32 = ${u(this.lay.HT)};
${tok}
${k.shared.map(([n, sz, ty]) => `var<workgroup> ${n}: array<${ty}, ${sz}>;`).join('\n')}
fn qi(b: u32, t: u32, h: u32, d: u32) -> u32 { return ((b * T + t) * H + h) * K + d; }
fn vi(b: u32, t: u32, h: u32, d: u32) -> u32 { return ((b * T + t) * H + h) * V + d; }
`;
  }

  /** Loads the chunk's gates into sB and turns them into chunk-local log2 cumsums. */
  gateCumsum(): string {
    if (!this.gated) return '';
    return `
  for (var e = tid; e < C * GK; e += WG) {
    let t = n0 + e / GK;
    var x = 0.0;
    if (t < T) { x = ${this.rawGate('e % GK')}; }
    sB[e] = x;
  }
  workgroupBarrier();
  for (var ch = tid; ch < GK; ch += WG) {
    var acc = 0.0;
    for (var i = 0u; i < C; i++) { acc += sB[i * GK + ch]; sB[i * GK + ch] = acc; }
  }
  workgroupBarrier();`;
  }

  /** Shared arrays for the gate and the vector-gate secondary chunking. */
  gateSmem(k: Kernel, needCross: boolean) {
    if (this.gated) k.smem('sB', this.C * this.GK);
    if (this.vec && needCross && this.NC > 1) {
      k.op('sQF', this.C * this.s.K).op('sKE', this.C * this.s.K).smem('sM', this.NC * this.NC * this.s.K);
    }
  }

  /** Stages q·e^{B−F}, k·e^{E−B} and e^{F_I−E_J} for the cross-sub-chunk products (vector gate). */
  stageCross(): string {
    if (!(this.vec && this.NC > 1)) return '';
    return `
  for (var e = tid; e < C * K; e += WG) {
    let i = e / K; let kk = e % K; let t = n0 + i;
    var qv = 0.0; var kv = 0.0;
    if (t < T) { qv = q[qi(b, t, h, kk)]; kv = k[qi(b, t, h, kk)]; }
    let F = (i / 16u) * 16u; let E = F + 15u;
    sQF[e] = qv * exp2(sB[i * K + kk] - sB[F * K + kk]);
    sKE[e] = kv * exp2(sB[E * K + kk] - sB[i * K + kk]);
  }
  for (var e = tid; e < NC * NC * K; e += WG) {
    let I = e / (NC * K); let J = (e / K) % NC; let kk = e % K;
    var m = 0.0;
    if (I > J) { m = exp2(sB[(I * 16u) * K + kk] - sB[(J * 16u + 15u) * K + kk]); }
    sM[e] = m;
  }
  workgroupBarrier();`;
  }

  /** WGSL functions: gated q·k products, and (withIntra) the intra-chunk parts of dq and dk. */
  helpers(withIntra = true): string {
    const { vec, NC } = this;
    const dotGated = vec
      ? `
fn gatedDot(b: u32, h: u32, n0: u32, i: u32, j: u32) -> f32 {
  var acc = 0.0;
  if (i / 16u == j / 16u) {
    for (var kk = 0u; kk < K; kk++) {
      acc += q[qi(b, n0 + i, h, kk)] * k[qi(b, n0 + j, h, kk)] * exp2(sB[i * K + kk] - sB[j * K + kk]);
    }
  } else {${NC > 1 ? `
    let mo = ((i / 16u) * NC + j / 16u) * K;
    for (var kk = 0u; kk < K; kk++) { acc += sQF[i * K + kk] * sM[mo + kk] * sKE[j * K + kk]; }` : ''}
  }
  return acc;
}`
      : `
fn gatedDot(b: u32, h: u32, n0: u32, i: u32, j: u32) -> f32 {
  var acc = 0.0;
  for (var kk = 0u; kk < K; kk++) { acc += q[qi(b, n0 + i, h, kk)] * k[qi(b, n0 + j, h, kk)]; }
  return acc * exp2(${this.G('i')} - ${this.G('j')});
}`;
    // dq_intra(i,kk) = Σ_{j≤i} sDS[i][j] k_jk Γ_ijk ; dk_intra(j,kk) = Σ_{i≥j} sDS[i][j] q_ik Γ_ijk
    const intra = vec
      ? `
fn dqIntra(b: u32, h: u32, n0: u32, i: u32, kk: u32) -> f32 {
  let I = i / 16u;
  var acc = 0.0;
  for (var j = I * 16u; j <= i; j++) { acc += sDS[i * C + j] * k[qi(b, n0 + j, h, kk)] * exp2(sB[i * K + kk] - sB[j * K + kk]); }${NC > 1 ? `
  var cross = 0.0;
  for (var J = 0u; J < I; J++) {
    var part = 0.0;
    for (var j = J * 16u; j < J * 16u + 16u; j++) { part += sDS[i * C + j] * sKE[j * K + kk]; }
    cross += sM[(I * NC + J) * K + kk] * part;
  }
  acc += exp2(sB[i * K + kk] - sB[(I * 16u) * K + kk]) * cross;` : ''}
  return acc;
}
fn dkIntra(b: u32, h: u32, n0: u32, cv: u32, j: u32, kk: u32) -> f32 {
  let J = j / 16u;
  var acc = 0.0;
  for (var i = j; i < min(J * 16u + 16u, cv); i++) { acc += sDS[i * C + j] * q[qi(b, n0 + i, h, kk)] * exp2(sB[i * K + kk] - sB[j * K + kk]); }${NC > 1 ? `
  var cross = 0.0;
  for (var I = J + 1u; I < NC; I++) {
    var part = 0.0;
    for (var i = I * 16u; i < I * 16u + 16u; i++) { part += sDS[i * C + j] * sQF[i * K + kk]; }
    cross += sM[(I * NC + J) * K + kk] * part;
  }
  acc += exp2(sB[(J * 16u + 15u) * K + kk] - sB[j * K + kk]) * cross;` : ''}
  return acc;
}`
      : `
fn dqIntra(b: u32, h: u32, n0: u32, i: u32, kk: u32) -> f32 {
  var acc = 0.0;
  for (var j = 0u; j <= i; j++) { acc += sDS[i * C + j] * k[qi(b, n0 + j, h, kk)]; }
  return acc;
}
fn dkIntra(b: u32, h: u32, n0: u32, cv: u32, j: u32, kk: u32) -> f32 {
  var acc = 0.0;
  for (var i = j; i < cv; i++) { acc += sDS[i * C + j] * q[qi(b, n0 + i, h, kk)]; }
  return acc;
}`;
    return withIntra ? dotGated + intra : dotGated;
  }

  /** Accessor of v (linear) or v_new (delta) tiles in the parallel kernels. */
  get VN(): string {
    return this.delta ? 'VNd' : 'VV';
  }

  /** sA[i][j] = Σ_k q_ik k_jk Γ_ij for j ≤ i (zero elsewhere and past T); register-blocked for scalar gates. */
  intraA(): string {
    if (this.vec) return INTRA_A;
    const gate = this.gated ? ` * exp2(${this.G('i')} - ${this.G('j')})` : '';
    return gemm(this.t.WG, {
      M: this.C, N: this.C,
      terms: [{ to: 'K', a: (i, l) => `Q(${i}, ${l})`, b: (l, j) => `KK(${j}, ${l})` }],
      store: (i, j, v) => `let j = ${j}; sA[i * C + j] = select(0.0, ${v}${gate}, j <= i && i < cv);`,
    });
  }

  /** v (linear) or v_new (delta) at chunk row j, column c. */
  vn(j: string, c: string): string {
    return this.delta ? `wsT[VN_OFF + (bh * TP + n0 + ${j}) * V + ${c}]` : `v[vi(b, n0 + ${j}, h, ${c})]`;
  }

  /**
   * Parallel kernels: operand reads go through accessors (Q, KK, VV, DO, VNd, HH, DH, DW, DV2) that read
   * a tile staged in workgroup memory when it fits the budget, in the kernel's priority order, else global memory.
   */
  stage(k: Kernel, body: string, extra: string, priority: string[]): { body: string; extra: string } {
    const R = '(?!\\s*[-+]?=(?!=))';
    const rules: [RegExp, string][] = [
      [new RegExp(`\\bq\\[qi\\(b, n0 \\+ (\\w+), h, (\\w+)\\)\\]${R}`, 'g'), 'Q($1, $2)'],
      [new RegExp(`\\bk\\[qi\\(b, n0 \\+ (\\w+), h, (\\w+)\\)\\]${R}`, 'g'), 'KK($1, $2)'],
      [new RegExp(`\\bv\\[vi\\(b, n0 \\+ (\\w+), h, (\\w+)\\)\\]${R}`, 'g'), 'VV($1, $2)'],
      [new RegExp(`\\bdO\\[vi\\(b, n0 \\+ (\\w+), h, (\\w+)\\)\\]${R}`, 'g'), 'DO($1, $2)'],
      [new RegExp(`wsT\\[VN_OFF \\+ \\(bh \\* TP \\+ n0 \\+ (\\w+)\\) \\* V \\+ (\\w+)\\]${R}`, 'g'), 'VNd($1, $2)'],
      [new RegExp(`wsT\\[DV2_OFF \\+ \\(bh \\* TP \\+ n0 \\+ (\\w+)\\) \\* V \\+ (\\w+)\\]${R}`, 'g'), 'DV2($1, $2)'],
      [new RegExp(`wsT\\[DW_OFF \\+ \\(bh \\* TP \\+ n0 \\+ (\\w+)\\) \\* K \\+ (\\w+)\\]${R}`, 'g'), 'DW($1, $2)'],
      [new RegExp(`wsS\\[HS_OFF \\+ \\(\\(bh \\* NT \\+ n\\) \\* K \\+ (\\w+)\\) \\* V \\+ (\\w+)\\]${R}`, 'g'), 'HH($1, $2)'],
      [new RegExp(`wsS\\[DHS_OFF \\+ \\(\\(bh \\* NT \\+ n\\) \\* K \\+ (\\w+)\\) \\* V \\+ (\\w+)\\]${R}`, 'g'), 'DH($1, $2)'],
    ];
    for (const [re, to] of rules) {
      body = body.replace(re, to);
      extra = extra.replace(re, to);
    }
    const { C } = this;
    // accessor → [rows, cols, global expression, staging source of element (r, c) or whole-tile offset]
    const { K, V } = this.s;
    const acc: Record<string, { rows: number; cols: number; cn: string; glob: string; load: string }> = {
      Q: { rows: C, cols: K, cn: 'K', glob: 'q[qi(pb, pn0 + r, ph, c)]', load: 'tok' },
      KK: { rows: C, cols: K, cn: 'K', glob: 'k[qi(pb, pn0 + r, ph, c)]', load: 'tok' },
      VV: { rows: C, cols: V, cn: 'V', glob: 'v[vi(pb, pn0 + r, ph, c)]', load: 'tok' },
      DO: { rows: C, cols: V, cn: 'V', glob: 'dO[vi(pb, pn0 + r, ph, c)]', load: 'tok' },
      VNd: { rows: C, cols: V, cn: 'V', glob: 'wsT[VN_OFF + (pbh * TP + pn0 + r) * V + c]', load: 'all' },
      DV2: { rows: C, cols: V, cn: 'V', glob: 'wsT[DV2_OFF + (pbh * TP + pn0 + r) * V + c]', load: 'all' },
      DW: { rows: C, cols: K, cn: 'K', glob: 'wsT[DW_OFF + (pbh * TP + pn0 + r) * K + c]', load: 'all' },
      HH: { rows: K, cols: V, cn: 'V', glob: 'wsS[HS_OFF + ((pbh * NT + pn) * K + r) * V + c]', load: 'all' },
      DH: { rows: K, cols: V, cn: 'V', glob: 'wsS[DHS_OFF + ((pbh * NT + pn) * K + r) * V + c]', load: 'all' },
    };
    const used = Object.keys(acc).filter((a) => new RegExp(`\\b${a}\\(`).test(body + extra));
    const budget = this.t.stageBytes ?? 0;
    const staged = new Set<string>();
    // rows padded by one float: lanes reading one column of consecutive rows hit distinct banks
    const size = (a: string) => acc[a].rows * (acc[a].cols + 1);
    // f16 mode: the tiles on the inputs' scale go to f16; states (HH, DH) and what is derived from the state
    // gradient (DV2, DW) stay f32, since f16's range (65504) does not bound them (an ungated state sums T outer products)
    const opTile = (a: string) => ['Q', 'KK', 'VV', 'DO', 'VNd'].includes(a);
    for (const a of [...priority, ...used]) {
      if (!used.includes(a) || staged.has(a)) continue;
      if (k.smemBytes + (opTile(a) ? opBytes() : 4) * size(a) > budget) continue;
      if (opTile(a)) k.op(`st${a}`, size(a));
      else k.smem(`st${a}`, size(a));
      staged.add(a);
    }
    let fns = '\nvar<private> pb: u32;\nvar<private> ph: u32;\nvar<private> pn0: u32;\nvar<private> pbh: u32;\nvar<private> pn: u32;\n';
    let load = '\n  pb = b; ph = h; pn0 = n0; pbh = bh; pn = n;';
    for (const a of used) {
      const d = acc[a];
      const ld = u(d.cols + 1);
      fns += `fn ${a}(r: u32, c: u32) -> f32 { return ${staged.has(a) ? `st${a}[r * ${ld} + c]` : d.glob}; }\n`;
      if (staged.has(a)) {
        const src = d.glob;
        const n = d.rows * d.cols;
        load += unrolled(n, this.t.WG,
          (e, j) => `var x${j} = 0.0; if (${e} < ${u(n)}) { let r = ${e} / ${d.cn}; let c = ${e} % ${d.cn}; ${d.load === 'tok' ? `if (r < cv) { x${j} = ${src}; }` : `x${j} = ${src};`} }`,
          (e, j) => `st${a}[(${e} / ${d.cn}) * ${ld} + ${e} % ${d.cn}] = x${j};`);
      }
    }
    if (staged.size) load += '\n  workgroupBarrier();';
    const anchor = 'let cv = min(C, T - n0);';
    if (!body.includes(anchor)) throw new Error(`${k.name}: staging needs the parallel-kernel head`);
    body = body.replace(anchor, `${anchor}${load}`);
    return { body, extra: fns + extra };
  }

  finish(k: Kernel, body: string, extra: string, workgroups: [number, number, number], priority?: string[]): GeneratedKernel {
    // helper functions the body never calls are dropped: what they read must not count as used below
    for (const fn of ['gatedDot', 'dqIntra', 'dkIntra']) {
      if (!body.includes(`${fn}(`)) extra = extra.replace(new RegExp(`\\nfn ${fn}\\([\\s\\S]*?\\n}`), '');
    }
    if (priority) ({ body, extra } = this.stage(k, body, extra, priority));
    // bind only the buffers the code indexes: layout 'auto' leaves unused bindings out of the layout,
    // and a bind group naming them fails validation (seen on the H200: the linear rule's dq never reads q)
    const code = extra + body;
    k.binds = k.binds.filter((b) => new RegExp(`\\b${b.name.replace('.', '\\.')}\\[`).test(code));
    const halved = new Map(k.shared.filter(([, , ty]) => ty.includes('f16')).map(([n, , ty]) => [n, ty]));
    if (halved.size) {
      extra = halveAccesses(extra, halved);
      body = halveAccesses(body, halved);
    }
    const sg = /\bsg(id|sz)\b/.test(body);
    const enables = `${halved.size ? 'enable f16;\n' : ''}${sg ? 'enable subgroups;\n' : ''}`;
    let wgsl = `${enables}${this.prelude(k)}${extra}
@compute @workgroup_size(${this.t.WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32${sg ? ', @builtin(subgroup_invocation_id) sgid: u32, @builtin(subgroup_size) sgsz: u32' : ''}) {${body}
}
`;
    // One invocation per workgroup needs no barriers: the barrier-free option for software adapters
    // (SwiftShader/Subzero crashed at random in our trials on shaders crossing many barriers).
    if (this.t.WG === 1) wgsl = wgsl.replace(/\b(workgroupBarrier|storageBarrier)\(\);/g, '');
    return { name: k.name, wgsl, entryPoint: 'main', bindings: bindings(k.binds), workgroups, smemBytes: k.smemBytes };
  }

  get parGrid(): [number, number, number] {
    return [this.NT, this.s.B * this.s.H, 1];
  }
  get seqGrid(): [number, number, number] {
    return [Math.ceil(this.s.V / this.t.VT), this.s.B * this.s.H, 1];
  }
  /** Whether a g tensor is read (the 'const' gate is baked in). */
  get gateTensor(): boolean {
    return this.cfg.gate === 'scalar' || this.cfg.gate === 'vector';
  }
  /** Whether the backward produces dg (learned gates). */
  get needDg(): boolean {
    return this.cfg.gate === 'scalar' || this.cfg.gate === 'vector';
  }
  get parHead(): string {
    return `
  let n = wid.x; let bh = wid.y; let b = bh / H; let h = bh % H; let n0 = n * C;
  let cv = min(C, T - n0);`;
  }
}

/* ------------------------------------------------------------------------- forward */

/** Delta rule: A = strict_lower(β_i k_i·k_j Γ_ij); (I+A)^-1 by 16×16 forward substitution and block merges; w, u. */
function wyKernel(x: Ctx): GeneratedKernel {
  const k = new Kernel('chunk_wy_fwd').bind('k', 'read').bind('v', 'read').bind('beta', 'read');
  if (x.gateTensor) k.bind('g', 'read');
  k.bind('wsT', 'read_write');
  x.gateSmem(k, false);
  const NB = x.C / 16;
  k.smem('sBeta', x.C).smem('sA', x.C * x.C).smem('sX', Math.max(64, (NB - 1) * 256));
  const body = `${x.parHead}
  ${BETA_LOAD}
  ${x.gated ? x.gateCumsum() : 'workgroupBarrier(); // sBeta is read by every invocation below'}
${gemm(x.t.WG, {
    M: x.C, N: x.C,
    terms: [{ to: 'K', a: (i, l) => `KK(${i}, ${l})`, b: (l, j) => `KK(${j}, ${l})` }],
    store: (i, j, v) => `let j = ${j}; sA[${i} * C + j] = select(select(0.0, ${v} * sBeta[${i}] * exp2(${x.G(i)} - ${x.G('j')}), j < ${i} && ${i} < cv), 1.0, ${i} == j);`,
  })}
  workgroupBarrier();
  // 16×16 diagonal blocks, in place: row r of block blk from the rows above it
  for (var r = 1u; r < 16u; r++) {
    for (var e = tid; e < ${u(NB * 16)}; e += WG) {
      let blk = e / 16u; let jj = e % 16u; let R = blk * 16u + r;
      var val = 0.0;
      if (jj < r) {
        for (var m = jj; m < r; m++) { val -= sA[R * C + blk * 16u + m] * sA[(blk * 16u + m) * C + blk * 16u + jj]; }
      }
      sX[e] = val;
    }
    workgroupBarrier();
    for (var e = tid; e < ${u(NB * 16)}; e += WG) {
      let blk = e / 16u; let jj = e % 16u;
      if (jj < r) { sA[(blk * 16u + r) * C + blk * 16u + jj] = sX[e]; }
    }
    workgroupBarrier();
  }
  // block merges: Ai_rc = −Ai_rr Σ_{c≤m<r} A_rm Ai_mc
  for (var r = 1u; r < ${u(NB)}; r++) {
    for (var e = tid; e < r * 256u; e += WG) {
      let c = e / 256u; let a = (e / 16u) % 16u; let bc = e % 16u;
      var acc = 0.0;
      for (var m = c; m < r; m++) {
        for (var l = 0u; l < 16u; l++) { acc += sA[(r * 16u + a) * C + m * 16u + l] * sA[(m * 16u + l) * C + c * 16u + bc]; }
      }
      sX[e] = acc;
    }
    workgroupBarrier();
    for (var e = tid; e < r * 256u; e += WG) {
      let c = e / 256u; let a = (e / 16u) % 16u; let bc = e % 16u;
      var acc = 0.0;
      for (var l = 0u; l <= a; l++) { acc += sA[(r * 16u + a) * C + r * 16u + l] * sX[c * 256u + l * 16u + bc]; }
      sA[(r * 16u + a) * C + c * 16u + bc] = -acc;
    }
    workgroupBarrier();
  }
${gemm(x.t.WG, {
    M: x.C, N: x.s.K,
    terms: [{ to: 'min(iN, cv)', a: (i, l) => `sA[${i} * C + ${l}] * sBeta[${l}]${x.gated ? ` * exp2(${x.G(l)})` : ''}`, b: (l, c) => `KK(${l}, ${c})` }],
    store: (i, c, v) => `wsT[W_OFF + (bh * TP + n0 + ${i}) * K + ${c}] = ${v};`,
  })}${gemm(x.t.WG, {
    M: x.C, N: x.s.V,
    terms: [{ to: 'min(iN, cv)', a: (i, l) => `sA[${i} * C + ${l}] * sBeta[${l}]`, b: (l, c) => `VV(${l}, ${c})` }],
    store: (i, c, v) => `wsT[U_OFF + (bh * TP + n0 + ${i}) * V + ${c}] = ${v};`,
  })}
  for (var e = tid; e < C * C; e += WG) { wsT[AINV_OFF + (bh * NT + n) * C * C + e] = sA[e]; }${x.gated ? `
  for (var e = tid; e < C; e += WG) { wsT[GC_OFF + bh * TP + n0 + e] = sB[e]; }` : ''}`;
  return x.finish(k, body, '', x.parGrid, ['KK', 'VV']);
}

/** A tile group for prefetch(): n elements, registers per element, their load (guards itself) and store. */
interface PreGroup {
  n: number;
  regs: string[];
  load: (e: string, r: (name: string) => string) => string;
  store: (e: string, r: (name: string) => string) => string;
}

/**
 * Register prefetch for the sequential kernels: the next chunk's tiles are loaded into registers while
 * the current chunk computes, then stored to workgroup memory at the top of the next trip. null when an
 * invocation would need more than `max` elements of a group (small workgroups): the caller loads in place.
 * Loads see nx0 (the chunk's first token) and cvx (its valid rows) from the caller.
 */
function prefetch(WG: number, groups: PreGroup[], max = 8): { decl: string; load: string; store: string } | null {
  let decl = '';
  let load = '';
  let store = '';
  for (const [gi, g] of groups.entries()) {
    const UF = Math.ceil(g.n / WG);
    if (UF > max) return null;
    for (let j = 0; j < UF; j++) {
      const e = j ? `(tid + ${u(j * WG)})` : 'tid';
      const r = (name: string) => `${name}${gi}_${j}`;
      decl += `\n  ${g.regs.map((nm) => `var ${r(nm)} = 0.0;`).join(' ')}`;
      load += `\n      if (${e} < ${u(g.n)}) { ${g.load(e, r)} }`;
      store += `\n    if (${e} < ${u(g.n)}) { ${g.store(e, r)} }`;
    }
  }
  return { decl, load, store };
}

/**
 * The skeleton both fast delta-rule passes share: the state tile's initial value, then per chunk (ascending
 * or descending) the state-slot write, the chunk's tiles (prefetched registers or loads in place), one
 * barrier, the next chunk's prefetch, `compute` (its products and barriers) and a closing barrier.
 */
function seqPass(o: { reverse: boolean; init: string; slot: string; pre: ReturnType<typeof prefetch>; inPlace: string; compute: string; tail: string }): string {
  return `
  let c0 = wid.x * VT; let bh = wid.y; let b = bh / H; let h = bh % H;
  for (var e = tid; e < K * VT; e += WG) {
    let kk = e / VT; let c = c0 + e % VT;
    var x = 0.0;
    if (c < V) { x = ${o.init}; }
    sH[e] = x;
  }${o.pre ? `${o.pre.decl}
  {
    let nx0 = ${o.reverse ? '(NT - 1u) * C' : '0u'}; let cvx = min(C, T - nx0);${o.pre.load}
  }` : ''}
  workgroupBarrier();
  for (var nn = 0u; nn < NT; nn++) {
    let n = ${o.reverse ? 'NT - 1u - nn' : 'nn'};
    let n0 = n * C;
    let cv = min(C, T - n0);
    for (var e = tid; e < K * VT; e += WG) {
      let c = c0 + e % VT;
      if (c < V) { wsS[${o.slot} + ((bh * NT + n) * K + e / VT) * V + c] = sH[e]; }
    }
${o.pre ? o.pre.store : o.inPlace}
    workgroupBarrier();${o.pre ? `
    if (nn + 1u < NT) {
      let nx0 = ${o.reverse ? 'n0 - C' : 'n0 + C'}; let cvx = min(C, T - nx0);${o.pre.load}
    }` : ''}${o.compute}
    workgroupBarrier();
  }
  ${o.tail}`;
}

/**
 * Delta rule, sequential over chunks with the state tile (K × VT) in workgroup memory, when the tiles fit:
 * every operand of a chunk (w, k, u, the gate cumsum from the WY kernel) is loaded in one phase, then two
 * register-blocked products (v_new = u − w h, h ← e^{B_L} h + (k⊙e^{B_L−B})ᵀ v_new) with two barriers.
 * Returns null when the tiles do not fit (the compact kernel below takes over).
 */
function deltaStateFast(x: Ctx): GeneratedKernel | null {
  const { K } = x.s;
  const { C } = x;
  const VT = x.t.VT;
  const k = new Kernel('chunk_state_fwd').bind('k', 'read');
  if (x.cfg.initialState) k.bind('h0', 'read');
  k.bind('wsS', 'read_write').bind('wsT', 'read_write').bind('ht', 'read_write');
  // f32 in both precisions: these tiles fit on chip anyway, and on the H200 the f16 conversions on the serial
  // chunk chain made this pass slower (DeltaNet C = 16: 0.98 against 0.79 ms; bench/results/h200-2026-11-29-s3/chunk)
  k.smem('sW', C * K).smem('sK', C * K).smem('sV', C * VT).smem('sH', K * VT);
  if (x.gated) k.smem('sB', C);
  if (!x.t.stageBytes || k.smemBytes > x.t.stageBytes) return null;
  const decayV = (i: string) => (x.gated ? ` * exp2(sB[C - 1u] - sB[${i}])` : '');
  const groups: PreGroup[] = [
    { n: C * K, regs: ['w', 'x'], load: (e, r) => `${r('w')} = wsT[W_OFF + (bh * TP + nx0) * K + ${e}]; ${r('x')} = 0.0; if (${e} / K < cvx) { ${r('x')} = k[qi(b, nx0 + ${e} / K, h, ${e} % K)]; }`, store: (e, r) => `sW[${e}] = ${r('w')}; sK[${e}] = ${r('x')};` },
    { n: C * VT, regs: ['u'], load: (e, r) => `${r('u')} = 0.0; if (c0 + ${e} % VT < V) { ${r('u')} = wsT[U_OFF + (bh * TP + nx0 + ${e} / VT) * V + c0 + ${e} % VT]; }`, store: (e, r) => `sV[${e}] = ${r('u')};` },
    ...(x.gated ? [{ n: C, regs: ['g'], load: (e: string, r: (n: string) => string) => `${r('g')} = wsT[GC_OFF + bh * TP + nx0 + ${e}];`, store: (e: string, r: (n: string) => string) => `sB[${e}] = ${r('g')};` }] : []),
  ];
  const pre = prefetch(x.t.WG, groups);
  const inPlace = `${unrolled(C * K, x.t.WG,
      (e, j) => `var w${j} = 0.0; var x${j} = 0.0; if (${e} < ${u(C * K)}) { w${j} = wsT[W_OFF + (bh * TP + n0) * K + ${e}]; if (${e} / K < cv) { x${j} = k[qi(b, n0 + ${e} / K, h, ${e} % K)]; } }`,
      (e, j) => `sW[${e}] = w${j}; sK[${e}] = x${j};`, 4)}${unrolled(C * VT, x.t.WG,
      (e, j) => `var x${j} = 0.0; if (${e} < ${u(C * VT)} && c0 + ${e} % VT < V) { x${j} = wsT[U_OFF + (bh * TP + n0 + ${e} / VT) * V + c0 + ${e} % VT]; }`,
      (e, j) => `sV[${e}] = x${j};`, 4)}${x.gated ? `
    for (var e = tid; e < C; e += WG) { sB[e] = wsT[GC_OFF + bh * TP + n0 + e]; }` : ''}`;
  const body = seqPass({
    reverse: false, slot: 'HS_OFF', pre, inPlace, tail: `for (var e = tid; e < K * VT; e += WG) {
    let kk = e / VT; let c = c0 + e % VT;
    if (c < V) { ht[(bh * K + kk) * V + c] = sH[e]; wsS[HT_OFF + (bh * K + kk) * V + c] = sH[e]; }
  }`,
    init: x.cfg.initialState ? 'h0[(bh * K + kk) * V + c]' : '0.0',
    compute: `${gemm(x.t.WG, {
      M: C, N: VT,
      terms: [{ to: 'K', a: (i, l) => `sW[${i} * K + ${l}]`, b: (l, c) => `sH[${l} * VT + ${c}]` }],
      store: (i, c, v) => `let vn = sV[${i} * VT + ${c}] - ${v};
      if (c0 + ${c} < V) { wsT[VN_OFF + (bh * TP + n0 + ${i}) * V + c0 + ${c}] = vn; }
      sV[${i} * VT + ${c}] = vn${decayV(i)};`,
    })}
    workgroupBarrier();${gemm(x.t.WG, {
      M: K, N: VT,
      terms: [{ to: 'cv', a: (kk, l) => `sK[${l} * K + ${kk}]`, b: (l, c) => `sV[${l} * VT + ${c}]` }],
      store: (kk, c, v) => `sH[${kk} * VT + ${c}] = sH[${kk} * VT + ${c}]${x.gated ? ' * exp2(sB[C - 1u])' : ''} + ${v};`,
    })}
`,
  });
  return x.finish(k, body, '', x.seqGrid);
}

/**
 * Delta rule, reverse pass with all of a chunk's operands loaded in one phase (see deltaStateFast):
 * dv2 = e^{B_L−B}⊙(k dh) + dvl, then dh ← e^{B_L} dh − wᵀ dv2 + (scale·q)ᵀ (e^{B}⊙do) in one product.
 */
function deltaDstateFast(x: Ctx): GeneratedKernel | null {
  const { K } = x.s;
  const { C } = x;
  const VT = x.t.VT;
  const k = new Kernel('chunk_dstate_bwd').bind('q', 'read').bind('k', 'read').bind('dO', 'read').bind('dht', 'read');
  k.bind('wsS', 'read_write').bind('wsT', 'read_write');
  if (x.cfg.initialState) k.bind('dh0', 'read_write');
  // f32 in both precisions, as in deltaStateFast (f16 tiles measured slower here on the H200)
  k.smem('sK', C * K).smem('sW', C * K).smem('sQ', C * K).smem('sDO', C * VT).smem('sD', C * VT).smem('sH', K * VT);
  if (x.gated) k.smem('sB', C);
  if (!x.t.stageBytes || k.smemBytes > x.t.stageBytes) return null;
  const gf = x.gated ? ' * exp2(wsT[GC_OFF + bh * TP + nx0 + i])' : '';
  const groups: PreGroup[] = [
    { n: C * K, regs: ['w', 'x', 'y'], load: (e, r) => `${r('w')} = wsT[W_OFF + (bh * TP + nx0) * K + ${e}]; ${r('x')} = 0.0; ${r('y')} = 0.0;
        if (${e} / K < cvx) { ${r('x')} = k[qi(b, nx0 + ${e} / K, h, ${e} % K)]; ${r('y')} = q[qi(b, nx0 + ${e} / K, h, ${e} % K)]; }`,
      store: (e, r) => `sW[${e}] = ${r('w')}; sK[${e}] = ${r('x')}; sQ[${e}] = ${r('y')};` },
    { n: C * VT, regs: ['x', 'y'], load: (e, r) => `${r('x')} = 0.0; ${r('y')} = 0.0;
        if (c0 + ${e} % VT < V) {
          let i = ${e} / VT; let c = c0 + ${e} % VT;
          ${r('y')} = wsT[DVL_OFF + (bh * TP + nx0 + i) * V + c];
          if (i < cvx) { ${r('x')} = SCALE * dO[vi(b, nx0 + i, h, c)]${gf}; }
        }`,
      store: (e, r) => `sDO[${e}] = ${r('x')}; sD[${e}] = ${r('y')};` },
    ...(x.gated ? [{ n: C, regs: ['g'], load: (e: string, r: (n: string) => string) => `${r('g')} = wsT[GC_OFF + bh * TP + nx0 + ${e}];`, store: (e: string, r: (n: string) => string) => `sB[${e}] = ${r('g')};` }] : []),
  ];
  const pre = prefetch(x.t.WG, groups);
  const inPlace = `${unrolled(C * K, x.t.WG,
      (e, j) => `var w${j} = 0.0; var x${j} = 0.0; var y${j} = 0.0;
    if (${e} < ${u(C * K)}) {
      w${j} = wsT[W_OFF + (bh * TP + n0) * K + ${e}];
      if (${e} / K < cv) { x${j} = k[qi(b, n0 + ${e} / K, h, ${e} % K)]; y${j} = q[qi(b, n0 + ${e} / K, h, ${e} % K)]; }
    }`,
      (e, j) => `sW[${e}] = w${j}; sK[${e}] = x${j}; sQ[${e}] = y${j};`, 4)}${unrolled(C * VT, x.t.WG,
      (e, j) => `var x${j} = 0.0; var y${j} = 0.0;
    if (${e} < ${u(C * VT)} && c0 + ${e} % VT < V) {
      let i = ${e} / VT; let c = c0 + ${e} % VT;
      y${j} = wsT[DVL_OFF + (bh * TP + n0 + i) * V + c];
      if (i < cv) { x${j} = SCALE * dO[vi(b, n0 + i, h, c)]${x.gated ? ' * exp2(wsT[GC_OFF + bh * TP + n0 + i])' : ''}; }
    }`,
      (e, j) => `sDO[${e}] = x${j}; sD[${e}] = y${j};`, 4)}${x.gated ? `
    for (var e = tid; e < C; e += WG) { sB[e] = wsT[GC_OFF + bh * TP + n0 + e]; }` : ''}
`;
  const body = seqPass({
    reverse: true, slot: 'DHS_OFF', pre, inPlace, tail: `${x.cfg.initialState ? `for (var e = tid; e < K * VT; e += WG) {
    let kk = e / VT; let c = c0 + e % VT;
    if (c < V) { dh0[(bh * K + kk) * V + c] += sH[e]; }
  }` : ''}`,
    init: 'dht[(bh * K + kk) * V + c]',
    compute: `${gemm(x.t.WG, {
      M: C, N: VT,
      terms: [{ to: 'K', a: (i, l) => `sK[${i} * K + ${l}]`, b: (l, c) => `sH[${l} * VT + ${c}]` }],
      store: (i, c, v) => `let d2 = ${v}${x.gated ? ` * exp2(sB[C - 1u] - sB[${i}])` : ''} + sD[${i} * VT + ${c}];
      if (c0 + ${c} < V) { wsT[DV2_OFF + (bh * TP + n0 + ${i}) * V + c0 + ${c}] = d2; }
      sD[${i} * VT + ${c}] = d2;`,
    })}
    workgroupBarrier();${gemm(x.t.WG, {
      M: K, N: VT,
      terms: [
        { to: 'C', a: (kk, l) => `-sW[${l} * K + ${kk}]`, b: (l, c) => `sD[${l} * VT + ${c}]` },
        { to: 'cv', a: (kk, l) => `sQ[${l} * K + ${kk}]`, b: (l, c) => `sDO[${l} * VT + ${c}]` },
      ],
      store: (kk, c, v) => `sH[${kk} * VT + ${c}] = sH[${kk} * VT + ${c}]${x.gated ? ' * exp2(sB[C - 1u])' : ''} + ${v};`,
    })}
`,
  });
  return x.finish(k, body, '', x.seqGrid);
}

/** Delta rule, compact sequential state pass (when deltaStateFast's tiles do not fit): h[n] to scratch, v_new, final state. */
function stateKernel(x: Ctx): GeneratedKernel {
  const k = new Kernel('chunk_state_fwd').bind('k', 'read');
  if (!x.delta) k.bind('v', 'read');
  if (x.gateTensor) k.bind('g', 'read');
  if (x.cfg.initialState) k.bind('h0', 'read');
  k.bind('wsS', 'read_write');
  if (x.delta) k.bind('wsT', 'read_write');
  k.bind('ht', 'read_write');
  const { K } = x.s;
  const VT = x.t.VT;
  // the state tile lives in workgroup memory (each thread owns its elements): SwiftShader
  // corrupts private arrays across barriers, and the delta rule reads the whole tile anyway
  k.smem('sK', x.C * K).smem('sV', x.C * VT).smem('sH', K * VT);
  if (x.gated) k.smem('sB', x.C);
  const decayV = x.gated ? `exp2(sB[C - 1u] - sB[i])` : '1.0';
  const decayL = x.gated ? `exp2(sB[C - 1u])` : '1.0';
  const kLoad = `
    for (var e = tid; e < C * K; e += WG) {
      let i = e / K; let kk = e % K;
      var x = 0.0;
      if (i < cv) { x = k[qi(b, n0 + i, h, kk)]; }
      sK[e] = x;
    }`;
  const body = `
  let c0 = wid.x * VT; let bh = wid.y; let b = bh / H; let h = bh % H;
  for (var e = tid; e < K * VT; e += WG) {
    let kk = e / VT; let c = c0 + e % VT;
    var x = 0.0;
    ${x.cfg.initialState ? 'if (c < V) { x = h0[(bh * K + kk) * V + c]; }' : ''}
    sH[e] = x;
  }
  for (var n = 0u; n < NT; n++) {
    let n0 = n * C;
    let cv = min(C, T - n0);
    for (var e = tid; e < K * VT; e += WG) {
      let kk = e / VT; let c = c0 + e % VT;
      if (c < V) { wsS[HS_OFF + ((bh * NT + n) * K + kk) * V + c] = sH[e]; }
    }
    ${x.delta ? `for (var e = tid; e < C * K; e += WG) { sK[e] = wsT[W_OFF + (bh * TP + n0) * K + e]; }` : ''}
    ${x.gated ? x.gateCumsum() : 'workgroupBarrier();'}
    ${x.delta ? `
    for (var e = tid; e < C * VT; e += WG) {
      let i = e / VT; let c = c0 + e % VT;
      var acc = 0.0;
      if (c < V) {
        acc = wsT[U_OFF + (bh * TP + n0 + i) * V + c];
        for (var kk = 0u; kk < K; kk++) { acc -= sK[i * K + kk] * sH[kk * VT + e % VT]; }
        wsT[VN_OFF + (bh * TP + n0 + i) * V + c] = acc;
      }
      sV[e] = acc * ${decayV};
    }
    workgroupBarrier();` : `
    for (var e = tid; e < C * VT; e += WG) {
      let i = e / VT; let c = c0 + e % VT;
      var x = 0.0;
      if (i < cv && c < V) { x = v[vi(b, n0 + i, h, c)] * ${decayV}; }
      sV[e] = x;
    }`}
    ${kLoad}
    workgroupBarrier();
    for (var e = tid; e < K * VT; e += WG) {
      let kk = e / VT; let cc = e % VT;
      var acc = sH[e] * ${decayL};
      for (var i = 0u; i < C; i++) { acc += sK[i * K + kk] * sV[i * VT + cc]; }
      sH[e] = acc;
    }
    workgroupBarrier();
  }
  for (var e = tid; e < K * VT; e += WG) {
    let kk = e / VT; let c = c0 + e % VT;
    if (c < V) { ht[(bh * K + kk) * V + c] = sH[e]; wsS[HT_OFF + (bh * K + kk) * V + c] = sH[e]; }
  }`;
  return x.finish(k, body, '', x.seqGrid);
}

/* ------------------------------------------------- linear rule: chunk-local states + a scan over chunks */

/** vec4 load of columns 4·c4 … 4·c4+3 of a row starting at `o` with `n` columns (zeros past n). */
function load4(buf: string, n: number): string {
  return n % 4 === 0
    ? `vec4f(${buf}[o], ${buf}[o + 1u], ${buf}[o + 2u], ${buf}[o + 3u])`
    : `vec4f(${[0, 1, 2, 3].map((m) => `select(0.0, ${buf}[min(o + ${m}u, o + ${n}u - 1u - 4u * c4)], 4u * c4 + ${m}u < ${n}u)`).join(', ')})`;
}

/**
 * Linear rule, parallel over (chunk, bh): the chunk's own contribution to the state,
 *   forward  Δ[n] = Σ_i (k_i ⊙ e^{B_L−B_i}) v_iᵀ        into scratch HS slot n,
 *   backward Δ'[n] = Σ_i (scale·q_i ⊙ e^{B_i}) do_iᵀ     into scratch DHS slot n,
 * and the chunk's total decay e^{B_L} into DEC. A 4×4 register block per invocation (4 key channels ×
 * 4 value columns): the gated operand is staged once as vec4 rows, the other streams from global memory.
 * The chunk scan (stateScanKernel) then turns the slots into the states entering (leaving) each chunk.
 */
function localStateKernel(x: Ctx, bwd: boolean): GeneratedKernel {
  const X = bwd ? 'q' : 'k';
  const Y = bwd ? 'dO' : 'v';
  const k = new Kernel(bwd ? 'chunk_dstate_local' : 'chunk_state_local').bind(X, 'read').bind(Y, 'read');
  if (x.gateTensor) k.bind('g', 'read');
  k.bind('wsS', 'read_write');
  const { K, V } = x.s;
  const KQ = Math.ceil(K / 4);
  const VQ = Math.ceil(V / 4);
  // the vector gate's log2 cumsum runs in sX first: f32 there
  if (x.vec) k.smem4('sX', x.C * KQ).smem4('sL', KQ);
  else {
    k.op4('sX', x.C * KQ);
    if (x.gated) k.smem('sB', x.C);
  }
  const scale = bwd ? 'SCALE * ' : '';
  const factor = !x.gated
    ? ''
    : x.vec
      ? bwd ? ' * exp2(sX[e])' : ' * exp2(sL[k4] - sX[e])'
      : bwd ? ' * exp2(sB[i])' : ' * exp2(sB[C - 1u] - sB[i])';
  const gate = !x.gated
    ? ''
    : x.vec
      ? `
  for (var e = tid; e < C * KQ; e += WG) {
    let i = e / KQ; let c4 = e % KQ;
    var gv = vec4f(0.0);
    if (i < cv) { let o = qi(b, n0 + i, h, 4u * c4); gv = ${load4('g', K)} * RLN2; }
    sX[e] = gv;
  }
  workgroupBarrier();
  for (var k4 = tid; k4 < KQ; k4 += WG) {
    var acc = vec4f(0.0);
    for (var i = 0u; i < C; i++) { acc += sX[i * KQ + k4]; sX[i * KQ + k4] = acc; }
    sL[k4] = acc;
    for (var m = 0u; m < 4u; m++) { if (4u * k4 + m < K) { wsS[DEC_OFF + (bh * NT + n) * K + 4u * k4 + m] = exp2(acc[m]); } }
  }
  workgroupBarrier();`
      : `${x.gateCumsum()}
  if (tid == 0u) { wsS[DEC_OFF + bh * NT + n] = exp2(sB[C - 1u]); }`;
  const slot = bwd ? 'DHS_OFF' : 'HS_OFF';
  const body = `${x.parHead}
  ${gate}
  for (var e = tid; e < C * KQ; e += WG) {
    let i = e / KQ; let c4 = e % KQ; let k4 = c4;
    var xv = vec4f(0.0);
    if (i < cv) { let o = qi(b, n0 + i, h, 4u * c4); xv = ${scale}${load4(X, K)}${factor}; }
    sX[e] = xv;
  }
  workgroupBarrier();
  for (var blk = tid; blk < KQ * VQ; blk += WG) {
    let k4 = blk / VQ; let c4 = blk % VQ;
    var a0 = vec4f(0.0); var a1 = vec4f(0.0); var a2 = vec4f(0.0); var a3 = vec4f(0.0);
    for (var i = 0u; i < cv; i++) {
      let xv = sX[i * KQ + k4];
      let o = vi(b, n0 + i, h, 4u * c4);
      let y = ${load4(Y, V)};
      a0 += xv.x * y; a1 += xv.y * y; a2 += xv.z * y; a3 += xv.w * y;
    }
    let base = ${slot} + (bh * NT + n) * K * V + 4u * c4;
    put4(base, 4u * k4, c4, a0);
    put4(base, 4u * k4 + 1u, c4, a1);
    put4(base, 4u * k4 + 2u, c4, a2);
    put4(base, 4u * k4 + 3u, c4, a3);
  }`;
  const extra = `
const KQ: u32 = ${u(KQ)};
const VQ: u32 = ${u(VQ)};
fn put4(base: u32, kk: u32, c4: u32, a: vec4f) {
  if (kk < K) {
    let o = base + kk * V;
    for (var m = 0u; m < 4u; m++) { if (4u * c4 + m < V) { wsS[o + m] = a[m]; } }
  }
}`;
  return x.finish(k, body, extra, x.parGrid);
}

/**
 * Linear rule: the scan over chunks, one invocation per state element (bh, kk, c), reading U chunks
 * ahead (the slots do not depend on the running state, so their loads overlap).
 *   forward   h ← h0; for n: Δ = HS[n]; HS[n] = h; h = DEC[n]·h + Δ;       final state → ht and HT
 *   backward  d ← dht; for n descending: Δ' = DHS[n]; DHS[n] = d; d = DEC[n]·d + Δ';   d → dh0
 */
function stateScanKernel(x: Ctx, bwd: boolean): GeneratedKernel {
  const k = new Kernel(bwd ? 'chunk_dstate_scan' : 'chunk_state_scan').bind('wsS', 'read_write');
  if (bwd) {
    k.bind('dht', 'read');
    if (x.cfg.initialState) k.bind('dh0', 'read_write');
  } else {
    if (x.cfg.initialState) k.bind('h0', 'read');
    k.bind('ht', 'read_write');
  }
  const { K, V } = x.s;
  const total = x.s.B * x.s.H * K * V;
  const groups = Math.ceil(total / x.t.WG);
  const gx = Math.min(groups, 65535);
  const U = Math.min(8, x.NT);
  const slot = bwd ? 'DHS_OFF' : 'HS_OFF';
  const nOf = (j: number) => (bwd ? `NT - 1u - (m0 + ${j}u)` : `m0 + ${j}u`);
  const dec = (j: number) => (!x.gated ? '1.0' : `wsS[DEC_OFF + (bh * NT + ${nOf(j)}) * GK + ${x.vec ? 'kk' : '0u'}]`);
  let loads = '';
  let steps = '';
  for (let j = 0; j < U; j++) {
    loads += `
    var d${j} = 0.0; var a${j} = 1.0;
    if (m0 + ${j}u < NT) { d${j} = wsS[${slot} + (bh * NT + ${nOf(j)}) * K * V + r]; a${j} = ${dec(j)}; }`;
    steps += `
    if (m0 + ${j}u < NT) { wsS[${slot} + (bh * NT + ${nOf(j)}) * K * V + r] = hv; hv = a${j} * hv + d${j}; }`;
  }
  const init = bwd ? 'dht[e]' : x.cfg.initialState ? 'h0[e]' : '0.0';
  const fin = bwd ? (x.cfg.initialState ? 'dh0[e] += hv;' : '') : 'ht[e] = hv;\n  wsS[HT_OFF + e] = hv;';
  const body = `
  let e = (wid.y * ${u(gx)} + wid.x) * WG + tid;
  if (e >= ${u(total)}) { return; }
  let bh = e / (K * V); let r = e % (K * V); let kk = r / V;
  var hv = ${init};
  for (var m0 = 0u; m0 < NT; m0 += ${u(U)}) {${loads}${steps}
  }
  ${fin}`;
  return x.finish(k, body, '', [gx, Math.ceil(groups / gx), 1]);
}

/** Output: o = scale·[(q ⊙ e^B) h[n] + tril(A) v_new]. */
function outputKernel(x: Ctx): GeneratedKernel {
  const k = new Kernel('chunk_output_fwd').bind('q', 'read').bind('k', 'read');
  if (!x.delta) k.bind('v', 'read');
  if (x.gateTensor) k.bind('g', 'read');
  k.bind('wsS', 'read');
  if (x.delta) k.bind('wsT', 'read');
  k.bind('o', 'read_write');
  x.gateSmem(k, true);
  k.op('sA', x.C * x.C);
  // vector gate: once A is built, sB is turned in place into q ⊙ e^B for the inter-chunk term
  const body = `${x.parHead}
  ${x.gateCumsum()}
  ${x.stageCross()}
  ${x.intraA()}
  ${x.vec ? `workgroupBarrier();
  for (var e = tid; e < C * K; e += WG) {
    let i = e / K; let kk = e % K;
    var x = 0.0;
    if (i < cv) { x = q[qi(b, n0 + i, h, kk)] * exp2(sB[e]); }
    sB[e] = x;
  }` : ''}
  workgroupBarrier();${gemm(x.t.WG, {
    M: x.C, N: x.s.V,
    terms: [
      { to: 'K', a: (i, l) => (x.vec ? `sB[${i} * K + ${l}]` : `Q(${i}, ${l})`), b: (l, c) => `HH(${l}, ${c})`, rowScale: x.gated && !x.vec ? (i) => `exp2(${x.G(i)})` : undefined },
      { to: 'min(iN, cv)', a: (i, l) => `sA[${i} * C + ${l}]`, b: (l, c) => `${x.VN}(${l}, ${c})` },
    ],
    store: (i, c, v) => `if (i < cv) { o[vi(b, n0 + i, h, ${c})] = SCALE * ${v}; }`,
  })}`;
  return x.finish(k, body, x.helpers(false), x.parGrid, ['KK', 'Q', 'HH', 'VV', 'VNd']);
}

/* ------------------------------------------------------------------------- backward */

/** Delta: intra-chunk part of ∂L/∂v_new, dvl_j = scale Σ_{i≥j} A_ij do_i (needed inside the reverse pass). */
function dvLocalKernel(x: Ctx): GeneratedKernel {
  const k = new Kernel('chunk_dvlocal_bwd').bind('q', 'read').bind('k', 'read');
  if (x.gateTensor) k.bind('g', 'read');
  k.bind('dO', 'read').bind('wsT', 'read_write');
  x.gateSmem(k, false);
  k.op('sA', x.C * x.C);
  const body = `${x.parHead}
  ${x.gateCumsum()}
  ${x.intraA()}
  workgroupBarrier();
${gemm(x.t.WG, {
    M: x.C, N: x.s.V,
    terms: [{ from: 'i0', to: 'cv', a: (j, l) => `sA[${l} * C + ${j}]`, b: (l, c) => `DO(${l}, ${c})` }],
    store: (j, c, v) => `wsT[DVL_OFF + (bh * TP + n0 + ${j}) * V + ${c}] = SCALE * ${v};`,
  })}`;
  return x.finish(k, body, x.helpers(false), x.parGrid, ['KK', 'Q', 'DO']);
}

/** Delta rule, compact reverse pass: dh[n] = ∂L/∂(state after chunk n) to scratch, dv2 = ∂L/∂v_new, dh0. */
function dstateKernel(x: Ctx): GeneratedKernel {
  const k = new Kernel('chunk_dstate_bwd').bind('q', 'read');
  if (x.delta) k.bind('k', 'read');
  if (x.gateTensor) k.bind('g', 'read');
  k.bind('dO', 'read').bind('dht', 'read').bind('wsS', 'read_write');
  if (x.delta) k.bind('wsT', 'read_write');
  if (x.cfg.initialState) k.bind('dh0', 'read_write');
  const { K } = x.s;
  const VT = x.t.VT;
  k.smem('sK', x.C * K).smem('sV', x.C * VT).smem('sH', K * VT);
  if (x.gated) k.smem('sB', x.C);
  if (x.delta) k.smem('sD', x.C * VT);
  const decayL = x.gated ? `exp2(sB[C - 1u])` : '1.0';
  const qdecay = x.gated ? `exp2(sB[i])` : '1.0';
  const qLoad = `
    for (var e = tid; e < C * K; e += WG) {
      let i = e / K; let kk = e % K;
      var x = 0.0;
      if (i < cv) { x = SCALE * q[qi(b, n0 + i, h, kk)] * ${qdecay}; }
      sK[e] = x;
    }`;
  const body = `
  let c0 = wid.x * VT; let bh = wid.y; let b = bh / H; let h = bh % H;
  for (var e = tid; e < K * VT; e += WG) {
    let kk = e / VT; let c = c0 + e % VT;
    var x = 0.0;
    if (c < V) { x = dht[(bh * K + kk) * V + c]; }
    sH[e] = x;
  }
  for (var nn = 0u; nn < NT; nn++) {
    let n = NT - 1u - nn;
    let n0 = n * C;
    let cv = min(C, T - n0);
    for (var e = tid; e < K * VT; e += WG) {
      let kk = e / VT; let c = c0 + e % VT;
      if (c < V) { wsS[DHS_OFF + ((bh * NT + n) * K + kk) * V + c] = sH[e]; }
    }
    ${x.delta ? `for (var e = tid; e < C * K; e += WG) {
      let i = e / K; var x = 0.0;
      if (i < cv) { x = k[qi(b, n0 + i, h, e % K)]; }
      sK[e] = x;
    }` : ''}
    ${x.gated ? x.gateCumsum() : 'workgroupBarrier();'}
    ${x.delta ? `
    for (var e = tid; e < C * VT; e += WG) {
      let i = e / VT; let c = c0 + e % VT;
      var acc = 0.0;
      if (c < V) {
        for (var kk = 0u; kk < K; kk++) { acc += sK[i * K + kk] * sH[kk * VT + e % VT]; }
        acc = acc * exp2(${x.G('C - 1u')} - ${x.G('i')}) + wsT[DVL_OFF + (bh * TP + n0 + i) * V + c];
        wsT[DV2_OFF + (bh * TP + n0 + i) * V + c] = acc;
      }
      sD[e] = acc;
    }
    workgroupBarrier();
    for (var e = tid; e < C * K; e += WG) { sK[e] = wsT[W_OFF + (bh * TP + n0) * K + e]; }
    workgroupBarrier();
    for (var e = tid; e < K * VT; e += WG) {
      let kk = e / VT; let cc = e % VT;
      var acc = sH[e] * ${decayL};
      for (var i = 0u; i < C; i++) { acc -= sK[i * K + kk] * sD[i * VT + cc]; }
      sH[e] = acc;
    }
    workgroupBarrier();` : ''}
    ${qLoad}
    for (var e = tid; e < C * VT; e += WG) {
      let i = e / VT; let c = c0 + e % VT;
      var x = 0.0;
      if (i < cv && c < V) { x = dO[vi(b, n0 + i, h, c)]; }
      sV[e] = x;
    }
    workgroupBarrier();
    for (var e = tid; e < K * VT; e += WG) {
      let kk = e / VT; let cc = e % VT;
      var acc = sH[e]${x.delta ? '' : ` * ${decayL}`};
      for (var i = 0u; i < C; i++) { acc += sK[i * K + kk] * sV[i * VT + cc]; }
      sH[e] = acc;
    }
    workgroupBarrier();
  }
  ${x.cfg.initialState ? `for (var e = tid; e < K * VT; e += WG) {
    let kk = e / VT; let c = c0 + e % VT;
    if (c < V) { dh0[(bh * K + kk) * V + c] += sH[e]; }
  }` : ''}`;
  return x.finish(k, body, '', x.seqGrid);
}

/** sDS[i][j] = scale·(do_i·vn_j)·Γ_ij (Γ folded in for scalar gates), j ≤ i; register-blocked. */
function dsSnippet(x: Ctx): string {
  const gate = x.vec || !x.gated ? '' : ` * exp2(${x.G('i')} - ${x.G('j')})`;
  return gemm(x.t.WG, {
    M: x.C, N: x.C,
    terms: [{ to: 'V', a: (i, l) => `DO(${i}, ${l})`, b: (l, j) => `${x.VN}(${j}, ${l})` }],
    store: (i, j, v) => `let j = ${j}; sDS[i * C + j] = select(0.0, SCALE * ${v}${gate}, j <= i && i < cv);`,
  });
}

/** Sums the NB column-group partials sP of each row into DB (op '=' or '-='); `extra` may add to acc. */
function rowReduceDB(op: string, NB: number, extra = '', uniformPre = ''): string {
  return `
  workgroupBarrier();${uniformPre}
  for (var r = tid; r < cv; r += WG) {
    var acc = 0.0;
    for (var l = 0u; l < ${u(NB)}; l++) { acc += sP[r * ${u(NB)} + l]; }${extra}
    wsS[DB_OFF + bh * TP + n0 + r] ${op} acc;
  }`;
}

/**
 * Σ_{kk,c} dh[n] ⊙ S_after(n), one partial per invocation into `arr` (sDS once the products are done
 * with it, else its own sE): the chunk-end term ∂L/∂B_L summed over channels.
 */
const chunkEnd = (arr: string) => `${arr === 'sDS' ? '\n  workgroupBarrier();' : ''}
  var hd = 0.0;
  let hdo = DHS_OFF + (bh * NT + n) * K * V;
  let hao = select(HT_OFF + bh * K * V, HS_OFF + (bh * NT + n + 1u) * K * V, n + 1u < NT);
  for (var e = tid; e < K * V; e += WG) { hd += wsS[hdo + e] * wsS[hao + e]; }
  ${arr}[tid] = hd;`;

/**
 * Linear rule: dq = scale·e^B⊙(do h[n]ᵀ) + intra; DB = q⊙dq.
 * Delta rule: also dk = e^{L−B}⊙(v_new dh[n]ᵀ) + intra, dw = −dv2 h[n]ᵀ, DB = q⊙dq − k⊙dk (+ the chunk-end term
 * Σ dh[n] ⊙ S_after at the last valid row). Every product is register-blocked (gemm).
 */
function dqKernel(x: Ctx): GeneratedKernel {
  const k = new Kernel(x.delta ? 'chunk_dqk_bwd' : 'chunk_dq_bwd').bind('q', 'read').bind('k', 'read');
  if (!x.delta) k.bind('v', 'read');
  if (x.gateTensor) k.bind('g', 'read');
  const dbWrite = x.needDg || x.delta;
  k.bind('dO', 'read').bind('wsS', dbWrite ? 'read_write' : 'read');
  if (x.delta) k.bind('wsT', 'read_write');
  k.bind('dq', 'read_write');
  if (x.delta) k.bind('dk', 'read_write');
  x.gateSmem(k, true);
  const { NB } = gemmShape(x.C, x.s.K, x.t.WG);
  const rowDB = dbWrite && !x.vec;
  k.op('sDS', x.C * x.C);
  if (rowDB) k.smem('sP', x.C * NB);
  // the chunk-end partials reuse sDS when it has a slot per invocation (the memory goes to staged tiles);
  // not an f16 sDS: the partials are sums of state products
  const endArr = x.C * x.C >= x.t.WG && !half ? 'sDS' : 'sE';
  if (x.delta && endArr === 'sE') k.smem('sE', x.t.WG);
  const WG = x.t.WG;
  const dqStore = (i: string, c: string, v: string, rs: string) => x.vec
    ? `if (${i} < cv) {
      let dqv = SCALE * exp2(sB[${i} * K + ${c}]) * ${v} + dqIntra(b, h, n0, ${i}, ${c});
      dq[qi(b, n0 + ${i}, h, ${c})] += dqv;${x.needDg ? `
      wsS[DB_OFF + (bh * TP + n0 + ${i}) * K + ${c}] = Q(${i}, ${c}) * dqv;` : ''}
    }`
    : `if (${i} < cv) { dq[qi(b, n0 + ${i}, h, ${c})] += ${v};${rowDB ? ` ${rs} += Q(${i}, ${c}) * ${v};` : ''} }`;
  let body = `${x.parHead}
  ${x.gateCumsum()}
  ${x.stageCross()}
  ${dsSnippet(x)}
  workgroupBarrier();${gemm(WG, {
    M: x.C, N: x.s.K,
    terms: [
      { to: 'V', a: (i, l) => `DO(${i}, ${l})`, b: (l, c) => `HH(${c}, ${l})`, rowScale: x.vec ? undefined : (i) => (x.gated ? `SCALE * exp2(${x.G(i)})` : 'SCALE') },
      ...(x.vec ? [] : [{ to: 'min(iN, cv)', a: (i: string, l: string) => `sDS[${i} * C + ${l}]`, b: (l: string, c: string) => `KK(${l}, ${c})` }]),
    ],
    store: dqStore,
    rowSum: rowDB ? (i, rs) => `sP[${i} * ${u(NB)} + cb] = ${rs};` : undefined,
  })}`;
  if (x.delta) {
    body += `${gemm(WG, {
      M: x.C, N: x.s.K,
      terms: [
        { to: 'V', a: (i, l) => `VNd(${i}, ${l})`, b: (l, c) => `DH(${c}, ${l})`, rowScale: x.gated ? (i) => `exp2(${x.G('C - 1u')} - ${x.G(i)})` : undefined },
        { from: 'i0', to: 'cv', a: (i, l) => `sDS[${l} * C + ${i}]`, b: (l, c) => `Q(${l}, ${c})` },
      ],
      store: (i, c, v, rs) => `if (${i} < cv) { dk[qi(b, n0 + ${i}, h, ${c})] += ${v}; ${rs} -= KK(${i}, ${c}) * ${v}; }`,
      rowSum: (i, rs) => `sP[${i} * ${u(NB)} + cb] += ${rs};`,
    })}${gemm(WG, {
      M: x.C, N: x.s.K,
      terms: [{ to: 'V', a: (i, l) => `DV2(${i}, ${l})`, b: (l, c) => `HH(${c}, ${l})` }],
      store: (i, c, v) => `wsT[DW_OFF + (bh * TP + n0 + ${i}) * K + ${c}] = select(0.0, -${v}, ${i} < cv);`,
    })}${chunkEnd(endArr)}`;
  }
  if (rowDB) {
    const serialEnd = `for (var l = 0u; l < WG; l++) { acc += ${endArr}[l]; }`;
    body += rowReduceDB('=', NB, x.delta ? `
    if (r == cv - 1u) { ${sgOn ? `if (endSFull) { acc += endS; } else { ${serialEnd} }` : serialEnd} }` : '', x.delta && sgOn ? sgTotal('endS', endArr, 'WG') : '');
  }
  // staging order: operands read transposed (a state's column, v's column) first: from global memory
  // each of their warp-wide loads touches one cache line per lane
  return x.finish(k, body, x.helpers(), x.parGrid, ['HH', 'DH', 'VV', 'VNd', 'DO', 'KK', 'Q', 'DV2']);
}

/**
 * Linear rule: dv = (k⊙e^{L−B}) dh[n] + scale·Aᵀ do, dk = e^{L−B}⊙(v dh[n]ᵀ) + intra; DB −= k⊙dk.
 * Register-blocked; the vector gate stages k⊙e^{L−B} once (sKL) instead of an exp per product term.
 */
function dkvKernel(x: Ctx): GeneratedKernel {
  const k = new Kernel('chunk_dkv_bwd').bind('q', 'read').bind('k', 'read').bind('v', 'read');
  if (x.gateTensor) k.bind('g', 'read');
  k.bind('dO', 'read').bind('wsS', x.needDg ? 'read_write' : 'read').bind('dk', 'read_write').bind('dv', 'read_write');
  x.gateSmem(k, true);
  const { NB } = gemmShape(x.C, x.s.K, x.t.WG);
  const rowDB = x.needDg && !x.vec;
  k.op('sDS', x.C * x.C).op('sA', x.C * x.C);
  if (rowDB) k.smem('sP', x.C * NB);
  // vector gate: k⊙e^{L−B} staged once when the workgroup memory allows, else an exp per product term
  const kl = x.vec && k.smemBytes + opBytes() * x.C * x.s.K <= (x.t.stageBytes ?? 0);
  if (kl) k.op('sKL', x.C * x.s.K);
  const WG = x.t.WG;
  const decay = (i: string) => `exp2(${x.G('C - 1u')} - ${x.G(i)})`;
  const body = `${x.parHead}
  ${x.gateCumsum()}
  ${x.stageCross()}
  ${dsSnippet(x)}
  ${x.intraA()}${kl ? `
  for (var e = tid; e < C * K; e += WG) {
    let i = e / K; let kk = e % K;
    var kl = 0.0;
    if (i < cv) { kl = KK(i, kk) * exp2(sB[(C - 1u) * K + kk] - sB[e]); }
    sKL[e] = kl;
  }` : ''}
  workgroupBarrier();${gemm(WG, {
    M: x.C, N: x.s.V,
    terms: [
      { to: 'K', a: (j, l) => (kl ? `sKL[${j} * K + ${l}]` : x.vec ? `KK(${j}, ${l}) * exp2(sB[(C - 1u) * K + ${l}] - sB[${j} * K + ${l}])` : `KK(${j}, ${l})`), b: (l, c) => `DH(${l}, ${c})`, rowScale: x.gated && !x.vec ? decay : undefined },
      { from: 'i0', to: 'cv', a: (j, l) => `SCALE * sA[${l} * C + ${j}]`, b: (l, c) => `DO(${l}, ${c})` },
    ],
    store: (j, c, v) => `if (${j} < cv) { dv[vi(b, n0 + ${j}, h, ${c})] += ${v}; }`,
  })}${gemm(WG, {
    M: x.C, N: x.s.K,
    terms: [
      { to: 'V', a: (i, l) => `VV(${i}, ${l})`, b: (l, c) => `DH(${c}, ${l})`, rowScale: x.gated && !x.vec ? decay : undefined },
      ...(x.vec ? [] : [{ from: 'i0', to: 'cv', a: (i: string, l: string) => `sDS[${l} * C + ${i}]`, b: (l: string, c: string) => `Q(${l}, ${c})` }]),
    ],
    store: (i, c, v, rs) => x.vec
      ? `if (${i} < cv) {
      let dkv = exp2(sB[(C - 1u) * K + ${c}] - sB[${i} * K + ${c}]) * ${v} + dkIntra(b, h, n0, cv, ${i}, ${c});
      dk[qi(b, n0 + ${i}, h, ${c})] += dkv;
      wsS[DB_OFF + (bh * TP + n0 + ${i}) * K + ${c}] -= KK(${i}, ${c}) * dkv;
    }`
      : `if (${i} < cv) { dk[qi(b, n0 + ${i}, h, ${c})] += ${v};${rowDB ? ` ${rs} += KK(${i}, ${c}) * ${v};` : ''} }`,
    rowSum: rowDB ? (i, rs) => `sP[${i} * ${u(NB)} + cb] = ${rs};` : undefined,
  })}${rowDB ? rowReduceDB('-=', NB) : ''}`;
  return x.finish(k, body, x.helpers(), x.parGrid, ['DH', 'VV', 'KK', 'DO', 'Q']);
}

/**
 * Linear rule: dg = reverse cumsum over the chunk of DB, started from the chunk-end term. The chunk-end
 * term of channel kk is ∂L/∂B_L = Σ_c dh[n]_kk,c · S_kk,c with S the state leaving chunk n
 * (S = e^{B_L} h[n] + Σ_j e^{B_L−B_j} k_j v_jᵀ, so its derivative in B_L is S itself): a dot product of the
 * saved states HS[n+1] (HT for the last chunk) and DHS[n], no exps and no k, v reads.
 */
function dgKernel(x: Ctx): GeneratedKernel {
  const k = new Kernel('chunk_dg_bwd').bind('wsS', 'read').bind('dg', 'read_write');
  const R = Math.max(1, Math.floor(x.t.WG / x.s.K));
  k.smem('sP', x.s.K * R);
  const ends = `
  for (var e = tid; e < K * ${u(R)}; e += WG) {
    let kk = e / ${u(R)}; let lane = e % ${u(R)};
    let hd = DHS_OFF + ((bh * NT + n) * K + kk) * V;
    let ha = select(HT_OFF + (bh * K + kk) * V, HS_OFF + ((bh * NT + n + 1u) * K + kk) * V, n + 1u < NT);
    var p = 0.0;
    for (var c = lane; c < V; c += ${u(R)}) { p += wsS[hd + c] * wsS[ha + c]; }
    sP[e] = p;
  }
  workgroupBarrier();`;
  const body = x.vec
    ? `${x.parHead}${ends}
  for (var kk = tid; kk < K; kk += WG) {
    var run = 0.0;
    for (var l = 0u; l < ${u(R)}; l++) { run += sP[kk * ${u(R)} + l]; }
    for (var ii = 0u; ii < cv; ii++) {
      let i = cv - 1u - ii;
      run += wsS[DB_OFF + (bh * TP + n0 + i) * K + kk];
      dg[qi(b, n0 + i, h, kk)] += run;
    }
  }`
    : `${x.parHead}${ends}${sgOn ? sgTotal('endS', 'sP', `K * ${u(R)}`) : ''}${reverseCumsum(
      (i) => `wsS[DB_OFF + bh * TP + n0 + ${i}]`, (i) => `dg[(b * T + n0 + ${i}) * H + h]`, 'endS', `
    for (var l = 0u; l < K * ${u(R)}; l++) { run += sP[l]; }`)}`;
  return x.finish(k, body, '', x.parGrid);
}

/** Delta: dX = Tm^T dw, dY = Tm^T dv2; dv += β dY; dβ += e^b dX·k + dY·v; DB += β e^b dX·k; M1 = dX X^T + dY Y^T. */
function wyBwdAKernel(x: Ctx): GeneratedKernel {
  const k = new Kernel('chunk_wy_bwd_a').bind('k', 'read').bind('v', 'read').bind('beta', 'read');
  if (x.gateTensor) k.bind('g', 'read');
  k.bind('wsS', 'read_write').bind('wsT', 'read_write').bind('dv', 'read_write').bind('dbeta', 'read_write');
  x.gateSmem(k, false);
  const { K, V } = x.s;
  const NBK = gemmShape(x.C, K, x.t.WG).NB;
  const NBV = gemmShape(x.C, V, x.t.WG).NB;
  k.smem('sBeta', x.C).smem('sT', x.C * x.C).smem('sP', x.C * NBK).smem('sQ', x.C * NBV);
  // dX and dY stay on chip for M1 when the workgroup memory allows (else they go through scratch)
  const keep = k.smemBytes + 4 * x.C * (K + V) <= (x.t.stageBytes ?? 0);
  if (keep) k.smem('sDX', x.C * K).smem('sDY', x.C * V);
  const DXr = (i: string, l: string) => (keep ? `sDX[${i} * K + ${l}]` : `wsT[DX_OFF + (bh * TP + n0 + ${i}) * K + ${l}]`);
  const DYr = (i: string, l: string) => (keep ? `sDY[${i} * V + ${l}]` : `wsT[DY_OFF + (bh * TP + n0 + ${i}) * V + ${l}]`);
  const body = `${x.parHead}
  ${BETA_LOAD}
  for (var e = tid; e < C * C; e += WG) { sT[e] = wsT[AINV_OFF + (bh * NT + n) * C * C + e]; }
  ${x.gateCumsum()}
  ${x.gated ? '' : 'workgroupBarrier();'}${gemm(x.t.WG, {
    M: x.C, N: K,
    terms: [{ from: 'i0', to: 'C', a: (i, l) => `sT[${l} * C + ${i}]`, b: (l, c) => `DW(${l}, ${c})` }],
    store: (i, c, v, rs) => `wsT[DX_OFF + (bh * TP + n0 + ${i}) * K + ${c}] = ${v};${keep ? ` sDX[${i} * K + ${c}] = ${v};` : ''}
      if (${i} < cv) { ${rs} += ${v} * exp2(${x.G(i)}) * KK(${i}, ${c}); }`,
    rowSum: (i, rs) => `sP[${i} * ${u(NBK)} + cb] = ${rs};`,
  })}${gemm(x.t.WG, {
    M: x.C, N: V,
    terms: [{ from: 'i0', to: 'C', a: (i, l) => `sT[${l} * C + ${i}]`, b: (l, c) => `DV2(${l}, ${c})` }],
    store: (i, c, v, rs) => `${keep ? `sDY[${i} * V + ${c}] = ${v};` : `wsT[DY_OFF + (bh * TP + n0 + ${i}) * V + ${c}] = ${v};`}
      if (${i} < cv) { ${rs} += ${v} * VV(${i}, ${c}); dv[vi(b, n0 + ${i}, h, ${c})] += sBeta[${i}] * ${v}; }`,
    rowSum: (i, rs) => `sQ[${i} * ${u(NBV)} + cb] = ${rs};`,
  })}
  storageBarrier();
  workgroupBarrier();
  for (var r = tid; r < cv; r += WG) {
    var sx = 0.0; var sy = 0.0;
    for (var l = 0u; l < ${u(NBK)}; l++) { sx += sP[r * ${u(NBK)} + l]; }
    for (var l = 0u; l < ${u(NBV)}; l++) { sy += sQ[r * ${u(NBV)} + l]; }
    dbeta[(b * T + n0 + r) * H + h] += sx + sy;
    wsS[DB_OFF + bh * TP + n0 + r] += sBeta[r] * sx;
  }
  // M1[ii][m] = β_m (e^{b_m} dX_ii·k_m + dY_ii·v_m) for m < ii, m < cv: two products over the same blocks${gemm(x.t.WG, {
    M: x.C, N: x.C,
    terms: [{ to: 'K', a: (i, l) => DXr(i, l), b: (l, m) => `KK(${m}, ${l})` }],
    store: (i, m, v) => `let mm = ${m}; wsT[M1_OFF + (bh * NT + n) * C * C + ${i} * C + mm] = select(0.0, ${v} * sBeta[mm] * exp2(${x.G('mm')}), mm < ${i} && mm < cv);`,
  })}${gemm(x.t.WG, {
    M: x.C, N: x.C,
    terms: [{ to: 'V', a: (i, l) => DYr(i, l), b: (l, m) => `VV(${m}, ${l})` }],
    store: (i, m, v) => `let mm = ${m}; wsT[M1_OFF + (bh * NT + n) * C * C + ${i} * C + mm] += select(0.0, ${v} * sBeta[mm], mm < ${i} && mm < cv);`,
  })}`;
  // k and v feed the M1 products (K + V terms per output) as well as the row sums: staged first
  return x.finish(k, body, '', x.parGrid, ['KK', 'VV', 'DW', 'DV2']);
}

/** Delta: dA = −M1 Tm^T (strictly lower); dk += β_i Σ dAΓ k_j (+ transpose) + β e^b dX; dβ, DB from A = β (k k^T)⊙Γ; dg = reverse cumsum. */
function wyBwdBKernel(x: Ctx): GeneratedKernel {
  const k = new Kernel('chunk_wy_bwd_b').bind('k', 'read').bind('beta', 'read');
  if (x.gateTensor) k.bind('g', 'read');
  k.bind('wsS', 'read').bind('wsT', 'read_write').bind('dk', 'read_write').bind('dbeta', 'read_write');
  if (x.needDg) k.bind('dg', 'read_write');
  x.gateSmem(k, false);
  k.smem('sBeta', x.C).smem('sT', x.C * x.C).smem('sM', x.C * x.C).smem('sD', x.C * x.C).smem('sDB', x.C);
  const body = `${x.parHead}
  ${BETA_LOAD}
  for (var e = tid; e < C * C; e += WG) {
    sT[e] = wsT[AINV_OFF + (bh * NT + n) * C * C + e];
    sM[e] = wsT[M1_OFF + (bh * NT + n) * C * C + e];
  }
  ${x.gateCumsum()}
  ${x.gated ? '' : 'workgroupBarrier();'}
  // sD = dA⊙Γ = −(M1 Tmᵀ)⊙Γ, strictly lower${gemm(x.t.WG, {
    M: x.C, N: x.C,
    terms: [{ to: 'C', a: (i, l) => `sM[${i} * C + ${l}]`, b: (l, j) => `sT[${j} * C + ${l}]` }],
    store: (i, j, v) => `let j = ${j}; sD[${i} * C + j] = select(0.0, -${v} * exp2(${x.G(i)} - ${x.G('j')}), j < ${i});`,
  })}
  workgroupBarrier();
  // sT := Q_ij = dA_ij Γ_ij (k_i·k_j); dk += β_i Σ_{j<i} sD_ij k_j + Σ_{i'>i} β_i' sD_i'i k_i' + β_i e^{b_i} dX_i${gemm(x.t.WG, {
    M: x.C, N: x.C,
    terms: [{ to: 'K', a: (i, l) => `KK(${i}, ${l})`, b: (l, j) => `KK(${j}, ${l})` }],
    store: (i, j, v) => `let j = ${j}; sT[${i} * C + j] = select(0.0, sD[${i} * C + j] * ${v}, j < ${i} && ${i} < cv);`,
  })}${gemm(x.t.WG, {
    M: x.C, N: x.s.K,
    terms: [
      { to: 'iN', a: (i, l) => `sD[${i} * C + ${l}]`, b: (l, c) => `KK(${l}, ${c})`, rowScale: (i) => `sBeta[${i}]` },
      { from: 'i0', to: 'cv', a: (i, l) => `sBeta[${l}] * sD[${l} * C + ${i}]`, b: (l, c) => `KK(${l}, ${c})` },
    ],
    store: (i, c, v) => `if (${i} < cv) { dk[qi(b, n0 + ${i}, h, ${c})] += ${v} + sBeta[${i}] * exp2(${x.G(i)}) * wsT[DX_OFF + (bh * TP + n0 + ${i}) * K + ${c}]; }`,
  })}
  workgroupBarrier();
  for (var r = tid; r < cv; r += WG) {
    var rs = 0.0;
    for (var j = 0u; j < r; j++) { rs += sT[r * C + j]; }
    var cs = 0.0;
    for (var ii = r + 1u; ii < cv; ii++) { cs += sBeta[ii] * sT[ii * C + r]; }
    dbeta[(b * T + n0 + r) * H + h] += rs;
    sDB[r] = wsS[DB_OFF + bh * TP + n0 + r] + sBeta[r] * rs - cs;
  }
  ${x.needDg ? `workgroupBarrier();${reverseCumsum((i) => `sDB[${i}]`, (i) => `dg[(b * T + n0 + ${i}) * H + h]`)}` : ''}`;
  return x.finish(k, body, '', x.parGrid, ['KK']);
}

export interface ChunkKernelLists {
  forward: GeneratedKernel[];
  backward: GeneratedKernel[];
  /** scratch.state and scratch.tok sizes in bytes */
  scratch: { name: string; bytes: number }[];
}

/** All kernels of one configuration at one tiling. */
export function generateChunkKernels(cfg: ChunkScanConfig, s: ChunkScanShape, t: ChunkTiling): ChunkKernelLists {
  const scaled = cfg.rule === 'linear' && !!cfg.beta;
  bufMap = scaled ? { ...BUF, v: 'scratch.vbeta', dv: 'scratch.dvbeta' } : BUF;
  half = t.precision === 'f16';
  sgOn = !!t.subgroups;
  try {
    return generate(cfg, s, t, scaled);
  } finally {
    bufMap = BUF;
    half = false;
    sgOn = false;
  }
}

/** Elementwise kernels around the β-scaled values: v' = β⊙v; zero dv'; dv += β⊙dv', dβ += Σ_c v⊙dv'. */
function betaKernels(s: ChunkScanShape, t: ChunkTiling) {
  const rows = s.B * s.T * s.H;
  const WG = Math.max(64, Math.min(256, t.WG));
  const groups = Math.ceil((rows * s.V) / WG);
  const gx = Math.min(groups, 65535);
  const grid: [number, number, number] = [gx, Math.ceil(groups / gx), 1];
  const gridR = Math.ceil(rows / WG);
  const gxr = Math.min(gridR, 65535);
  const head = `const V: u32 = ${u(s.V)};\nconst N: u32 = ${u(rows * s.V)};\nconst ROWS: u32 = ${u(rows)};`;
  const id = (gx0: number) => `let e = (wid.y * ${u(gx0)} + wid.x) * ${u(WG)} + lid;`;
  const mk = (name: string, binds: Bind[], body: string, g: [number, number, number], gx0: number): GeneratedKernel => ({
    name,
    wgsl: `${declare(binds)}\n${head}\n@compute @workgroup_size(${WG})\nfn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {\n  ${id(gx0)}\n${body}\n}\n`,
    entryPoint: 'main',
    bindings: bindings(binds),
    workgroups: g,
    smemBytes: 0,
  });
  const B = (name: string, buffer: string, access: 'read' | 'read_write'): Bind => ({ name, buffer, access });
  const fwd = mk('chunk_beta_v', [B('v', 'v', 'read'), B('beta', 'beta', 'read'), B('vb', 'scratch.vbeta', 'read_write')],
    '  if (e < N) { vb[e] = beta[e / V] * v[e]; }', grid, gx);
  const zero = mk('chunk_beta_zero', [B('dvb', 'scratch.dvbeta', 'read_write')], '  if (e < N) { dvb[e] = 0.0; }', grid, gx);
  const post = mk('chunk_beta_dv',
    [B('v', 'v', 'read'), B('beta', 'beta', 'read'), B('dvb', 'scratch.dvbeta', 'read'), B('dv', 'grad.v', 'read_write'), B('dbeta', 'grad.beta', 'read_write')],
    `  if (e < ROWS) {
    var acc = 0.0;
    for (var c = 0u; c < V; c++) {
      let d = dvb[e * V + c];
      acc += v[e * V + c] * d;
      dv[e * V + c] += beta[e] * d;
    }
    dbeta[e] += acc;
  }`, [gxr, Math.ceil(gridR / gxr), 1], gxr);
  return { fwd, zero, post, bytes: 4 * rows * s.V };
}

function generate(cfg: ChunkScanConfig, s: ChunkScanShape, t: ChunkTiling, scaled: boolean): ChunkKernelLists {
  const x = new Ctx(cfg, s, t);
  const forward = x.delta
    ? [wyKernel(x), deltaStateFast(x) ?? stateKernel(x), outputKernel(x)]
    : [localStateKernel(x, false), stateScanKernel(x, false), outputKernel(x)];
  const backward = x.delta
    ? [dvLocalKernel(x), deltaDstateFast(x) ?? dstateKernel(x), dqKernel(x), wyBwdAKernel(x), wyBwdBKernel(x)]
    : [localStateKernel(x, true), stateScanKernel(x, true), dqKernel(x), dkvKernel(x), ...(x.needDg ? [dgKernel(x)] : [])];
  const scratch = [{ name: 'state', bytes: 4 * x.lay.stateElems }];
  if (x.delta) scratch.push({ name: 'tok', bytes: 4 * x.lay.tokElems });
  if (scaled) {
    const bk = betaKernels(s, t);
    forward.unshift(bk.fwd);
    backward.unshift(bk.zero);
    backward.push(bk.post);
    scratch.push({ name: 'vbeta', bytes: bk.bytes }, { name: 'dvbeta', bytes: bk.bytes });
  }
  return { forward, backward, scratch };
}
