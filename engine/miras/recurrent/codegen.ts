/**
 * Codegen of the fused recurrent WGSL scan for one Miras combination (matrix or vector memory), forward
 * and backward, from the per-option math in engine/miras/math/. The recurrence is documented in
 * engine/miras/math/combo.ts; the float64 mirror is engine/miras/recurrent/f64.ts.
 *
 * Kernel design (see README.md beside this file)
 *   - Forward: one workgroup per (batch, head[, value-column tile]). Each value column j of S is owned by P
 *     invocations splitting its d_k rows (R = d_k/P registers each); column sums (Sᵀk, Sᵀq) combine the P
 *     partials in workgroup memory; sums over columns (norm-based biases, ℓq, KL over values) go through
 *     workgroup memory too. Every operand of LP sub-steps is staged in workgroup memory from registers
 *     loaded one block ahead (branch-free loads), so the latency-bound time loop reads on-chip operands; a full
 *     block is straight-line code (blockSteps) and the read-out Sᵀq is reduced once per block. Hebbian
 *     combinations default to the column-tiled variant in fwd-hebbian.ts (CW value columns per invocation).
 *   - The elementwise-bias, multiplicative-decay combinations use the fast backward in fast.ts.
 *   - Forward stores the state (and momentum) every CK sub-steps in scratch.state. The general backward walks the
 *     segments in reverse: it reloads a checkpoint, recomputes and stores the segment's states, then runs
 *     the reverse recurrence producing every input gradient (one invocation per column; row sums per tile).
 *   - ≤ 8 storage buffers per kernel (DEFAULT_CAPS): per-token gates are packed into scratch.gates; the
 *     backward writes dq, dk and gate gradients into scratch.dx, which small kernels add (+=) into
 *     grad.<input>; dv is added straight into grad.v; grad.finalState is staged in scratch.state.
 */
import type { DeviceCaps, KernelSpec, ScratchBuffer } from '../../plan/kernel';
import { comboInputs, initValue, stateSize, type Combo, type ScanDims } from '../math/combo';
import { lit } from '../math/expr';
import { threadKernel, type Bind } from '../../ops/wgsl';
import { mlstmBackwardKernel, mlstmForwardKernel } from './mlstm';
import { fastBackwardConfig, fastBackwardKernel, type FastConfig } from './fast';
import { hebbianForwardKernel, hebbianTiledCovers } from './fwd-hebbian';

const u = (x: number) => `${x}u`;

/**
 * Unrolls every `for (var X = 0u; X < BOUND; X++) { body }` of the generated source into BOUND blocks
 * `{ const X = ku; body }`, so per-invocation arrays indexed by X get constant indices and live in registers
 * (a loop the driver does not unroll turns them into local memory, which the H200 measurements showed costs
 * several times the step's arithmetic). The bodies must not `break` or `continue` the loop.
 */
export function unrollLoops(wgsl: string, v: string, bound: string, count: number): string {
  const head = `for (var ${v} = 0u; ${v} < ${bound}; ${v}++) {`;
  let out = '';
  let at = 0;
  for (let i = wgsl.indexOf(head); i >= 0; i = wgsl.indexOf(head, at)) {
    let depth = 1;
    let j = i + head.length;
    for (; depth > 0; j++) {
      if (wgsl[j] === '{') depth++;
      else if (wgsl[j] === '}') depth--;
      if (j >= wgsl.length) throw new Error(`unrollLoops: unbalanced loop over ${v}`);
    }
    const body = wgsl.slice(i + head.length, j - 1);
    if (/\b(break|continue)\b/.test(body)) throw new Error(`unrollLoops: the loop over ${v} has break/continue`);
    out += wgsl.slice(at, i) + Array.from({ length: count }, (_, k) => `{ const ${v} = ${k}u;${unrollLoops(body, v, bound, count)}}`).join(' ');
    at = j;
  }
  return out + wgsl.slice(at);
}

/** One operand segment of a staged sub-step: `len` floats at offset `off` of the step's PS, loaded by `src` (uses tau, o). */
export interface StageSeg {
  name: string;
  len: number;
  off: number;
  src: string;
  /** Applied to each value as it is stored (e.g. `exp`: the block's exp(g) is computed once, not per invocation and step). */
  map?: string;
}

/**
 * Staging of LP sub-steps of operands into workgroup memory `pre[l·PS + off + o]`, by W invocations (id t).
 * Straight-line code: one unconditional load per register (indices clamped into range instead of branching),
 * so all loads of a block are in flight together; a load under a divergent branch whose result merges at the
 * join would wait for the load, and the H200 sitting showed such staging costing one full global-memory
 * latency per element. `decl` declares the registers, `load(base)` fills them for the block starting at
 * sub-step `base`, `store` writes them into `pre`.
 */
export function staging(segs: StageSeg[], LP: number, W: number, vec4 = false) {
  // vec4: `pre` is an array of vec4<f32> (PS a multiple of 4), written one component at a time
  const at = (x: string) => (vec4 ? `pre[(${x}) / 4u][(${x}) % 4u]` : `pre[${x}]`);
  const cnt = (g: StageSeg) => Math.ceil((LP * g.len) / W);
  const decl = segs.map((g) => `var pf_${g.name}: array<f32, ${cnt(g)}>;`).join('\n  ');
  const load = (base: string) =>
    segs
      .map((g) =>
        Array.from(
          { length: cnt(g) },
          (_, n) => `{ let x = min(t + ${u(n * W)}, ${u(LP * g.len - 1)}); let tau = min(${base} + x / ${u(g.len)}, TS - 1u); let o = x % ${u(g.len)}; pf_${g.name}[${n}] = ${g.src}; }`,
        ).join('\n    '),
      )
      .join('\n    ');
  const store = segs
    .map((g) =>
      Array.from({ length: cnt(g) }, (_, n) => `{ let x = t + ${u(n * W)}; if (x < ${u(LP * g.len)}) { ${at(`(x / ${u(g.len)}) * PS + ${u(g.off)} + x % ${u(g.len)}`)} = ${g.map ? `${g.map}(pf_${g.name}[${n}])` : `pf_${g.name}[${n}]`}; } }`).join('\n    '),
    )
    .join('\n    ');
  // the block loop's head: registers for block 0, then per block (variable `base`) the staged operands in `pre`
  const loopHead = `${decl}
  ${load('0u')}
  for (var base = 0u; base < TS; base += LP) {
    workgroupBarrier();
    ${store}
    workgroupBarrier();`;
  return { decl, load, store, loopHead };
}

/**
 * The steps of one staged block (inside the loop over `base`): a full block as straight-line code, step(l) for the
 * constant l = 0 … LP−1 between `regs` (declarations) and `flush` (e.g. read-out partials kept in registers, stored
 * after the last step), so the compiler can overlap step l + 1's workgroup-memory loads with step l's chain; a
 * partial last block runs step(null) in a rolled loop over the variable l.
 */
export function blockSteps(LP: number, step: (lc: number | null) => string, regs = '', flush = ''): string {
  return `if (base + LP <= TS) {
      ${regs}
      ${Array.from({ length: LP }, (_, l) => `{\n${step(l)}\n      }`).join(' ')}
      ${flush}
    } else {
      for (var l = 0u; l < TS - base; l++) {
${step(null)}
      }
    }`;
}

/** Constants of a column-split launch: LP staged sub-steps, P invocations per column, R rows each, TV columns, W invocations, PS staged floats per sub-step. */
export function splitConsts(x: { LP: number; P: number; R: number; TV: number; W: number; PS: number }): string {
  return Object.entries(x)
    .map(([k, v]) => `const ${k} = ${u(v)};`)
    .join('\n');
}

/** Ids of a column-split invocation: head (b, h), column j = j0 + jl of the tile, row group p. */
export const SPLIT_IDS = `let bh = wid.x;
  let b = bh / H;
  let h = bh % H;
  let t = lid.x;
  let jl = t % TV;
  let p = t / TV;
  let j0 = wid.y * TV;
  let j = j0 + jl;`;

/**
 * Subgroup column reduction (used when the device has `subgroups`, never assumed).
 *
 * WGSL promises neither which local invocations share a subgroup nor its size (4 on SwiftShader, 32 on NVIDIA,
 * up to 128), so the kernel does not assume a lane mapping: it checks it once, at run time, for the whole
 * workgroup, and takes the subgroup path only where the check proves it right. With the column-major ids
 * (t = jl·P + p, P a power of two) the P invocations of a column are t ^ m for m < P. Every invocation checks
 *   - subgroupAdd(1) == subgroup_size: every lane of its subgroup is an active invocation (so a shuffle never
 *     reads an inactive or out-of-range lane; subgroup sizes are powers of two, and size ≥ P keeps lane ^ m in range);
 *   - for m = 1, 2, …, P/2: subgroupShuffleXor(t, m) == t ^ m, i.e. the lane it exchanges with under mask m is
 *     exactly the invocation of the same column with row group p ^ m.
 * Subgroup membership is fixed for an invocation's lifetime, so a butterfly of subgroupShuffleXor over those
 * masks then sums exactly the P partials of the column (every lane gets the same sum: float + commutes). The
 * verdict is OR-ed over the workgroup in workgroup memory and read back with workgroupUniformLoad, so the branch
 * between the two paths is workgroup-uniform (the fallback keeps its barriers); if any subgroup fails, the whole
 * workgroup runs the workgroup-memory reduction. Declares `sgok` (uniform bool); needs `t`, `sgsz` (subgroup_size)
 * and the workgroup variables of SG_VARS.
 */
export function subgroupCheck(P: number): string {
  // every subgroup operation in straight-line code (a short-circuit && would make the later ones non-uniform)
  const shuf = [];
  const masks = [];
  for (let m = 1; m < P; m *= 2) {
    shuf.push(`let sgx${m} = subgroupShuffleXor(t, ${u(m)});`);
    masks.push(` && sgx${m} == (t ^ ${u(m)})`);
  }
  return `// subgroup path check (see subgroupCheck in codegen.ts)
  if (t == 0u) { atomicStore(&sgfail, 0u); }
  workgroupBarrier();
  let sgn = subgroupAdd(1u);
  ${shuf.join(' ')}
  let sgc = sgn == sgsz && sgsz >= ${u(P)}${masks.join('')};
  if (!sgc) { atomicOr(&sgfail, 1u); }
  workgroupBarrier();
  if (t == 0u) { sgflag = atomicLoad(&sgfail); }
  let sgok = workgroupUniformLoad(&sgflag) == 0u;`;
}
export const SG_VARS = `var<workgroup> sgfail: atomic<u32>;
var<workgroup> sgflag: u32;`;

/** Butterfly over the P invocations of a column (the subgroup path of subgroupCheck): a holds the sum (or max) after. */
export function subgroupColumn(P: number, a: string, op: '+' | 'max'): string {
  const steps = [];
  for (let m = 1; m < P; m *= 2) steps.push(op === '+' ? `${a} += subgroupShuffleXor(${a}, ${u(m)});` : `${a} = max(${a}, subgroupShuffleXor(${a}, ${u(m)}));`);
  return steps.join(' ');
}

export interface RecurrentKernels {
  forward: KernelSpec[];
  backward: KernelSpec[];
  scratch: ScratchBuffer[];
  /** Checkpoint interval in sub-steps. */
  checkpoint: number;
}

export interface RecurrentOptions {
  /** Checkpoint interval in sub-steps (rounded up to a multiple of n_h and the chunk size). Default ≈ √T. */
  checkpoint?: number;
  /** Launch-shape overrides for benchmarks and tests (each clamped to what the device and shape allow). */
  tune?: { forward?: ForwardTune; backward?: BackwardTune };
}

/** Forward launch shape: invocations per value column (P), value columns per workgroup (TV), sub-steps per staged block (LP). */
export interface ForwardTune {
  P?: number;
  TV?: number;
  LP?: number;
  /** Read each invocation's rows of k, q and the channel gates as vec4 loads of workgroup memory (needs R % 4 == 0). */
  vec4?: boolean;
  /** Where the device has `subgroups`: sum the chain's column partials with a shuffle butterfly (default SUBGROUP_CHAIN). */
  subgroups?: boolean;
  /** Value columns per invocation for the Hebbian combinations fwd-hebbian.ts covers (default HEBBIAN_CW; 1: forwardKernel). */
  CW?: number;
}

/** Default value columns per invocation of the column-tiled Hebbian forward (fwd-hebbian.ts); 1 keeps forwardKernel. */
export const HEBBIAN_CW = 2;

/** Whether the forward's chain column sums use subgroups by default when the device has them. */
export const SUBGROUP_CHAIN = false;

/** Backward launch shape: invocations per value column (P), sub-steps per staged block (LP); `general` forces the general kernel. */
export interface BackwardTune {
  P?: number;
  LP?: number;
  general?: boolean;
}

export interface Layout {
  B: number;
  T: number;
  H: number;
  DK: number;
  DV: number;
  TS: number;
  /** Packed gate fields. */
  fields: { beta?: number; bc?: number; g?: number; delta?: number; eta?: number; gc?: number; ig?: number };
  NG: number;
  CK: number;
  NCK: number;
  NST: number;
  /** offsets (in floats) of the dx regions */
  dx: { q: number; k: number; v: number; gates: number; init: number; total: number; qReg: number; kReg: number; gReg: number };
  /** Backward: value columns per workgroup and tiles per head (row sums are written per tile and added up by the unpack kernels). */
  TVB: number;
  NT: number;
  /** Row groups per value column in the backward (the fast kernel's P): scalar gate gradients are written per (tile, row group). */
  PB: number;
  /** carried floats per head (S, and the momentum) */
  SZ: number;
  stateFloats: number;
  segOffset: number;
  dfinOffset: number;
}

export function layout(c: Combo, s: ScanDims, opts: RecurrentOptions, minTile = 16, PB = 1): Layout {
  const { batch: B, time: T, heads: H, dk: DK, dv: DV } = s;
  const TS = T * c.steps;
  const fields: Layout['fields'] = {};
  let NG = 0;
  if (c.hasBeta && !c.betaPerChannel) fields.beta = NG++;
  if (c.retention.decay === 'scalar') fields.g = NG++;
  if (c.bias.delta === 'data') fields.delta = NG++;
  if (c.learner === 'momentum') fields.eta = NG++;
  if (c.mlstm) fields.ig = NG++;
  if (c.retention.decay === 'channel') {
    fields.gc = NG;
    NG += DK;
  }
  if (c.hasBeta && c.betaPerChannel) {
    fields.bc = NG;
    NG += DV;
  }
  const unit = c.steps * c.chunk;
  const want = opts.checkpoint ?? Math.max(1, Math.round(Math.sqrt(TS)));
  const CK = Math.max(unit, Math.ceil(want / unit) * unit);
  const NCK = Math.ceil(TS / CK);
  // slots per saved state: S; momentum; mLSTM keeps its normaliser n and stabiliser m in slots 1 and 2
  const NST = c.mlstm ? 3 : c.learner === 'momentum' ? 2 : 1;
  // The backward splits the value columns over NT workgroups when no step couples columns.
  const sx = c.retention.simplex;
  const separable = !c.mlstm && c.bias.fwdSums.length === 0 && c.bias.bwdSums.length === 0 && !c.retention.norm && (!sx || sx.axis === 'key');
  let TVB = DV;
  while (separable && TVB > minTile && TVB % 2 === 0 && B * H * (DV / TVB) < 256) TVB /= 2;
  const NT = DV / TVB;
  const qReg = B * T * H * DK;
  const kReg = B * TS * H * DK;
  const q = 0;
  const k = q + NT * qReg;
  // dv is added straight into grad.v by the backward kernel (no dx region)
  const v = -1;
  const gates = k + NT * kReg;
  const SZ = stateSize(c, s);
  const gReg = B * TS * H * NG;
  const init = gates + NT * PB * gReg;
  const total = init + (c.init.kind === 'learned' ? B * H * SZ : 0);
  const segOffset = B * H * NCK * NST * DK * DV;
  // the upstream grad.finalState is copied behind the segment states (one binding fewer for the backward)
  const dfinOffset = segOffset + B * H * CK * NST * DK * DV;
  const stateFloats = dfinOffset + B * H * SZ;
  return { B, T, H, DK, DV, TS, fields, NG, CK, NCK, NST, dx: { q, k, v, gates, init, total, qReg, kReg, gReg }, TVB, NT, PB, SZ, stateFloats, segOffset, dfinOffset };
}

/** WGSL functions for the bias and retention expressions (the same strings the float64 mirror compiles). */
export function mathFns(c: Combo): string {
  const b = c.bias;
  const ga = 'e: f32, dl: f32, r0: f32, r1: f32, r2: f32';
  const ba = `${ga}, dg: f32, s0: f32, s1: f32, s2: f32`;
  const lines = [
    `fn bias_g(${ga}) -> f32 { return ${b.g}; }`,
    `fn bias_de(${ba}) -> f32 { return ${b.de}; }`,
    `fn bias_ddelta(${ba}) -> f32 { return ${b.ddelta}; }`,
    ...b.fwdSums.map((x, m) => `fn bias_fsum${m}(${ga}) -> f32 { return ${x}; }`),
    ...b.bwdSums.map((x, m) => `fn bias_bsum${m}(${ba}) -> f32 { return ${x}; }`),
  ];
  const nm = c.retention.norm;
  if (nm) {
    lines.push(
      `const NPN = ${lit(nm.pn)};`,
      `const NEXPO = ${lit(nm.expo)};`,
      `fn nrm_term(a: f32) -> f32 { return ${nm.term}; }`,
      `fn nrm_f(a: f32) -> f32 { return ${nm.f}; }`,
      `fn nrm_fd(a: f32) -> f32 { return ${nm.fd}; }`,
      `fn nrm_dterm(a: f32) -> f32 { return ${nm.dterm}; }`,
    );
  }
  const p = c.retention.post;
  if (p) {
    lines.push(`fn post_map(z: f32) -> f32 { return ${p.map}; }`, `fn post_d(z: f32) -> f32 { return ${p.deriv}; }`);
  }
  return lines.join('\n');
}

export function header(c: Combo, s: ScanDims, L: Layout, what: string): string {
  return `// ${what}: fused recurrent Miras scan, ${c.id}
//   memory ${c.memory}; bias ${c.bias.formula}; retention ${c.retention.formula};
//   learner ${c.learner}${c.steps > 1 ? ` (n_h = ${c.steps})` : ''}${c.chunk > 1 ? ` (chunk b = ${c.chunk})` : ''}; ∇ℓ taken at ${c.learner === 'chunk' ? 'the chunk-start state' : c.gradAt === 'prev' ? 'S_{t−1}' : 'λ⊙S_{t−1}'}
//   S ∈ R^{dk×dv} (fla), e = Pᵀk − v ${c.memory === 'vector' ? '(per key row: e[n,:] = k_n P[n,:] − v)' : ''}, U = η k gᵀ,
//   S_t = post(λ⊙S_{t−1} − c·step), o_t = ${lit(c.scale)} · S_tᵀ q_t   (engine/miras/math/combo.ts; Miras arXiv 2504.13173 §3-4)
//   shape B=${s.batch} T=${s.time} H=${s.heads} dk=${s.dk} dv=${s.dv}; one workgroup per (b, h), one invocation per value column; checkpoints every ${L.CK} sub-steps`;
}

export function consts(c: Combo, L: Layout): string {
  const g = c.retention.gammas;
  return `const DK = ${u(L.DK)};
const DV = ${u(L.DV)};
const T = ${u(L.T)};
const TS = ${u(L.TS)};
const H = ${u(L.H)};
const STEPS = ${u(c.steps)};
const CHUNK = ${u(c.chunk)};
const CK = ${u(L.CK)};
const NCK = ${u(L.NCK)};
const NG = ${u(Math.max(1, L.NG))};
const SCALE = ${lit(c.scale)};
const SEG = ${u(L.segOffset)};
const SZ = ${u(L.SZ)};
const DFIN = ${u(L.dfinOffset)};
const INIT = ${lit(initValue(c, { batch: L.B, time: L.T, heads: L.H, dk: L.DK, dv: L.DV }))};
${g ? `var<private> GAMMA: array<f32, ${g.length}> = array<f32, ${g.length}>(${g.map(lit).join(', ')});` : ''}
fn rowk(b: u32, t: u32, h: u32) -> u32 { return ((b * TS + t) * H + h) * DK; }
fn rowv(b: u32, t: u32, h: u32) -> u32 { return ((b * TS + t) * H + h) * DV; }
fn rowq(b: u32, t: u32, h: u32) -> u32 { return ((b * T + t) * H + h) * DK; }
fn rowo(b: u32, t: u32, h: u32) -> u32 { return ((b * T + t) * H + h) * DV; }
fn rowg(b: u32, t: u32, h: u32) -> u32 { return ((b * TS + t) * H + h) * NG; }
// checkpoint c, slot m (0 = S, 1 = momentum), column j of head bh
fn ckpt(bh: u32, c: u32, m: u32, i: u32, j: u32) -> u32 { return ((((bh * NCK + c) * ${u(L.NST)} + m) * DK + i) * DV) + j; }
fn segs(bh: u32, l: u32, m: u32, i: u32, j: u32) -> u32 { return SEG + ((((bh * CK + l) * ${u(L.NST)} + m) * DK + i) * DV) + j; }`;
}

/** Scalar parameters of sub-step tau (sub-step index `sub`), read from the packed gates. Defines lamS (scalar λ), eta0, dl, mm. */
function stepScalars(c: Combo, L: Layout): string {
  const f = L.fields;
  const r = c.retention;
  const lamS =
    r.decay === 'constant' ? 'GAMMA[h]' : r.decay === 'scalar' ? `exp(gates[rowg(b, tau, h) + ${u(f.g!)}])` : '1.0';
  return `    let gbase = rowg(b, tau, h);
    var lamS = 1.0;
    if (sub == 0u) { lamS = ${lamS}; }
    let beta = ${!c.hasBeta ? '1.0' : c.betaPerChannel ? `gates[gbase + ${u(f.bc!)} + j]` : `gates[gbase + ${u(f.beta!)}]`};
    let dl = ${c.bias.delta === 'data' ? `gates[gbase + ${u(f.delta!)}]` : lit(c.bias.deltaValue)};
    let mm = ${c.learner === 'momentum' ? `gates[gbase + ${u(f.eta!)}]` : '1.0'};
    let krow = rowk(b, tau, h);
    var kk = 0.0;
    ${c.learner === 'implicit' ? 'for (var i = 0u; i < DK; i++) { let ki = KLOAD(i); kk += ki * ki; }' : ''}
    let vj = v[rowv(b, tau, h) + j];`;
}

/** λ_i of key row i for the current sub-step (channel gates vary by row). */
function lamAt(c: Combo, L: Layout, gcLoad: string): string {
  if (c.retention.decay !== 'channel') return 'lamS';
  return `select(1.0, exp(${gcLoad}), sub == 0u)`;
}

/** Effective step size of row i. */
function etaAt(c: Combo): string {
  if (c.learner !== 'implicit') return 'beta';
  return 'beta / (1.0 + beta * kk)';
}

/** Pairwise (tree) sum of the terms: log₂n dependent adds instead of n. */
export function treeSum(terms: string[]): string {
  return treeOp(terms, '+');
}

/** Pairwise (tree) sum or max of the terms. */
export function treeOp(terms: string[], op: '+' | 'max'): string {
  if (terms.length === 0) return op === '+' ? '0.0' : '-3.0e38';
  let t = terms;
  while (t.length > 1) {
    const n: string[] = [];
    for (let a = 0; a < t.length; a += 2) n.push(a + 1 >= t.length ? t[a] : op === '+' ? `(${t[a]} + ${t[a + 1]})` : `max(${t[a]}, ${t[a + 1]})`);
    t = n;
  }
  return t[0];
}

/** An expression written for row r of the row loop (S[r], kr[r], i = p * R + r) at the constant row rr. */
function atRow(e: string, rr: number): string {
  return e.replace(/\br\b/g, `${rr}`).replace(/\bi\b/g, `(p * R + ${u(rr)})`);
}

/** Sum of per-invocation values over the workgroup's columns, broadcast to all: red[m*DV + j]. */
function colSums(n: number, vals: (m: number) => string, out: (m: number) => string): string {
  if (n === 0) return '';
  const w = Array.from({ length: n }, (_, m) => `red[${u(m)} * DV + j] = ${vals(m)};`).join(' ');
  const decl = Array.from({ length: n }, (_, m) => `var ${out(m)} = 0.0;`).join(' ');
  const acc = Array.from({ length: n }, (_, m) => `${out(m)} += red[${u(m)} * DV + jj];`).join(' ');
  return `    ${w}
    workgroupBarrier();
    ${decl}
    for (var jj = 0u; jj < DV; jj++) { ${acc} }
    workgroupBarrier();`;
}

/** Per-row sums over columns for all key rows, broadcast: out_m[i] = Σ_j vals_m(i). RC rows per pass. */
function rowSumsBroadcast(n: number, RC: number, vals: (m: number) => string, out: (m: number) => string): string {
  if (n === 0) return '';
  const decl = Array.from({ length: n }, (_, m) => `var ${out(m)}: array<f32, DK>;`).join(' ');
  const w = Array.from({ length: n }, (_, m) => `red[(${u(m)} * ${u(RC)} + r) * DV + j] = ${vals(m)};`).join(' ');
  const acc = Array.from({ length: n }, (_, m) => `var a${m} = 0.0; for (var jj = 0u; jj < DV; jj++) { a${m} += red[(${u(m)} * ${u(RC)} + r) * DV + jj]; } ${out(m)}[i] = a${m};`).join(' ');
  return `    ${decl}
    for (var i0 = 0u; i0 < DK; i0 += ${u(RC)}) {
      for (var r = 0u; r < ${u(RC)}; r++) { let i = i0 + r; if (i < DK) { ${w} } }
      workgroupBarrier();
      for (var r = 0u; r < ${u(RC)}; r++) { let i = i0 + r; if (i < DK) { ${acc} } }
      workgroupBarrier();
    }`;
}

/**
 * The bias part of a step for invocation j, from P (array), k (KLOAD), vj, dl. Defines:
 *   matrix: e, r0..r2, G (scalar); vector: ev[i], gv[i] and rs0..rs2[i].
 */
function biasForward(c: Combo, RC: number): string {
  const b = c.bias;
  if (b.hebbian) return '    let G = -vj;';
  const nf = b.fwdSums.length;
  const rargs = (pre: string, idx: string) => [0, 1, 2].map((m) => (m < nf ? `${pre}${m}${idx}` : '0.0')).join(', ');
  if (c.memory === 'matrix') {
    return `    var y = 0.0;
    for (var i = 0u; i < DK; i++) { y += P[i] * KLOAD(i); }
    let e = y - vj;
${colSums(nf, (m) => `bias_fsum${m}(e, dl, 0.0, 0.0, 0.0)`, (m) => `r${m}`)}
    let G = bias_g(e, dl, ${rargs('r', '')});`;
  }
  return `    var ev: array<f32, DK>;
    var gv: array<f32, DK>;
    for (var i = 0u; i < DK; i++) { ev[i] = KLOAD(i) * P[i] - vj; }
${rowSumsBroadcast(nf, RC, (m) => `bias_fsum${m}(ev[i], dl, 0.0, 0.0, 0.0)`, (m) => `rs${m}`)}
    for (var i = 0u; i < DK; i++) { gv[i] = bias_g(ev[i], dl, ${rargs('rs', '[i]')}); }`;
}

const Gat = (c: Combo) => (c.bias.hebbian || c.memory === 'matrix' ? 'G' : 'gv[i]');

/** Reduction (sum or max) of one value per invocation over the workgroup's DV columns, broadcast. */
function colOpB(op: '+' | 'max', val: string, out: string): string {
  const init = op === '+' ? '0.0' : '-3.0e38';
  const acc = op === '+' ? `${out} += red[jj];` : `${out} = max(${out}, red[jj]);`;
  return `    red[j] = ${val};
    workgroupBarrier();
    var ${out} = ${init};
    for (var jj = 0u; jj < DV; jj++) { ${acc} }
    workgroupBarrier();`;
}

/** Per key row i, reduction (sum or max) over the DV columns of val(i), broadcast into out[i]; RC rows per pass. */
function rowOpB(op: '+' | 'max', RC: number, val: string, out: string): string {
  const init = op === '+' ? '0.0' : '-3.0e38';
  const acc = op === '+' ? 'a += red[r * DV + jj];' : 'a = max(a, red[r * DV + jj]);';
  return `    var ${out}: array<f32, DK>;
    for (var i0 = 0u; i0 < DK; i0 += ${u(RC)}) {
      for (var r = 0u; r < ${u(RC)}; r++) { let i = i0 + r; if (i < DK) { red[r * DV + j] = ${val}; } }
      workgroupBarrier();
      for (var r = 0u; r < ${u(RC)}; r++) { let i = i0 + r; if (i < DK) { var a = ${init}; for (var jj = 0u; jj < DV; jj++) { ${acc} } ${out}[i] = a; } }
      workgroupBarrier();
    }`;
}

/** KL: Sn = c·softmax over the slices of Z (P=1 layout: this invocation holds column j). */
function softmaxB(c: Combo, RC: number): string {
  const sx = c.retention.simplex;
  if (!sx) return '';
  const C = lit(sx.scale);
  if (sx.axis === 'key')
    return `    var kmx = -3.0e38;
    for (var i = 0u; i < DK; i++) { kmx = max(kmx, Z[i]); }
    var ksm = 0.0;
    for (var i = 0u; i < DK; i++) { ksm += exp(Z[i] - kmx); }
    for (var i = 0u; i < DK; i++) { Sn[i] = ${C} * exp(Z[i] - kmx) / ksm; }`;
  if (sx.axis === 'all')
    return `    var amp = -3.0e38;
    for (var i = 0u; i < DK; i++) { amp = max(amp, Z[i]); }
${colOpB('max', 'amp', 'amx')}
    var asp = 0.0;
    for (var i = 0u; i < DK; i++) { asp += exp(Z[i] - amx); }
${colOpB('+', 'asp', 'allsm')}
    for (var i = 0u; i < DK; i++) { Sn[i] = ${C} * exp(Z[i] - amx) / allsm; }`;
  return `${rowOpB('max', RC, 'Z[i]', 'vmx')}
${rowOpB('+', RC, 'exp(Z[i] - vmx[i])', 'vsm')}
    for (var i = 0u; i < DK; i++) { Sn[i] = ${C} * exp(Z[i] - vmx[i]) / vsm[i]; }`;
}

/** KL VJP: dZv[i] = Sn ⊙ (dS − Σ_slice dS ⊙ Sn / c). */
function softmaxVjpB(c: Combo, RC: number): string {
  const sx = c.retention.simplex;
  if (!sx) return '';
  const C = lit(sx.scale);
  const head = '      var dZv: array<f32, DK>;\n';
  if (sx.axis === 'key')
    return `${head}      var kd = 0.0;
      for (var i = 0u; i < DK; i++) { kd += dS[i] * Sn[i] / ${C}; }
      for (var i = 0u; i < DK; i++) { dZv[i] = Sn[i] * (dS[i] - kd); }`;
  if (sx.axis === 'all')
    return `${head}      var adp = 0.0;
      for (var i = 0u; i < DK; i++) { adp += dS[i] * Sn[i] / ${C}; }
${colOpB('+', 'adp', 'ad')}
      for (var i = 0u; i < DK; i++) { dZv[i] = Sn[i] * (dS[i] - ad); }`;
  return `${head}${rowOpB('+', RC, `dS[i] * Sn[i] / ${C}`, 'vd')}
      for (var i = 0u; i < DK; i++) { dZv[i] = Sn[i] * (dS[i] - vd[i]); }`;
}

/** Gradient point P[i] from Sp (state before the step), or P0 for the chunk learner. */
function gradPoint(c: Combo, lam: string): string {
  if (c.retention.norm) {
    // ℓq: the gradient is taken at the memory W = N(X) of the carried accumulator X (Sp, or the chunk anchor P0)
    const X = c.learner === 'chunk' ? 'P0' : 'Sp';
    return `    var ntp = 0.0;
    for (var i = 0u; i < DK; i++) { ntp += nrm_term(${X}[i]); }
${colSums(1, () => 'ntp', () => 'nsP')}
    let scP = pow(nsP, -NEXPO / NPN);
    var P: array<f32, DK>; for (var i = 0u; i < DK; i++) { P[i] = nrm_f(${X}[i]) * scP; }`;
  }
  if (c.learner === 'chunk') return '    var P: array<f32, DK>; for (var i = 0u; i < DK; i++) { P[i] = P0[i]; }';
  if (c.gradAt === 'retained')
    return `    var P: array<f32, DK>; for (var i = 0u; i < DK; i++) { P[i] = ${lam} * Sp[i]; }`;
  return '    var P: array<f32, DK>; for (var i = 0u; i < DK; i++) { P[i] = Sp[i]; }';
}

/** Common declarations of one step's recompute (used by forward and backward). Leaves Sn[i] (= new S), Z[i], stp[i], Mn[i]. */
function stepBody(c: Combo, L: Layout, RC: number, kload: string, gcload: string): string {
  const lam = lamAt(c, L, gcload);
  const body = `${stepScalars(c, L)}
${gradPoint(c, lam)}
${biasForward(c, RC)}
    for (var i = 0u; i < DK; i++) {
      let ki = KLOAD(i);
      let lam = ${lam};
      let U = (${etaAt(c)}) * ki * ${Gat(c)};
      ${c.learner === 'momentum' ? 'Mn[i] = mm * Mp[i] - U; stp[i] = -Mn[i];' : 'stp[i] = U;'}
      Z[i] = lam * ${c.retention.simplex ? 'log(Sp[i])' : 'Sp[i]'} - ${c.retention.coupled ? 'lam' : '1.0'} * stp[i];
      Sn[i] = ${c.retention.post ? 'post_map(Z[i])' : 'Z[i]'};
    }
${softmaxB(c, RC)}`;
  return body.replaceAll('KLOAD(i)', kload).replaceAll('GCLOAD(i)', gcload);
}

export function budget(caps: DeviceCaps, c: Combo, L: Layout) {
  const bytes = caps.maxComputeWorkgroupStorageSize;
  if (L.DV > caps.maxComputeInvocationsPerWorkgroup) {
    throw new Error(`${c.id}: d_v = ${L.DV} exceeds ${caps.maxComputeInvocationsPerWorkgroup} invocations per workgroup (one per value column)`);
  }
  // Reduction scratch: up to 4 row-vectors of RC rows, or 4 column scalars.
  const NVMAX = 4;
  let RC = Math.max(1, Math.min(L.DK, Math.floor(bytes / 2 / 4 / (NVMAX * L.DV))));
  const red = Math.max(NVMAX * RC * L.DV, NVMAX * L.DV);
  const rest = bytes - red * 4;
  const perStep = L.DK * (2 + (c.retention.decay === 'channel' ? 1 : 0));
  const LP = Math.max(1, Math.min(16, Math.floor(rest / 4 / perStep)));
  if (rest / 4 < perStep) {
    RC = Math.max(1, Math.floor((bytes / 4 - perStep) / (NVMAX * L.DV)));
  }
  const red2 = Math.max(NVMAX * RC * L.DV, NVMAX * L.DV);
  if ((red2 + LP * perStep) * 4 > bytes) throw new Error(`${c.id}: d_k = ${L.DK}, d_v = ${L.DV} do not fit ${bytes} bytes of workgroup memory`);
  return { RC, red: red2, LP };
}

/**
 * Forward kernel. Each value column j is owned by P invocations that split the d_k rows (R = d_k/P registers
 * each). Per block of LP sub-steps, every operand the steps read (k, q, channel gates, this tile's v columns,
 * β per channel, the scalar gates, ‖k‖² for the implicit learner) is staged in workgroup memory from registers
 * that were loaded one block ahead, so the time loop never waits on global memory. The read-out o = Sᵀq is not
 * on the recurrence's dependency chain: with P > 1 each invocation leaves its partial sum in workgroup memory and
 * the block's outputs are reduced once per block. Column sums that are on the chain (Sᵀk for non-Hebbian biases)
 * take one barrier per step (double-buffered partials); Hebbian steps take none.
 */
function forwardKernel(c: Combo, s: ScanDims, L: Layout, caps: DeviceCaps, tune: ForwardTune = {}): KernelSpec {
  const chan = c.retention.decay === 'channel';
  const mom = c.learner === 'momentum';
  const learned = c.init.kind === 'learned';
  const chunk = c.learner === 'chunk';
  const implicit = c.learner === 'implicit';
  const maxInv = Math.min(caps.maxComputeInvocationsPerWorkgroup, caps.maxComputeWorkgroupSizeX);
  if (L.DV > maxInv) throw new Error(`${c.id}: d_v = ${L.DV} exceeds ${maxInv} invocations per workgroup (one per value column)`);
  const nf = c.bias.fwdSums.length;
  // Value columns are independent unless the bias sums over them (norm-based biases): then split the d_v
  // columns over several workgroups (TV each) so small batch·heads still fill the device.
  const nrm = !!c.retention.norm;
  const sxAxis = c.retention.simplex?.axis;
  const separable = nf === 0 && !nrm && (sxAxis === undefined || sxAxis === 'key');
  // Default launch (H200 sweep, bench/results/h200-2026-11-29-s3/recurrent-forward.md): steps without a column
  // sum on the chain (Hebbian) take up to 16 invocations per column (R ≥ 4) in tiles of 8 columns, so small
  // batch·heads still give ~2 workgroups per SM; a chain column sum keeps P ≤ 8 (each doubling of P adds a
  // level to the per-step reduction) and tiles of 16.
  const hebbian = c.bias.hebbian;
  const minTV = hebbian ? 8 : 16;
  let TV = L.DV;
  if (separable && tune.TV && L.DV % tune.TV === 0) TV = tune.TV;
  else while (separable && TV > minTV && TV % 2 === 0 && L.B * L.H * (L.DV / TV) < 256) TV /= 2;
  let P = 1;
  const maxP = tune.P ?? (hebbian ? Math.min(16, Math.max(1, L.DK / 4)) : 8);
  while (P < maxP && L.DK % (P * 2) === 0 && TV * P * 2 <= maxInv) P *= 2;
  const R = L.DK / P;
  const W = TV * P;
  // Subgroup path (subgroupCheck): column-major ids and the chain's column sums (Sᵀk) as a shuffle butterfly,
  // no barrier, where the device has subgroups and a run-time check proves the lane mapping; else as before.
  const sg = caps.subgroups && (tune.subgroups ?? SUBGROUP_CHAIN) && P > 1 && c.memory === 'matrix' && !c.bias.hebbian;
  const ix = (pE: string, jE: string) => (sg ? `(${jE}) * P + ${pE}` : `${pE} * TV + ${jE}`);
  const vectorSums = c.memory === 'vector' && nf > 0;
  const f = L.fields;
  // staged operands of one sub-step: [k | q | channel gates | v (tile) | β per channel (tile) | scalar gates | ‖k‖²]
  const scal = (['beta', 'g', 'delta', 'eta'] as const).filter((n) => f[n] !== undefined);
  const OK = 0;
  const OQ = L.DK;
  const OG = 2 * L.DK;
  const OV = OG + (chan ? L.DK : 0);
  const OB = OV + TV;
  const OS = OB + (f.bc !== undefined ? TV : 0);
  const OKK = OS + scal.length;
  const vec = !!tune.vec4 && R % 4 === 0;
  const PS = vec ? Math.ceil((OKK + (implicit ? 1 : 0)) / 4) * 4 : OKK + (implicit ? 1 : 0);
  const sIdx = (n: (typeof scal)[number]) => OS + scal.indexOf(n);
  const redN = Math.max(1, nf * L.DV);
  const crN = 2 * W;
  const poN = P > 1 ? W : 0;
  const bytes = caps.maxComputeWorkgroupStorageSize;
  const perStep = PS + poN;
  const sgN = sg ? 2 : 0;
  const fitLP = Math.floor((bytes / 4 - redN - crN - sgN) / perStep);
  // registers for the next block: at most ~48 per invocation
  const LP = Math.max(1, Math.min(tune.LP ?? 16, fitLP, Math.floor((48 * W) / PS)));
  if ((redN + crN + sgN + LP * perStep) * 4 > bytes) throw new Error(`${c.id}: d_k = ${L.DK}, d_v = ${L.DV} do not fit ${bytes} bytes of workgroup memory`);
  const NPT = Math.ceil((LP * PS) / W);
  const binds = ['q', 'k', 'v', 'scratch.gates', 'o', 'finalState', 'scratch.state', ...(learned ? ['initialState'] : [])];
  const access = ['read', 'read', 'read', 'read', 'read_write', 'read_write', 'read_write', 'read'] as const;
  const names = ['q', 'k', 'v', 'gates', 'o', 'finalState', 'state', 'initialState'].slice(0, binds.length);
  const decl = names.map((n, i) => `@group(0) @binding(${i}) var<storage, ${access[i]}> ${n}: array<f32>;`).join('\n');
  const PRE = (off: string) => (vec ? `pre[(l * PS + ${off}) / 4u][(l * PS + ${off}) % 4u]` : `pre[l * PS + ${off}]`);
  // this invocation's rows (i = p * R + r) of the staged k, q and channel gates: vec4 loads into kr, qr, gr at the
  // top of the step, or scalar workgroup-memory reads
  const KR = vec ? 'kr[r]' : PRE('i');
  const QR = vec ? 'qr[r]' : PRE('OQ + p * R + r');
  const GR = vec ? 'gr[r]' : PRE('OG + i');
  const rowLoads = !vec
    ? ''
    : [['kr', 'OK'], ['qr', 'OQ'], ...(chan ? [['gr', 'OG']] : [])]
        .map(
          ([a, off]) =>
            `var ${a}: array<f32, R>;\n      ${Array.from({ length: R / 4 }, (_, q4) => `{ let x = pre[l * (PS / 4u) + ${off} / 4u + p * (R / 4u) + ${u(q4)}]; ${[0, 1, 2, 3].map((c4) => `${a}[${4 * q4 + c4}] = x.${'xyzw'[c4]};`).join(' ')} }`).join('\n      ')}`,
        )
        .join('\n      ');
  let uid = 0;
  // Sum of x over the P invocations of this column, broadcast to them (uniform control flow only). The partials
  // alternate between two halves of cr, so one barrier per reduction suffices: a half is rewritten only after
  // the next reduction's barrier, which every reader of its previous contents has passed.
  const opInit = (op: '+' | 'max') => (op === '+' ? '0.0' : '-3.0e38');
  const opAcc = (op: '+' | 'max', a: string, x: string) => (op === '+' ? `${a} += ${x};` : `${a} = max(${a}, ${x});`);
  const colReduce = (x: string, out: string, op: '+' | 'max' = '+') => {
    if (P === 1) return `let ${out} = ${x};`;
    const a = `acc${uid++}`;
    // subgroup path: both reductions between markers; the time loop is emitted twice (sgLoops), once per path
    if (sg)
      return `var ${a} = ${x};
      /*SG{*/ ${subgroupColumn(P, a, op)} /*}SG*/
      /*WG{*/ cr[crb + t] = ${a};
      workgroupBarrier();
      ${a} = ${treeOp(Array.from({ length: P }, (_, pp) => `cr[crb + ${ix(u(pp), 'jl')}]`), op)};
      crb = W - crb; /*}WG*/
      let ${out} = ${a};`;
    return `cr[crb + t] = ${x};
      workgroupBarrier();
      // the P partials as an add (max) tree: on the chain, log₂P dependent operations instead of P
      let ${a} = ${treeOp(Array.from({ length: P }, (_, pp) => `cr[crb + ${u(pp)} * TV + jl]`), op)};
      crb = W - crb;
      let ${out} = ${a};`;
  };
  // Reduction of x over the whole workgroup (ℓq norm, KL softmax over the whole state).
  const allReduce = (x: string, out: string, op: '+' | 'max' = '+') => {
    const a = `all${uid++}`;
    return `cr[crb + t] = ${x};
      workgroupBarrier();
      var ${a} = ${opInit(op)};
      for (var w = 0u; w < W; w++) { ${opAcc(op, a, 'cr[crb + w]')} }
      crb = W - crb;
      let ${out} = ${a};`;
  };
  // KL: W = c·softmax over the slice of z (zr[r], this invocation's rows), written into S.
  const sx = c.retention.simplex;
  let softmaxFwd = '';
  if (sx?.axis === 'key' || sx?.axis === 'all') {
    const red = sx.axis === 'key' ? colReduce : allReduce;
    softmaxFwd = `      var mxp = -3.0e38;
      for (var r = 0u; r < R; r++) { mxp = max(mxp, zr[r]); }
      ${red('mxp', 'smx', 'max')}
      var ssp = 0.0;
      for (var r = 0u; r < R; r++) { zr[r] = exp(zr[r] - smx); ssp += zr[r]; }
      ${red('ssp', 'ssm')}
      for (var r = 0u; r < R; r++) { S[r] = ${lit(sx.scale)} * zr[r] / ssm; }`;
  } else if (sx) {
    // (the leading barrier retires the double-buffered partials before cr is reused here)
    softmaxFwd = `      workgroupBarrier();
      for (var r = 0u; r < R; r++) {
        cr[t] = zr[r];
        workgroupBarrier();
        var vmx = -3.0e38;
        for (var jj = 0u; jj < DV; jj++) { vmx = max(vmx, cr[${ix('p', 'jj')}]); }
        workgroupBarrier();
        let ez = exp(zr[r] - vmx);
        cr[t] = ez;
        workgroupBarrier();
        var vsm = 0.0;
        for (var jj = 0u; jj < DV; jj++) { vsm += cr[${ix('p', 'jj')}]; }
        workgroupBarrier();
        S[r] = ${lit(sx.scale)} * ez / vsm;
      }`;
  }
  const normSc = (out: string) =>
    `var ntm${uid} = 0.0;
      for (var r = 0u; r < R; r++) { ntm${uid} += nrm_term(S[r]); }
      ${allReduce(`ntm${uid - 0}`, `${out}sum`)}
      ${out} = pow(${out}sum, -NEXPO / NPN);`;
  // channel and scalar gates are staged as exp(g) (StageSeg.map), computed once per block and workgroup
  const lamRow = chan ? `select(1.0, ${GR}, sub == 0u)` : 'lamS';
  const Seff = nrm ? 'nrm_f(S[r]) * sc' : 'S[r]';
  const point = chunk ? 'A0[r]' : c.gradAt === 'retained' ? `${lamRow} * S[r]` : Seff;
  const rargs = (pre: string, idx: string) => [0, 1, 2].map((m) => (m < nf ? `${pre}${m}${idx}` : '0.0')).join(', ');
  let biasCode: string;
  if (c.bias.hebbian) biasCode = '      let G = -vj;';
  else if (c.memory === 'matrix') {
    const sums =
      nf === 0
        ? ''
        : `      if (p == 0u) { ${c.bias.fwdSums.map((_, m) => `red[${u(m)} * DV + j] = bias_fsum${m}(e, dl, 0.0, 0.0, 0.0);`).join(' ')} }
      workgroupBarrier();
      ${c.bias.fwdSums.map((_, m) => `var r${m} = 0.0;`).join(' ')}
      for (var jj = 0u; jj < DV; jj++) { ${c.bias.fwdSums.map((_, m) => `r${m} += red[${u(m)} * DV + jj];`).join(' ')} }
      workgroupBarrier();`;
    biasCode = `      // Σ over this invocation's rows as an add tree (the chain's latency: log₂R adds, not R dependent FMAs)
      let yp = ${treeSum(Array.from({ length: R }, (_, r) => `${atRow(point, r)} * ${atRow(KR, r)}`))};
      ${colReduce('yp', 'y')}
      let e = y - vj;
${sums}
      let G = bias_g(e, dl, ${rargs('r', '')});`;
  } else {
    const sums = !vectorSums
      ? ''
      : `      workgroupBarrier();
      ${c.bias.fwdSums.map((_, m) => `var rs${m}: array<f32, R>;`).join(' ')}
      for (var r = 0u; r < R; r++) {
        ${c.bias.fwdSums
          .map(
            (_, m) => `cr[t] = bias_fsum${m}(ev[r], dl, 0.0, 0.0, 0.0);
        workgroupBarrier();
        var a${m} = 0.0;
        for (var jj = 0u; jj < DV; jj++) { a${m} += cr[${ix('p', 'jj')}]; }
        rs${m}[r] = a${m};
        workgroupBarrier();`,
          )
          .join('\n        ')}
      }`;
    biasCode = `      var ev: array<f32, R>;
      var gv: array<f32, R>;
      for (var r = 0u; r < R; r++) { let i = p * R + r; ev[r] = ${KR} * ${point} - vj; }
${sums}
      for (var r = 0u; r < R; r++) { gv[r] = bias_g(ev[r], dl, ${rargs('rs', '[r]')}); }`;
  }
  const Gr = c.bias.hebbian || c.memory === 'matrix' ? 'G' : 'gv[r]';
  const lamS = c.retention.decay === 'constant' ? 'GAMMA[h]' : c.retention.decay === 'scalar' ? PRE(u(sIdx('g'))) : '1.0';
  const beta = !c.hasBeta ? '1.0' : c.betaPerChannel ? PRE('OB + jl') : PRE(u(sIdx('beta')));
  // staged operands of sub-step tau, slot o
  const st = staging(
    [
      { name: 'k', len: L.DK, off: OK, src: 'k[rowk(b, tau, h) + o]' },
      { name: 'q', len: L.DK, off: OQ, src: 'q[rowq(b, tau / STEPS, h) + o]' },
      ...(chan ? [{ name: 'gc', len: L.DK, off: OG, src: `gates[rowg(b, tau, h) + ${u(f.gc!)} + o]`, map: 'exp' }] : []),
      { name: 'v', len: TV, off: OV, src: 'v[rowv(b, tau, h) + j0 + o]' },
      ...(f.bc !== undefined ? [{ name: 'bc', len: TV, off: OB, src: `gates[rowg(b, tau, h) + ${u(f.bc)} + j0 + o]` }] : []),
      ...scal.map((n, m) => ({ name: `s${m}`, len: 1, off: OS + m, src: `gates[rowg(b, tau, h) + ${u(f[n]!)}]`, map: n === 'g' ? 'exp' : undefined })),
    ],
    LP,
    W,
    vec,
  );
  // One sub-step of the block. lc: the constant sub-step index of an unrolled full block (then tau % m for m
  // dividing LP is a constant too), or null inside the rolled loop of a partial last block.
  const ckHoist = L.CK % LP === 0;
  const ckStore = `for (var r = 0u; r < R; r++) {
        let i = p * R + r;
        state[ckpt(bh, base / CK, 0u, i, j)] = S[r];
        ${mom ? 'state[ckpt(bh, base / CK, 1u, i, j)] = M[r];' : ''}
      }`;
  const tmod = (lc: number | null, m: number, name: string) => (lc !== null && LP % m === 0 ? `${u(lc % m)}` : `tau % ${name}`);
  const stepCode = (lc: number | null) => `      ${lc === null ? '' : `const l = ${u(lc)};`}
      let tau = base + l;
      let sub = ${tmod(lc, c.steps, 'STEPS')};
      ${rowLoads}
      ${
        ckHoist
          ? ''
          : `if (tau % CK == 0u) {
        ${ckStore.replaceAll('base / CK', 'tau / CK')}
      }`
      }
      ${chunk ? `if (${tmod(lc, c.chunk, 'CHUNK')} == 0u) { for (var r = 0u; r < R; r++) { A0[r] = ${Seff}; } }` : ''}
      let lamS = select(1.0, ${lamS}, sub == 0u);
      let beta = ${beta};
      let dl = ${c.bias.delta === 'data' ? PRE(u(sIdx('delta'))) : lit(c.bias.deltaValue)};
      let mm = ${mom ? PRE(u(sIdx('eta'))) : '1.0'};
      let kk = ${implicit ? PRE('OKK') : '0.0'};
      let eta = ${etaAt(c)};
      let vj = ${PRE('OV + jl')};
${biasCode}
      for (var r = 0u; r < R; r++) {
        let i = p * R + r;
        let lam = ${lamRow};
        let U = eta * ${KR} * ${Gr};
        ${mom ? 'M[r] = mm * M[r] - U; let stp = -M[r];' : 'let stp = U;'}
        let z = lam * ${sx ? 'log(S[r])' : 'S[r]'} - ${c.retention.coupled ? 'lam' : '1.0'} * stp;
        ${sx ? 'zr[r] = z;' : `S[r] = ${c.retention.post ? 'post_map(z)' : 'z'};`}
      }
${softmaxFwd}
      ${nrm ? normSc('sc') : ''}
      ${c.lagToken ? `if (${tmod(lc, c.chunk, 'CHUNK')} == 0u) { for (var r = 0u; r < R; r++) { A0[r] = ${Seff}; } } // lag token: anchor after the first step` : ''}
      if (sub == STEPS - 1u) {
        let op = ${treeSum(Array.from({ length: R }, (_, r) => `${atRow(Seff, r)} * ${atRow(QR, r)}`))};
        ${P > 1 ? (lc === null ? 'po[l * W + t] = op;' : `opl[${lc}] = op;`) : 'o[rowo(b, tau / STEPS, h) + j] = SCALE * op;'}
      }`;
  const wgsl = `${sg ? 'enable subgroups;\n' : ''}${header(c, s, L, 'forward')}
//   ${L.DV / TV} workgroup(s) of ${TV} value columns per head; ${P} invocations per column (R = ${R} key rows each); blocks of ${LP} sub-steps staged one block ahead
${decl}
${consts(c, L)}
${mathFns(c)}
${splitConsts({ LP, P, R, TV, W, PS })}
const NPT = ${u(NPT)};
const OK = ${u(OK)};
const OQ = ${u(OQ)};
const OG = ${u(OG)};
const OV = ${u(OV)};
const OB = ${u(OB)};
const OS = ${u(OS)};
const OKK = ${u(OKK)};
var<workgroup> pre: ${vec ? `array<vec4<f32>, ${(LP * PS) / 4}>` : `array<f32, ${LP * PS}>`};
var<workgroup> red: array<f32, ${redN}>;
var<workgroup> cr: array<f32, ${crN}>;
${poN ? `var<workgroup> po: array<f32, ${LP * poN}>;` : ''}${sg ? `\n${SG_VARS}` : ''}

@compute @workgroup_size(${W})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u${sg ? ', @builtin(subgroup_size) sgsz: u32' : ''}) {
  ${names.map((n) => `_ = &${n};`).join(' ')}
  ${sg ? SPLIT_IDS.replace('let jl = t % TV;\n  let p = t / TV;', 'let jl = t / P; // column-major: the P invocations of a column are t ^ m, m < P\n  let p = t % P;') : SPLIT_IDS}${sg ? `\n  ${subgroupCheck(P)}` : ''}
  var crb = 0u;
  var S: array<f32, R>;
  ${mom ? 'var M: array<f32, R>;' : ''}
  ${chunk ? 'var A0: array<f32, R>;' : ''}
  ${sx ? 'var zr: array<f32, R>;' : ''}
  // initial memory S_0 (and momentum)
  for (var r = 0u; r < R; r++) {
    let i = p * R + r;
    ${learned ? `S[r] = initialState[h * SZ + i * DV + j];${mom ? ' M[r] = initialState[h * SZ + DK * DV + i * DV + j];' : ''}` : 'S[r] = INIT;'}
  }
  ${nrm ? `// ℓq: the memory read is W = N(S) = nrm_f(S)·sc with sc = ‖S‖^{−expo}
  var sc = 1.0;
  ${normSc('sc')}` : ''}
  /*LOOP{*/${st.loopHead}
    ${implicit ? `for (var l = t; l < LP; l += W) { var a = 0.0; for (var i = 0u; i < DK; i++) { let ki = ${PRE('i')}; a += ki * ki; } ${PRE('OKK')} = a; }
    workgroupBarrier();` : ''}
    // the next block's operands are in flight while this block runs
    ${st.load('base + LP')}
    ${ckHoist ? `// CK is a multiple of LP: a checkpoint can only fall on the block's first sub-step
    if (base % CK == 0u) {
      ${ckStore}
    }` : ''}
    // full blocks as straight-line code; the read-out partials stay in registers until the block's end (no
    // workgroup-memory store between the steps' loads)
    ${blockSteps(LP, stepCode, P > 1 ? 'var opl: array<f32, LP>;' : '', P > 1 ? Array.from({ length: LP }, (_, l) => `po[${u(l)} * W + t] = opl[${l}];`).join(' ') : '')}
    ${
      P > 1
        ? `// read-out of the block: o = SCALE · Σ over the P partials of each column
    workgroupBarrier();
    for (var x = t; x < LP * TV; x += W) {
      let l = x / TV;
      let tau = base + l;
      if (tau < TS && tau % STEPS == STEPS - 1u) {
        var a = 0.0;
        for (var pp = 0u; pp < P; pp++) { a += po[l * W + ${ix('pp', 'x % TV')}]; }
        o[rowo(b, tau / STEPS, h) + j0 + x % TV] = SCALE * a;
      }
    }`
        : ''
    }
  }/*}LOOP*/
  for (var r = 0u; r < R; r++) {
    let i = p * R + r;
    finalState[bh * SZ + i * DV + j] = S[r];
    ${mom ? 'finalState[bh * SZ + DK * DV + i * DV + j] = M[r];' : ''}
  }
}
`;
  return {
    name: 'miras_recurrent_fwd',
    wgsl: unrollLoops(sgLoops(wgsl), 'r', 'R', R),
    entryPoint: 'main',
    bindings: binds.map((buffer, i) => ({ buffer, access: access[i] })),
    workgroups: [L.B * L.H, L.DV / TV, 1],
  };
}

/**
 * The forward's time loop (between LOOP markers) once per reduction path: with subgroups, \`if (sgok) { loop with
 * the butterflies } else { loop with the workgroup-memory sums }\`, so the workgroup-uniform verdict is branched on
 * once per kernel, not at every step's column sum (a branch per step split the unrolled block into basic blocks).
 */
function sgLoops(wgsl: string): string {
  const a = wgsl.indexOf('/*LOOP{*/');
  const b = wgsl.indexOf('/*}LOOP*/');
  const loop = wgsl.slice(a + 9, b);
  const drop = (x: string, tag: string) => x.replace(new RegExp(`/\\*${tag}\\{\\*/[\\s\\S]*?/\\*\\}${tag}\\*/`, 'g'), '');
  const keep = (x: string, tag: string) => x.replaceAll(`/*${tag}{*/`, '').replaceAll(`/*}${tag}*/`, '');
  const body = loop.includes('/*SG{*/') ? `if (sgok) {\n  ${keep(drop(loop, 'WG'), 'SG')}\n  } else {\n  ${keep(drop(loop, 'SG'), 'WG')}\n  }` : loop;
  return wgsl.slice(0, a) + body + wgsl.slice(b + 9);
}

function backwardKernel(c: Combo, s: ScanDims, L: Layout, caps: DeviceCaps): KernelSpec {
  const { RC, red } = budget(caps, c, L);
  const nrm = !!c.retention.norm;
  // ℓq: pull a gradient w.r.t. W = N(X) back to the accumulator X: dX += v ⊙ f'(X)·sc − expo·n^{−expo−pn}(Σ v⊙f(X))·dterm(X)
  let pullId = 0;
  const pull = (X: string, v: string) => {
    const id = pullId++;
    return `    var pt${id} = 0.0;
    var pv${id} = 0.0;
    for (var i = 0u; i < DK; i++) { pt${id} += nrm_term(${X}[i]); pv${id} += ${v}[i] * nrm_f(${X}[i]); }
${colSums(2, (m) => (m === 0 ? `pt${id}` : `pv${id}`), (m) => (m === 0 ? `pT${id}` : `pV${id}`))}
    let pn${id} = pow(pT${id}, 1.0 / NPN);
    let psc${id} = pow(pn${id}, -NEXPO);
    let pk${id} = NEXPO * pow(pn${id}, -NEXPO - NPN) * pV${id};
    for (var i = 0u; i < DK; i++) { dS[i] += ${v}[i] * nrm_fd(${X}[i]) * psc${id} - pk${id} * nrm_dterm(${X}[i]); ${v}[i] = 0.0; }`;
  };
  const chan = c.retention.decay === 'channel';
  const mom = c.learner === 'momentum';
  const binds = ['q', 'k', 'v', 'scratch.gates', 'grad.o', 'scratch.state', 'scratch.dx', 'grad.v'];
  const access = ['read', 'read', 'read', 'read', 'read', 'read_write', 'read_write', 'read_write'] as const;
  const names = ['q', 'k', 'v', 'gates', 'dout', 'state', 'dx', 'grad_v'];
  const decl = names.map((n, i) => `@group(0) @binding(${i}) var<storage, ${access[i]}> ${n}: array<f32>;`).join('\n');
  const f = L.fields;
  const kload = 'k[krow + i]';
  const gcload = `gates[gbase + ${u(f.gc ?? 0)} + i]`;
  const lam = lamAt(c, L, gcload);
  const b = c.bias;
  const nb = b.bwdSums.length;
  const nf = b.fwdSums.length;
  const sargs = (pre: string, idx: string) => [0, 1, 2].map((m) => (m < nb ? `${pre}${m}${idx}` : '0.0')).join(', ');
  const rargs = (pre: string, idx: string) => [0, 1, 2].map((m) => (m < nf ? `${pre}${m}${idx}` : '0.0')).join(', ');
  const etaExpr = etaAt(c);
  // bias VJP: from dGv[i] (= η_i k_i dU_i) to de, dv_j, dP, dk partials and dδ partial.
  let biasBwd: string;
  if (b.hebbian) {
    biasBwd = `    for (var i = 0u; i < DK; i++) { dvj -= dGv[i]; }`;
  } else if (c.memory === 'matrix') {
    biasBwd = `    var dG = 0.0;
    for (var i = 0u; i < DK; i++) { dG += dGv[i]; }
${colSums(nb, (m) => `bias_bsum${m}(e, dl, ${rargs('r', '')}, dG, 0.0, 0.0, 0.0)`, (m) => `s${m}`)}
    let de = bias_de(e, dl, ${rargs('r', '')}, dG, ${sargs('s', '')});
    pddl += bias_ddelta(e, dl, ${rargs('r', '')}, dG, ${sargs('s', '')});
    dvj -= de;
    for (var i = 0u; i < DK; i++) { let ki = ${kload}; dP[i] = ki * de; adk[i] += P[i] * de; }`;
  } else {
    biasBwd = `${rowSumsBroadcast(nb, RC, (m) => `bias_bsum${m}(ev[i], dl, ${rargs('rs', '[i]')}, dGv[i], 0.0, 0.0, 0.0)`, (m) => `ss${m}`)}
    for (var i = 0u; i < DK; i++) {
      let ki = ${kload};
      let de = bias_de(ev[i], dl, ${rargs('rs', '[i]')}, dGv[i], ${sargs('ss', '[i]')});
      pddl += bias_ddelta(ev[i], dl, ${rargs('rs', '[i]')}, dGv[i], ${sargs('ss', '[i]')});
      dvj -= de;
      dP[i] = ki * de;
      adk[i] += P[i] * de;
    }`;
  }
  // route dP
  let route: string;
  // ℓq: gradients w.r.t. a memory N(X) collect in dWp and are pulled back to X at the step that produced X
  const prevDst = nrm ? 'dWp' : 'dSp';
  if (c.learner === 'chunk' && c.lagToken) {
    route = `    if (tau % CHUNK == 0u) { for (var i = 0u; i < DK; i++) { ${prevDst}[i] += dP[i]; } }
    else { for (var i = 0u; i < DK; i++) { dP0[i] += dP[i]; } }`;
  } else if (c.learner === 'chunk') {
    route = `    for (var i = 0u; i < DK; i++) { dP0[i] += dP[i]; }
    if (tau % CHUNK == 0u) { for (var i = 0u; i < DK; i++) { ${prevDst}[i] += dP0[i]; dP0[i] = 0.0; } }`;
  } else if (c.gradAt === 'retained') {
    route = `    for (var i = 0u; i < DK; i++) { let lam = ${lam}; dSp[i] += lam * dP[i]; dlam[i] += Sp[i] * dP[i]; }`;
  } else {
    route = `    for (var i = 0u; i < DK; i++) { ${prevDst}[i] += dP[i]; }`;
  }
  // step size (β) gradient and the implicit step's dependence on k
  // step size (β) gradient, and the implicit step's dependence on k (ε = β/(1 + β‖k‖²), per column when β is)
  let betaBwd = '';
  if (c.hasBeta) {
    betaBwd =
      c.learner !== 'implicit'
        ? '    for (var i = 0u; i < DK; i++) { pdbeta += deta[i]; }'
        : `    var sd = 0.0;
    for (var i = 0u; i < DK; i++) { sd += deta[i]; }
    let den = 1.0 + beta * kk;
    pdbeta += sd / (den * den);
    for (var i = 0u; i < DK; i++) { let ki = ${kload}; adk[i] += sd * (-2.0 * beta * beta * ki) / (den * den); }`;
    if (c.betaPerChannel) betaBwd += `
    dx[${u(L.dx.gates)} + gbase + ${u(f.bc!)} + j] = pdbeta;`;
  }
  const scalarGrads: { field: number; val: string }[] = [];
  if (f.beta !== undefined) scalarGrads.push({ field: f.beta, val: 'pdbeta' });
  if (f.g !== undefined) scalarGrads.push({ field: f.g, val: 'pdg' });
  if (f.delta !== undefined) scalarGrads.push({ field: f.delta, val: 'pddl' });
  if (f.eta !== undefined) scalarGrads.push({ field: f.eta, val: 'pdmm' });
  const nsg = scalarGrads.length;
  const scalarReduce =
    nsg === 0
      ? ''
      : `    ${scalarGrads.map((g, m) => `red[${u(m)} * TVB + jl] = ${g.val};`).join(' ')}
    workgroupBarrier();
    if (jl == 0u) {
      ${scalarGrads.map((g, m) => `var t${m} = 0.0; for (var jj = 0u; jj < TVB; jj++) { t${m} += red[${u(m)} * TVB + jj]; } dx[${u(L.dx.gates)} + wid.y * ${u(L.dx.gReg)} + gbase + ${u(g.field)}] = t${m};`).join('\n      ')}
    }
    workgroupBarrier();`;
  // Row reductions: dq (last sub-step only), dk, dλ (channel decay, sub-step 0).
  const rows: { arr: string; dst: string }[] = [
    { arr: 'adq', dst: `select(0xffffffffu, ${u(L.dx.q)} + wid.y * ${u(L.dx.qReg)} + rowq(b, tau / STEPS, h) + i, sub == STEPS - 1u)` },
    { arr: 'adk', dst: `${u(L.dx.k)} + wid.y * ${u(L.dx.kReg)} + krow + i` },
  ];
  if (chan) rows.push({ arr: 'adl', dst: `select(0xffffffffu, ${u(L.dx.gates)} + wid.y * ${u(L.dx.gReg)} + gbase + ${u(f.gc!)} + i, sub == 0u)` });
  const NV = rows.length;
  const rowReduce = `    for (var i0 = 0u; i0 < DK; i0 += ${u(RC)}) {
      for (var r = 0u; r < ${u(RC)}; r++) {
        let i = i0 + r;
        if (i < DK) { ${rows.map((rw, m) => `red[(${u(m)} * ${u(RC)} + r) * TVB + jl] = ${rw.arr}[i];`).join(' ')} }
      }
      workgroupBarrier();
      for (var w = jl; w < ${u(NV * RC)}; w += TVB) {
        let m = w / ${u(RC)};
        let i = i0 + w % ${u(RC)};
        if (i < DK) {
          var acc = 0.0;
          for (var jj = 0u; jj < TVB; jj++) { acc += red[w * TVB + jj]; }
          var dst = 0xffffffffu;
          ${rows.map((rw, m) => `if (m == ${u(m)}) { dst = ${rw.dst}; }`).join(' ')}
          if (dst != 0xffffffffu) { dx[dst] = acc; }
        }
      }
      workgroupBarrier();
    }`;
  const stepRecompute = stepBody(c, L, RC, kload, gcload);
  const wgsl = `${header(c, s, L, 'backward')}
${decl}
${consts(c, L)}
${mathFns(c)}
var<workgroup> red: array<f32, ${red}>;

const TVB = ${u(L.TVB)};

@compute @workgroup_size(${L.TVB})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  ${names.map((n) => `_ = &${n};`).join(' ')}
  let bh = wid.x;
  let b = bh / H;
  let h = bh % H;
  // ${L.NT} workgroup(s) of ${L.TVB} value columns per head; row sums are written per column tile
  let jl = lid.x;
  let j = wid.y * TVB + jl;
  var Sp: array<f32, DK>;
  var Sn: array<f32, DK>;
  var Z: array<f32, DK>;
  var stp: array<f32, DK>;
  var Mp: array<f32, DK>;
  var Mn: array<f32, DK>;
  var P0: array<f32, DK>;
  var dS: array<f32, DK>;
  var dM: array<f32, DK>;
  var dP0: array<f32, DK>;
  ${nrm ? 'var dWp: array<f32, DK>; // gradient w.r.t. the memory N(S) read after the step being processed' : ''}
  for (var i = 0u; i < DK; i++) {
    dS[i] = state[DFIN + bh * SZ + i * DV + j];
    ${mom ? 'dM[i] = state[DFIN + bh * SZ + DK * DV + i * DV + j];' : ''}
  }
  for (var sg = 0u; sg < NCK; sg++) {
    let seg = NCK - 1u - sg;
    let t0 = seg * CK;
    let t1 = min(TS, t0 + CK);
    // 1. recompute the segment from its checkpoint, storing the state before every sub-step
    for (var i = 0u; i < DK; i++) {
      Sp[i] = state[ckpt(bh, seg, 0u, i, j)];
      ${mom ? 'Mp[i] = state[ckpt(bh, seg, 1u, i, j)];' : ''}
    }
    for (var tau = t0; tau < t1; tau++) {
      let sub = tau % STEPS;
      for (var i = 0u; i < DK; i++) {
        state[segs(bh, tau - t0, 0u, i, j)] = Sp[i];
        ${mom ? 'state[segs(bh, tau - t0, 1u, i, j)] = Mp[i];' : ''}
      }
      ${c.learner === 'chunk' ? 'if (tau % CHUNK == 0u) { for (var i = 0u; i < DK; i++) { P0[i] = Sp[i]; } }' : ''}
${stepRecompute}
      for (var i = 0u; i < DK; i++) { Sp[i] = Sn[i]; ${mom ? 'Mp[i] = Mn[i];' : ''} }
      ${c.lagToken ? 'if (tau % CHUNK == 0u) { for (var i = 0u; i < DK; i++) { P0[i] = Sn[i]; } }' : ''}
    }
    // 2. reverse recurrence over the segment
    for (var tt = t0; tt < t1; tt++) {
      let tau = t1 - 1u - (tt - t0);
      let sub = tau % STEPS;
      for (var i = 0u; i < DK; i++) {
        Sp[i] = state[segs(bh, tau - t0, 0u, i, j)];
        ${mom ? 'Mp[i] = state[segs(bh, tau - t0, 1u, i, j)];' : ''}
      }
      ${
        c.learner !== 'chunk'
          ? ''
          : c.lagToken
            ? `let cs = tau - tau % CHUNK;
      let anchor = select(cs + 1u, cs, tau == cs);
      for (var i = 0u; i < DK; i++) { P0[i] = state[segs(bh, anchor - t0, 0u, i, j)]; }
      if (tau == cs) { for (var i = 0u; i < DK; i++) { ${nrm ? 'dWp' : 'dS'}[i] += dP0[i]; dP0[i] = 0.0; } }`
            : 'let cs = tau - tau % CHUNK; for (var i = 0u; i < DK; i++) { P0[i] = state[segs(bh, cs - t0, 0u, i, j)]; }'
      }
${stepRecompute}
      var adq: array<f32, DK>;
      var adk: array<f32, DK>;
      var adl: array<f32, DK>;
      var dlam: array<f32, DK>;
      var deta: array<f32, DK>;
      var dGv: array<f32, DK>;
      var dP: array<f32, DK>;
      var dSp: array<f32, DK>;
      var dvj = 0.0;
      var pdbeta = 0.0;
      var pdg = 0.0;
      var pddl = 0.0;
      var pdmm = 0.0;
      // output read-out o_t = SCALE · S_tᵀ q_t
      ${
        nrm
          ? `var ntn = 0.0;
      for (var i = 0u; i < DK; i++) { ntn += nrm_term(Sn[i]); }
${colSums(1, () => 'ntn', () => 'nsN')}
      let scN = pow(nsN, -NEXPO / NPN);`
          : ''
      }
      if (sub == STEPS - 1u) {
        let doj = dout[rowo(b, tau / STEPS, h) + j];
        let qrow = rowq(b, tau / STEPS, h);
        for (var i = 0u; i < DK; i++) { adq[i] = SCALE * ${nrm ? 'nrm_f(Sn[i]) * scN' : 'Sn[i]'} * doj; ${nrm ? 'dWp' : 'dS'}[i] += SCALE * q[qrow + i] * doj; }
      }
${nrm ? pull('Sn', 'dWp') : ''}
      // retention: S_t = post(Z), Z = λ⊙S_{t−1} − c·step  (KL: S_t = c·softmax(Z), Z = λ log S_{t−1} − step)
${softmaxVjpB(c, RC)}
      for (var i = 0u; i < DK; i++) {
        let ki = ${kload};
        let lam = ${lam};
        let dZ = ${c.retention.simplex ? 'dZv[i]' : c.retention.post ? 'post_d(Z[i]) * dS[i]' : 'dS[i]'};
        dlam[i] = ${c.retention.simplex ? 'log(Sp[i])' : 'Sp[i]'} * dZ${c.retention.coupled ? ' - stp[i] * dZ' : ''};
        let dstp = -${c.retention.coupled ? 'lam' : '1.0'} * dZ;
        dSp[i] = lam * dZ${c.retention.simplex ? ' / Sp[i]' : ''};
        ${
          mom
            ? `let dMn = dM[i] - dstp;
        pdmm += Mp[i] * dMn;
        dM[i] = mm * dMn;
        let dU = -dMn;`
            : 'let dU = dstp;'
        }
        // U = η k g
        let eta = ${etaExpr};
        deta[i] = ki * ${Gat(c)} * dU;
        adk[i] = eta * ${Gat(c)} * dU;
        dGv[i] = eta * ki * dU;
      }
${biasBwd}
${route}
${betaBwd}
      ${c.retention.decay === 'scalar' ? 'if (sub == 0u) { for (var i = 0u; i < DK; i++) { pdg += lamS * dlam[i]; } }' : ''}
      ${chan ? `for (var i = 0u; i < DK; i++) { let ki = ${kload}; adl[i] = ${lam} * dlam[i]; }` : ''}
      grad_v[rowv(b, tau, h) + j] += dvj;
${scalarReduce}
${rowReduce}
      for (var i = 0u; i < DK; i++) { dS[i] = dSp[i]; }
    }
  }
${nrm ? pull('Sp', 'dWp') : ''}
  ${
    c.init.kind === 'learned'
      ? `// gradient of the initial memory (summed over the batch by the unpack kernel)
  for (var i = 0u; i < DK; i++) {
    dx[${u(L.dx.init)} + bh * SZ + i * DV + j] = dS[i];
    ${mom ? `dx[${u(L.dx.init)} + bh * SZ + DK * DV + i * DV + j] = dM[i];` : ''}
  }`
      : ''
  }
}
`;
  return {
    name: 'miras_recurrent_bwd',
    wgsl,
    entryPoint: 'main',
    bindings: binds.map((buffer, i) => ({ buffer, access: access[i] })),
    workgroups: [L.B * L.H, L.NT, 1],
  };
}

/** Pack the per-token gates into scratch.gates [B, TS, H, NG] (g and eta at sub-step 0 of each token). */
function packKernels(c: Combo, s: ScanDims, L: Layout, caps: DeviceCaps): KernelSpec[] {
  if (L.NG === 0) {
    return [
      threadKernel({
        name: 'miras_recurrent_pack_none',
        caps,
        binds: [{ name: 'gates', buffer: 'scratch.gates', access: 'read_write' }],
        total: 1,
        body: '  gates[0] = 0.0;',
      }),
    ];
  }
  const f = L.fields;
  const names = comboInputs(c, s).map((d) => d.name).filter((n) => !['q', 'k', 'v', 'initialState'].includes(n));
  const binds: Bind[] = [...names.map((n) => ({ name: `in_${n}`, buffer: n, access: 'read' as const })), { name: 'gates', buffer: 'scratch.gates', access: 'read_write' }];
  const S = c.steps;
  // One invocation per packed float (record i / NG, field d = i % NG): consecutive invocations write consecutive
  // floats and read consecutive channel entries (one invocation per record looping over a d_k-wide field wrote
  // 32 cache lines per warp store and made the pack take longer than the GLA forward scan itself).
  const tok = `((b * ${u(L.T)} + tau / ${u(S)}) * ${u(L.H)} + h)`;
  const first = `tau % ${u(S)} == 0u`;
  const cases: string[] = [];
  const one = (fld: number | undefined, val: string) => {
    if (fld !== undefined) cases.push(`if (d == ${u(fld)}) { x = ${val}; }`);
  };
  one(f.beta, 'in_beta[rec]');
  one(f.delta, 'in_delta[rec]');
  one(f.g, `select(0.0, in_g[${tok}], ${first})`);
  one(f.eta, `select(0.0, in_eta[${tok}], ${first})`);
  one(f.ig, 'in_i[rec]');
  if (f.gc !== undefined) cases.push(`if (d >= ${u(f.gc)} && d < ${u(f.gc + L.DK)}) { x = select(0.0, in_g[${tok} * ${u(L.DK)} + d - ${u(f.gc)}], ${first}); }`);
  if (f.bc !== undefined) cases.push(`if (d >= ${u(f.bc)} && d < ${u(f.bc + L.DV)}) { x = in_beta[rec * ${u(L.DV)} + d - ${u(f.bc)}]; }`);
  return [
    threadKernel({
      name: 'miras_recurrent_pack_gates',
      caps,
      binds,
      total: L.B * L.TS * L.H * L.NG,
      workgroupSize: 256,
      prelude: `const NG = ${u(L.NG)};`,
      body: `  let rec = i / NG; let d = i % NG;
  let h = rec % ${u(L.H)}; let tau = (rec / ${u(L.H)}) % ${u(L.TS)}; let b = rec / (${u(L.H)} * ${u(L.TS)});
  var x = 0.0;
  ${cases.join('\n  ')}
  gates[i] = x;`,
    }),
  ];
}

/** Add the packed gradients in scratch.dx into grad.<input>. */
function unpackKernels(c: Combo, s: ScanDims, L: Layout, caps: DeviceCaps): KernelSpec[] {
  const dxb: Bind = { name: 'dx', buffer: 'scratch.dx', access: 'read' };
  const add = (name: string, total: number, src: string) =>
    threadKernel({
      name: `miras_recurrent_grad_${name}`,
      caps,
      binds: [dxb, { name: 'gr', buffer: `grad.${name}`, access: 'read_write' }],
      total,
      prelude: `const NG = ${u(Math.max(1, L.NG))};`,
      body: `  gr[i] += ${src};`,
    });
  const { B, T, TS, H, DK, DV } = L;
  const S = c.steps;
  // row sums come per column tile of the backward: add the NT partials
  const tiles = (off: number, reg: number, idx: string) => Array.from({ length: L.NT }, (_, t) => `dx[${u(off + t * reg)} + ${idx}]`).join(' + ');
  const ks: KernelSpec[] = [
    add('q', B * T * H * DK, tiles(L.dx.q, L.dx.qReg, 'i')),
    add('k', B * TS * H * DK, tiles(L.dx.k, L.dx.kReg, 'i')),
  ];
  // scalar gate gradients come per (tile, row group); channel-gate rows per tile (row group 0 of each tile)
  const G = (idx: string) => Array.from({ length: L.NT * L.PB }, (_, t) => `dx[${u(L.dx.gates + t * L.dx.gReg)} + ${idx}]`).join(' + ');
  const Gc = (idx: string) => tiles(L.dx.gates, L.PB * L.dx.gReg, idx);
  const f = L.fields;
  // per-sub-step gates: record i
  if (f.beta !== undefined) ks.push(add('beta', B * TS * H, G(`i * NG + ${u(f.beta)}`)));
  if (f.delta !== undefined) ks.push(add('delta', B * TS * H, G(`i * NG + ${u(f.delta)}`)));
  if (f.bc !== undefined) ks.push(add('beta', B * TS * H * DV, `dx[${u(L.dx.gates)} + (i / ${u(DV)}) * NG + ${u(f.bc)} + i % ${u(DV)}]`));
  if (c.init.kind === 'learned') {
    // initialState [H, SZ] is shared by the batch: sum the per-(b, h) gradients
    const per = H * L.SZ;
    const terms = Array.from({ length: B }, (_, b) => `dx[${u(L.dx.init + b * per)} + i]`).join(' + ');
    ks.push(add('initialState', per, terms));
  }
  // per-token gates: token (b, t, h) ↦ record (b, t·S, h)
  const rec = `(((i / ${u(H)}) / ${u(T)}) * ${u(TS)} + ((i / ${u(H)}) % ${u(T)}) * ${u(S)}) * ${u(H)} + i % ${u(H)}`;
  if (f.g !== undefined) ks.push(add('g', B * T * H, G(`(${rec}) * NG + ${u(f.g)}`)));
  if (f.eta !== undefined) ks.push(add('eta', B * T * H, G(`(${rec}) * NG + ${u(f.eta)}`)));
  if (f.ig !== undefined) ks.push(add('i', B * T * H, G(`i * NG + ${u(f.ig)}`)));
  if (f.gc !== undefined) {
    const recc = `(((i / ${u(H * DK)}) / ${u(T)}) * ${u(TS)} + ((i / ${u(H * DK)}) % ${u(T)}) * ${u(S)}) * ${u(H)} + (i / ${u(DK)}) % ${u(H)}`;
    ks.push(add('g', B * T * H * DK, Gc(`(${recc}) * NG + ${u(f.gc)} + i % ${u(DK)}`)));
  }
  // Every dx entry these kernels read is written by the backward kernel on every call (no zeroing pass).
  return ks;
}


/** Copy grad.finalState into scratch.state, where the backward kernel reads it. */
function dfinalCopy(L: Layout, caps: DeviceCaps): KernelSpec {
  return threadKernel({
    name: 'miras_recurrent_dfinal',
    caps,
    binds: [
      { name: 'gf', buffer: 'grad.finalState', access: 'read' },
      { name: 'state', buffer: 'scratch.state', access: 'read_write' },
    ],
    total: L.B * L.H * L.SZ,
    body: `  state[${u(L.dfinOffset)} + i] = gf[i];`,
  });
}

/** The scan's forward kernel: mLSTM's, the column-tiled Hebbian one (CW > 1 columns per invocation where it covers the combination and d_v), or forwardKernel. */
function forwardOf(c: Combo, s: ScanDims, L: Layout, caps: DeviceCaps, tune: ForwardTune): KernelSpec {
  if (c.mlstm) return mlstmForwardKernel(c, s, L, caps, tune);
  const CW = tune.CW ?? HEBBIAN_CW;
  if (CW > 1 && hebbianTiledCovers(c) && L.DV % CW === 0) return hebbianForwardKernel(c, s, L, caps, { ...tune, CW });
  return forwardKernel(c, s, L, caps, tune);
}

/** Forward and backward KernelSpec lists for one combination and shape, within `caps`. */
export function recurrentKernels(c: Combo, s: ScanDims, caps: DeviceCaps, opts: RecurrentOptions = {}): RecurrentKernels {
  // Fewer backward column tiles when their per-tile row sums would not fit one binding. The fast backward
  // (fast.ts) writes scalar gate gradients per row group, so its layout depends on its launch shape.
  const fits = (x: Layout) => x.dx.total <= caps.maxStorageBufferBindingSize / 4;
  const plan = (minTile: number): [Layout, FastConfig | null] => {
    const L0 = layout(c, s, opts, minTile);
    const fast = fastBackwardConfig(c, L0, caps, opts.tune?.backward);
    return fast ? [layout(c, s, opts, minTile, fast.P), fast] : [L0, null];
  };
  let [L, fast] = plan(16);
  while (L.NT > 1 && !fits(L)) [L, fast] = plan(L.TVB * 2);
  if (fast && !fits(L)) [L, fast] = [layout(c, s, opts, L.TVB), null];
  if (L.B * L.H > caps.maxComputeWorkgroupsPerDimension) {
    throw new Error(`${c.id}: batch·heads = ${L.B * L.H} exceeds ${caps.maxComputeWorkgroupsPerDimension} workgroups per grid dimension (one workgroup per head); use a smaller batch`);
  }
  const maxFloats = caps.maxStorageBufferBindingSize / 4;
  const mib = (floats: number) => `${((floats * 4) / 2 ** 20).toFixed(1)} MiB`;
  if (L.stateFloats > maxFloats) {
    throw new Error(`${c.id}: the checkpointed states (${mib(L.stateFloats)}) exceed the ${mib(maxFloats)} storage binding limit; use fewer batch·heads or a shorter sequence`);
  }
  if (L.dx.total > maxFloats) {
    throw new Error(`${c.id}: the packed input gradients (${mib(L.dx.total)}) exceed the ${mib(maxFloats)} storage binding limit; use fewer batch·heads or a shorter sequence`);
  }
  return {
    forward: [...packKernels(c, s, L, caps), forwardOf(c, s, L, caps, opts.tune?.forward ?? {})],
    backward: [dfinalCopy(L, caps), c.mlstm ? mlstmBackwardKernel(c, s, L, caps) : fast ? fastBackwardKernel(c, s, L, caps, fast) : backwardKernel(c, s, L, caps), ...unpackKernels(c, s, L, caps)],
    scratch: [
      { name: 'gates', bytes: Math.max(4, L.B * L.TS * L.H * L.NG * 4) },
      { name: 'state', bytes: L.stateFloats * 4 },
      { name: 'dx', bytes: L.dx.total * 4 },
    ],
    checkpoint: L.CK,
  };
}
