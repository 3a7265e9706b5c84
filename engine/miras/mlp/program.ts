/**
 * THE DEEP-MLP-MEMORY TOKEN STEP AS A STRAIGHT-LINE PROGRAM.
 *
 * One token of the Miras recurrence with an MLP memory M(x) = x + LN(W_L σ(… σ(W_1 x))) is written once, as a
 * list of small array ops (matvec, vecmat, outer, elementwise maps with their partial derivatives, sums, the
 * attentional bias g(e) with its VJP, slice softmax). From that one list come
 *   - the WGSL forward and reverse-mode code of the fused kernel (engine/miras/mlp/wgsl.ts), and
 *   - a float64 interpreter (`forward`, `reverse` below) that the tests check against the tape oracle.
 * The step already contains the inner gradient ∇ℓ(W; k, v) (backprop through the MLP), so its reverse mode is
 * second order: σ'' and the bias VJP appear there automatically.
 *
 * Semantics follow the float64 oracle engine/miras/reference/scan.ts (mlpForward, mlpBackward, memoryGradient,
 * retain, effective, softmaxAxis, learners gd / momentum / chunk). Every reverse rule is a gather (each adjoint
 * element is written by one invocation), so the kernel needs no atomics.
 */
import { biasMath, type BiasMath } from '../math/bias';
import { JS_BUILTINS, lit } from '../math/expr';
import { retentionMath, type RetentionMath } from '../math/retention';
import type { Combo as CatalogCombo } from '../catalog';
import { mlpLayerShapes } from '../cost';

export const LN_EPS = 1e-6;

export interface Arr {
  id: number;
  name: string;
  rows: number;
  cols: number;
  size: number;
}

export type Op =
  /** out[e] = expr(a0[e|0], a1[e|0], …); size-1 args broadcast; d[i] = ∂expr/∂a_i ('0.0': none). */
  | { kind: 'map'; out: number; args: number[]; names: string[]; expr: string; d: string[] }
  /** out[i] = Σ_j (W[i, j] − c[j]) x[j]  (c: a column vector, or none) */
  | { kind: 'matvec'; out: number; W: number; x: number; c: number | null }
  /** out[j] = Σ_i y[i] (W[i, j] − c[j]) */
  | { kind: 'vecmat'; out: number; y: number; W: number; c: number | null }
  /** out[j] = mean_i W[i, j] */
  | { kind: 'colmean'; out: number; W: number }
  /** out[i, j] = a[i] b[j] */
  | { kind: 'outer'; out: number; a: number; b: number }
  /** out[0] = Σ x */
  | { kind: 'sum'; out: number; x: number }
  /** out = g(e) of the attentional bias over the whole vector e (δ: a size-1 array or baked in) */
  | { kind: 'bias'; out: number; e: number; delta: number | null }
  /** out = c · softmax over slices of z [rows, cols]: 'rows' (each row), 'cols' (each column) or 'all';
   *  with `center`, out = z − mean over the slice instead (a log W up to the per-slice constant softmax ignores) */
  | { kind: 'softmax'; out: number; z: number; axis: 'rows' | 'cols' | 'all'; scale: number; center: boolean };

export class Prog {
  arrs: Arr[] = [];
  ops: Op[] = [];
  constructor(readonly bias: BiasMath) {}

  arr(name: string, rows: number, cols = 1): number {
    const id = this.arrs.length;
    this.arrs.push({ id, name, rows, cols, size: rows * cols });
    return id;
  }
  private like(x: number, name: string): number {
    return this.arr(name, this.arrs[x].rows, this.arrs[x].cols);
  }
  map(expr: string, args: number[], d: string[], names?: string[]): number {
    const big = args.reduce((a, b) => (this.arrs[b].size > this.arrs[a].size ? b : a), args[0]);
    for (const a of args) {
      if (this.arrs[a].size !== 1 && this.arrs[a].size !== this.arrs[big].size) throw new Error(`mlp step: map over arrays of sizes ${args.map((x) => this.arrs[x].size)}`);
    }
    const out = this.like(big, 'map');
    this.ops.push({ kind: 'map', out, args, names: names ?? args.map((_, i) => `a${i}`), expr, d });
    return out;
  }
  add = (a: number, b: number) => this.map('a0 + a1', [a, b], ['1.0', '1.0']);
  sub = (a: number, b: number) => this.map('a0 - a1', [a, b], ['1.0', '-1.0']);
  mul = (a: number, b: number) => this.map('a0 * a1', [a, b], ['a1', 'a0']);
  neg = (a: number) => this.map('-a0', [a], ['-1.0']);
  scaleC = (a: number, c: number) => this.map(`a0 * ${lit(c)}`, [a], [lit(c)]);
  copy = (a: number) => this.map('a0', [a], ['1.0']);
  matvec(W: number, x: number, c: number | null = null): number {
    const out = this.arr('matvec', this.arrs[W].rows);
    this.ops.push({ kind: 'matvec', out, W, x, c });
    return out;
  }
  vecmat(y: number, W: number, c: number | null = null): number {
    const out = this.arr('vecmat', this.arrs[W].cols);
    this.ops.push({ kind: 'vecmat', out, y, W, c });
    return out;
  }
  colmean(W: number): number {
    const out = this.arr('colmean', this.arrs[W].cols);
    this.ops.push({ kind: 'colmean', out, W });
    return out;
  }
  outer(a: number, b: number): number {
    const out = this.arr('outer', this.arrs[a].size, this.arrs[b].size);
    this.ops.push({ kind: 'outer', out, a, b });
    return out;
  }
  sum(x: number): number {
    const out = this.arr('sum', 1);
    this.ops.push({ kind: 'sum', out, x });
    return out;
  }
  biasGrad(e: number, delta: number | null): number {
    const out = this.like(e, 'bias');
    this.ops.push({ kind: 'bias', out, e, delta });
    return out;
  }
  /** c·softmax(z) per slice, or with `center` z minus its slice mean. */
  softmax(z: number, axis: 'rows' | 'cols' | 'all', scale: number, center = false): number {
    const out = this.like(z, center ? 'center' : 'softmax');
    this.ops.push({ kind: 'softmax', out, z, axis, scale, center });
    return out;
  }
}

// ------------------------------------------------------------------------------------------ the combination

/** A catalog combination with an MLP memory, resolved into what the step builder and the kernel need. */
export interface MlpCombo {
  id: string;
  catalog: CatalogCombo;
  /** Key width (q, k: the first layer's input) and value width (v, o: the last layer's output). */
  dk: number;
  dv: number;
  shapes: [number, number][];
  activation: 'gelu' | 'silu' | 'relu';
  residual: boolean;
  layerNorm: boolean;
  bias: BiasMath;
  retention: RetentionMath;
  learner: 'gd' | 'momentum' | 'chunk';
  chunk: number;
  lagToken: boolean;
  /** fla order: decay first, gradient at the decayed memory (retention.gradientAt = 'decayed'). */
  gradAtDecayed: boolean;
  decay: 'none' | 'gate' | 'constant';
  gammas: number[];
  qscale: number;
  /** Per-token scalar inputs the combination reads, in the provider's order. */
  gates: ('beta' | 'g' | 'eta' | 'delta')[];
}

/** Why the MLP kernel cannot run this catalog combination (null: it can). */
export function mlpUnsupported(c: CatalogCombo): string | null {
  if (c.memory.kind !== 'mlp') return `memory "${c.memory.kind}" (the MLP kernel covers the deep MLP memory)`;
  if (!['gd', 'momentum', 'chunk'].includes(c.learner.kind)) return `learner "${c.learner.kind}" with an MLP memory`;
  if (c.retention.kind === 'channel') return 'channel-wise decay with an MLP memory';
  if (c.block.betaPerChannel) return 'β per value channel with an MLP memory';
  if (c.block.mlstmNormalizer) return 'the mLSTM normaliser with an MLP memory';
  return null;
}

export function resolveMlpCombo(c: CatalogCombo, heads: number, dk: number, dv: number, gates: string[]): MlpCombo {
  const why = mlpUnsupported(c);
  if (why) throw new Error(`the MLP memory kernel does not support ${why}`);
  if (c.memory.params.residual && dk !== dv) throw new Error(`the residual MLP memory M(x) = x + f(x) maps keys to values, so d_k must equal d_v (got d_k = ${dk}, d_v = ${dv}); turn off the residual or set them equal`);
  const r = c.retention;
  const retention = retentionMath(r.kind, r.params, heads);
  const decayed = ['constant', 'scalar', 'l2'].includes(r.kind) && !r.params.coupled && r.params.gradientAt === 'decayed';
  const gate = r.kind === 'scalar' || r.kind === 'l2' || (['elastic', 'lq', 'kl'].includes(r.kind) && !!r.params.decay);
  return {
    id: `miras:mlp/${c.bias.kind}/${r.kind}/${c.learner.kind}`,
    catalog: c,
    dk,
    dv,
    shapes: mlpLayerShapes(c, dk, dv),
    activation: (c.memory.params.activation as 'gelu' | 'silu' | 'relu') ?? 'gelu',
    residual: !!c.memory.params.residual,
    layerNorm: !!c.memory.params.layerNorm,
    bias: biasMath(c.bias.kind, c.bias.params),
    retention,
    learner: c.learner.kind as 'gd' | 'momentum' | 'chunk',
    chunk: c.learner.kind === 'chunk' ? Number(c.learner.params.chunkSize) : 1,
    lagToken: c.learner.kind === 'chunk' && c.learner.params.lagToken === true,
    gradAtDecayed: decayed,
    decay: r.kind === 'constant' ? 'constant' : gate ? 'gate' : 'none',
    gammas: retention.gammas ?? [],
    qscale: c.block.queryScale === 'inv-sqrt-dk' ? 1 / Math.sqrt(dk) : 1,
    gates: (['beta', 'g', 'eta', 'delta'] as const).filter((n) => gates.includes(n)),
  };
}

// ------------------------------------------------------------------------------------------ the token step

export type Variant = 'plain' | 'start' | 'inner';

export interface Step {
  prog: Prog;
  /**
   * Carried state in order: W_1..W_L, mom.W_l (momentum), the chunk anchor (chunk learner), log W_l (KL retention:
   * the log-domain copy the softmax recurrence continues from, up to a per-slice constant, so an entry that
   * underflows to 0 in f32 keeps its logit). Only W and the momentum are the scan's state (initialState / finalState).
   */
  stateIn: number[];
  /** Where each slot starts: `input` at this offset of the per-head initial state, zero, or the log of a slot. */
  init: ({ from: 'input'; offset: number } | { from: 'zero' } | { from: 'log'; slot: number })[];
  stateOut: number[];
  q: number;
  k: number;
  v: number;
  /** Per-token scalars by name (beta, g, eta, delta; gamma = the constant decay of this head). */
  scalars: Record<string, number>;
  o: number;
}

/** The variants a learner needs: chunk learners differ at the first token of a chunk. */
export function variants(m: MlpCombo): Variant[] {
  return m.learner === 'chunk' ? ['start', 'inner'] : ['plain'];
}

export function variantAt(m: MlpCombo, t: number): Variant {
  return m.learner === 'chunk' ? (t % m.chunk === 0 ? 'start' : 'inner') : 'plain';
}

const ACT: Record<string, [string, string, string]> = {
  gelu: ['gelu_f', 'gelu_d1', 'gelu_d2'],
  silu: ['silu_f', 'silu_d1', 'silu_d2'],
  relu: ['relu_f', 'relu_d1', ''],
};

export function buildStep(m: MlpCombo, variant: Variant): Step {
  const p = new Prog(m.bias);
  const { dk, dv } = m;
  const L = m.shapes.length;
  // Inputs first, in the same order for every variant (the kernel shares their offsets).
  const W = m.shapes.map(([o, i], l) => p.arr(`W${l + 1}`, o, i));
  const mom = m.learner === 'momentum' ? m.shapes.map(([o, i], l) => p.arr(`mom.W${l + 1}`, o, i)) : [];
  const anchor = m.learner === 'chunk' ? m.shapes.map(([o, i], l) => p.arr(`anchor.W${l + 1}`, o, i)) : [];
  const logW = m.retention.simplex ? m.shapes.map(([o, i], l) => p.arr(`log.W${l + 1}`, o, i)) : [];
  const logN: number[] = [];
  const q = p.arr('q', dk);
  const k = p.arr('k', dk);
  const v = p.arr('v', dv);
  const scalars: Record<string, number> = {};
  for (const g of m.gates) scalars[g] = p.arr(g, 1);
  if (m.decay === 'constant') scalars.gamma = p.arr('gamma', 1);

  const [actF, actD1, actD2] = ACT[m.activation];
  const act = (z: number) => p.map(`${actF}(a0)`, [z], [`${actD1}(a0)`]);
  const actPrime = (z: number) => p.map(`${actD1}(a0)`, [z], [actD2 ? `${actD2}(a0)` : '0.0']);
  const alpha = m.decay === 'gate' ? p.map('exp(a0)', [scalars.g], ['exp(a0)']) : m.decay === 'constant' ? scalars.gamma : null;
  const beta = scalars.beta ?? null;
  const delta = scalars.delta ?? null;
  const ret = m.retention;

  const decayed = (x: number) => (alpha === null ? x : p.mul(x, alpha));
  const minusU = (x: number, U: number | null) => (U === null ? x : p.sub(x, U));
  const retain = (x: number, U: number | null, slot: number): number => {
    switch (ret.kind) {
      case 'none':
      case 'constant':
      case 'scalar':
      case 'lq':
        return minusU(decayed(x), U);
      case 'l2':
        return ret.coupled ? decayed(minusU(x, U)) : minusU(decayed(x), U);
      case 'elastic':
        return p.map(ret.post!.map, [minusU(decayed(x), U)], [ret.post!.deriv], ['z']);
      case 'kl': {
        // log W_{t−1} is carried (slot log.W) up to a per-slice constant, which the softmax ignores (α scales it, it
        // stays per slice): W_t = c·softmax(z), z = α log W_{t−1} − U, and the slot continues from z minus its slice
        // mean (log-softmax(z) + log c differs from it by a per-slice constant; centred, f32 keeps ~7× more digits).
        const lg = logW[slot];
        const sx = ret.simplex!;
        // MLP W is [out, in]: 'key' normalises over the inputs of each output (rows), 'value' over each column.
        const axis = sx.axis === 'key' ? 'rows' : sx.axis === 'value' ? 'cols' : 'all';
        const z = minusU(alpha === null ? lg : p.mul(lg, alpha), U);
        logN[slot] = p.softmax(z, axis, sx.scale, true);
        return p.softmax(z, axis, sx.scale);
      }
    }
    throw new Error(`the MLP memory kernel has no closed form for retention "${ret.kind}"`);
  };
  const lqNorm = (A: number): number => {
    const n = ret.norm!;
    const term = p.map(n.term, [A], [`${lit(n.pn)} * (${n.dterm})`], ['a']);
    const e = -n.expo / n.pn;
    const sc = p.map(`pow(a0, ${lit(e)})`, [p.sum(term)], [`${lit(e)} * pow(a0, ${lit(e - 1)})`]);
    const f = n.f === 'a' ? A : p.map(n.f, [A], [n.fd], ['a']);
    return p.mul(f, sc);
  };
  const effective = (xs: number[]) => (ret.norm ? xs.map(lqNorm) : xs);

  const mlpForward = (P: number[], x: number) => {
    const ins: number[] = [];
    const zs: number[] = [];
    let h = x;
    // A positive (KL) memory with LayerNorm reads its last layer centred over the outputs, (W_L − 1 c_Lᵀ) h: LN
    // removes that common mode anyway, and in f32 the large common mode of positive weights cancels most digits.
    const cL = m.layerNorm && ret.simplex ? p.colmean(P[L - 1]) : null;
    for (let l = 0; l < L; l++) {
      ins.push(h);
      const z = p.matvec(P[l], h, l === L - 1 ? cL : null);
      zs.push(z);
      h = l < L - 1 ? act(z) : z;
    }
    let out = h;
    let xhat = -1;
    let invS = -1;
    if (m.layerNorm) {
      const r = 1 / dv;
      const zc = p.map(`a0 - a1 * ${lit(r)}`, [out, p.sum(out)], ['1.0', lit(-r)]);
      const ss = p.sum(p.map('a0 * a0', [zc], ['2.0 * a0']));
      invS = p.map(`1.0 / sqrt(a0 * ${lit(r)} + ${lit(LN_EPS)})`, [ss], [`${lit(-0.5 * r)} * pow(a0 * ${lit(r)} + ${lit(LN_EPS)}, -1.5)`]);
      xhat = p.mul(zc, invS);
      out = xhat;
    }
    const y = m.residual ? p.add(x, out) : out;
    return { ins, zs, xhat, invS, y, cL };
  };

  const memoryGradient = (P: number[]): number[] => {
    const cache = mlpForward(P, k);
    const g = m.bias.hebbian ? p.neg(v) : p.biasGrad(p.sub(cache.y, v), delta);
    let gz = g;
    if (m.layerNorm) {
      // ∂ℓ/∂z = (d·g − Σg − x̂·Σ(g⊙x̂)) / (d·s)
      const t = p.map(`a0 * ${lit(dv)} - a1`, [g, p.sum(g)], [lit(dv), '-1.0']);
      const u = p.map('a0 - a1 * a2', [t, cache.xhat, p.sum(p.mul(g, cache.xhat))], ['1.0', '-a2', '-a1']);
      gz = p.map(`a0 * a1 * ${lit(1 / dv)}`, [u, cache.invS], [`a1 * ${lit(1 / dv)}`, `a0 * ${lit(1 / dv)}`]);
    }
    const grads: number[] = new Array(L);
    for (let l = L - 1; l >= 0; l--) {
      grads[l] = p.outer(gz, cache.ins[l]);
      // Σ_i gz_i = 0 after the LN backward, so the centred W_L gives the same product with less f32 cancellation.
      if (l > 0) gz = p.mul(p.vecmat(gz, P[l], l === L - 1 ? cache.cL : null), actPrime(cache.zs[l - 1]));
    }
    return grads;
  };
  const lr = (G: number[]) => (beta === null ? G : G.map((x) => p.mul(x, beta)));

  let Wn: number[];
  let momN = mom;
  let anchorN = anchor;
  if (m.learner === 'gd') {
    if (m.gradAtDecayed && alpha !== null) {
      const dW = W.map(decayed);
      const U = lr(memoryGradient(effective(dW)));
      Wn = dW.map((x, i) => p.sub(x, U[i]));
    } else {
      const U = lr(memoryGradient(effective(W)));
      Wn = W.map((x, i) => retain(x, U[i], i));
    }
  } else if (m.learner === 'momentum') {
    const base = m.gradAtDecayed && alpha !== null ? W.map(decayed) : W;
    const U = lr(memoryGradient(effective(base)));
    momN = mom.map((M, i) => p.sub(p.mul(M, scalars.eta), U[i]));
    Wn = W.map((x, i) => retain(x, p.neg(momN[i]), i));
  } else {
    const anc = variant === 'start' ? effective(W) : anchor;
    const U = lr(memoryGradient(anc));
    Wn = W.map((x, i) => retain(x, U[i], i));
    anchorN = variant === 'start' && m.lagToken ? effective(Wn) : anc;
  }
  const qq = m.qscale === 1 ? q : p.scaleC(q, m.qscale);
  const o = mlpForward(effective(Wn), qq).y;
  const stateIn = [...W, ...mom, ...anchor, ...logW];
  // Outputs never alias inputs or each other (the kernel copies out → in slot by slot; the reverse sets each
  // output's adjoint once, then reads the inputs'): the lag-token anchor is the new W itself, for one.
  const seen = new Set<number>();
  const stateOut = [...Wn, ...momN, ...anchorN, ...logN].map((x) => {
    const y = stateIn.includes(x) || seen.has(x) ? p.copy(x) : x;
    seen.add(y);
    return y;
  });
  let offset = 0;
  const init: Step['init'] = stateIn.map((id, k) => {
    if (k < W.length + mom.length) {
      const at = offset;
      offset += p.arrs[id].size;
      return { from: 'input' as const, offset: at };
    }
    return k >= W.length + mom.length + anchor.length ? { from: 'log' as const, slot: k - W.length - mom.length - anchor.length } : { from: 'zero' as const };
  });
  return { prog: p, stateIn, stateOut, init, q, k, v, scalars, o };
}

// ------------------------------------------------------------------------------------------ float64 interpreter

const SIG = (x: number) => 1 / (1 + Math.exp(-x));
const GELU_C = Math.sqrt(2 / Math.PI);
const GELU_A = 0.044715;
/** Builtins of the expressions: the WGSL names, with float64 JS bodies (wgsl.ts emits the f32 ones). */
export const BUILTINS: Record<string, (...a: number[]) => number> = {
  ...JS_BUILTINS,
  gelu_f: (x) => 0.5 * x * (1 + Math.tanh(GELU_C * (x + GELU_A * x * x * x))),
  gelu_d1: (x) => {
    const t = Math.tanh(GELU_C * (x + GELU_A * x * x * x));
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * GELU_C * (1 + 3 * GELU_A * x * x);
  },
  gelu_d2: (x) => {
    const t = Math.tanh(GELU_C * (x + GELU_A * x * x * x));
    const du = GELU_C * (1 + 3 * GELU_A * x * x);
    return (1 - t * t) * du + 0.5 * x * (1 - t * t) * (GELU_C * 6 * GELU_A * x - 2 * t * du * du);
  },
  silu_f: (x) => x * SIG(x),
  silu_d1: (x) => SIG(x) * (1 + x * (1 - SIG(x))),
  silu_d2: (x) => {
    const s = SIG(x);
    return s * (1 - s) * (2 + x * (1 - 2 * s));
  },
  relu_f: (x) => Math.max(0, x),
  relu_d1: (x) => (x > 0 ? 1 : 0),
};

const compiled = new Map<string, (...a: number[]) => number>();
/** A WGSL-syntax scalar expression over `args` as a float64 function. */
export function fn(args: string[], expr: string): (...a: number[]) => number {
  const key = `${args.join(',')}|${expr}`;
  let f = compiled.get(key);
  if (!f) {
    const names = Object.keys(BUILTINS);
    const raw = new Function(...names, ...args, `return (${expr});`) as (...a: unknown[]) => number;
    const b = names.map((n) => BUILTINS[n]);
    f = (...a: number[]) => Number(raw(...b, ...a));
    compiled.set(key, f);
  }
  return f;
}

/** Argument names of the bias expressions: e, dg, dl, r0…, s0…. */
export function biasArgs(b: BiasMath): string[] {
  return ['e', 'dg', 'dl', ...b.fwdSums.map((_, i) => `r${i}`), ...b.bwdSums.map((_, i) => `s${i}`)];
}

function slices(a: Arr, axis: 'rows' | 'cols' | 'all'): number[][] {
  const { rows, cols } = a;
  if (axis === 'all') return [Array.from({ length: a.size }, (_, i) => i)];
  if (axis === 'rows') return Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => i * cols + j));
  return Array.from({ length: cols }, (_, j) => Array.from({ length: rows }, (_, i) => i * cols + j));
}

export function allocate(p: Prog): Float64Array[] {
  return p.arrs.map((a) => new Float64Array(a.size));
}

function biasSums(p: Prog, e: Float64Array, dl: number) {
  const b = p.bias;
  const args = biasArgs(b);
  const r = b.fwdSums.map((s) => {
    const f = fn(args, s);
    let acc = 0;
    for (let i = 0; i < e.length; i++) acc += f(e[i], 0, dl);
    return acc;
  });
  return { args, r };
}

/** Run the step forward on `val` (inputs filled in); `f32` rounds every stored value as the kernel stores it. */
export function forward(p: Prog, val: Float64Array[], f32 = false): void {
  const R = f32 ? Math.fround : (x: number) => x;
  for (const op of p.ops) {
    const out = val[op.out];
    switch (op.kind) {
      case 'map': {
        const f = fn(op.names, op.expr);
        const xs = op.args.map((a) => val[a]);
        const a = new Array<number>(xs.length);
        for (let i = 0; i < out.length; i++) {
          for (let j = 0; j < xs.length; j++) a[j] = xs[j].length === 1 ? xs[j][0] : xs[j][i];
          out[i] = f(...a);
        }
        break;
      }
      case 'matvec':
      case 'vecmat': {
        // matvec: out[i] = Σ_j (W[i, j] − c[j]) x[j];  vecmat: out[j] = Σ_i x[i] (W[i, j] − c[j])
        const { cols } = p.arrs[op.W];
        const W = val[op.W];
        const x = val[op.kind === 'matvec' ? op.x : op.y];
        const c = op.c === null ? null : val[op.c];
        const tr = op.kind === 'vecmat';
        for (let n = 0; n < out.length; n++) {
          let s = 0;
          for (let m = 0; m < x.length; m++) {
            const [i, j] = tr ? [m, n] : [n, m];
            s = R(s + R(R(W[i * cols + j] - (c ? c[j] : 0)) * x[m]));
          }
          out[n] = s;
        }
        break;
      }
      case 'colmean': {
        const { rows, cols } = p.arrs[op.W];
        const W = val[op.W];
        for (let j = 0; j < cols; j++) {
          let s = 0;
          for (let i = 0; i < rows; i++) s += W[i * cols + j];
          out[j] = s / rows;
        }
        break;
      }
      case 'outer': {
        const a = val[op.a];
        const b = val[op.b];
        for (let i = 0; i < a.length; i++) for (let j = 0; j < b.length; j++) out[i * b.length + j] = a[i] * b[j];
        break;
      }
      case 'sum':
        out[0] = val[op.x].reduce((s, x) => R(s + x), 0);
        break;
      case 'bias': {
        const e = val[op.e];
        const dl = op.delta === null ? 0 : val[op.delta][0];
        const { args, r } = biasSums(p, e, dl);
        const g = fn(args, p.bias.g);
        for (let i = 0; i < e.length; i++) out[i] = g(e[i], 0, dl, ...r);
        break;
      }
      case 'softmax': {
        const z = val[op.z];
        for (const idx of slices(p.arrs[op.z], op.axis)) {
          let mx = -Infinity;
          for (const i of idx) mx = Math.max(mx, z[i]);
          let s = 0;
          for (const i of idx) s += Math.exp(z[i] - mx);
          let mean = 0;
          for (const i of idx) mean += z[i] / idx.length;
          for (const i of idx) out[i] = op.center ? z[i] - mean : (op.scale * Math.exp(z[i] - mx)) / s;
        }
        break;
      }
    }
    if (f32) for (let i = 0; i < out.length; i++) out[i] = Math.fround(out[i]);
  }
}

/** Reverse mode: `adj` holds the seeded output adjoints (zeros elsewhere); adds every input's adjoint. */
export function reverse(p: Prog, val: Float64Array[], adj: Float64Array[]): void {
  for (let n = p.ops.length - 1; n >= 0; n--) {
    const op = p.ops[n];
    const dy = adj[op.out];
    switch (op.kind) {
      case 'map': {
        const xs = op.args.map((a) => val[a]);
        const a = new Array<number>(xs.length);
        op.args.forEach((arg, k) => {
          if (op.d[k] === '0.0') return;
          const f = fn(op.names, op.d[k]);
          const da = adj[arg];
          for (let i = 0; i < dy.length; i++) {
            for (let j = 0; j < xs.length; j++) a[j] = xs[j].length === 1 ? xs[j][0] : xs[j][i];
            da[da.length === 1 ? 0 : i] += dy[i] * f(...a);
          }
        });
        break;
      }
      case 'matvec':
      case 'vecmat': {
        // With u the vector (x of matvec, y of vecmat) and g the output adjoint indexed by the other side:
        // dW_ij += u·g outer product, du += (W − c)ᵀg or (W − c)g, dc_j −= the same outer product summed over i.
        const { rows, cols } = p.arrs[op.W];
        const W = val[op.W];
        const tr = op.kind === 'vecmat';
        const uid = op.kind === 'matvec' ? op.x : op.y;
        const u = val[uid];
        const c = op.c === null ? null : val[op.c];
        for (let i = 0; i < rows; i++) {
          for (let j = 0; j < cols; j++) {
            const [ui, gi] = tr ? [i, j] : [j, i];
            const outer = dy[gi] * u[ui];
            adj[op.W][i * cols + j] += outer;
            adj[uid][ui] += (W[i * cols + j] - (c ? c[j] : 0)) * dy[gi];
            if (op.c !== null) adj[op.c][j] -= outer;
          }
        }
        break;
      }
      case 'colmean': {
        const { rows, cols } = p.arrs[op.W];
        for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) adj[op.W][i * cols + j] += dy[j] / rows;
        break;
      }
      case 'outer': {
        const a = val[op.a];
        const b = val[op.b];
        for (let i = 0; i < a.length; i++) {
          for (let j = 0; j < b.length; j++) {
            adj[op.a][i] += dy[i * b.length + j] * b[j];
            adj[op.b][j] += dy[i * b.length + j] * a[i];
          }
        }
        break;
      }
      case 'sum': {
        const dx = adj[op.x];
        for (let i = 0; i < dx.length; i++) dx[i] += dy[0];
        break;
      }
      case 'bias': {
        const e = val[op.e];
        const dl = op.delta === null ? 0 : val[op.delta][0];
        const { args, r } = biasSums(p, e, dl);
        const s = p.bias.bwdSums.map((src) => {
          const f = fn(args, src);
          let acc = 0;
          for (let i = 0; i < e.length; i++) acc += f(e[i], dy[i], dl, ...r);
          return acc;
        });
        const de = fn(args, p.bias.de);
        const dd = fn(args, p.bias.ddelta);
        for (let i = 0; i < e.length; i++) {
          adj[op.e][i] += de(e[i], dy[i], dl, ...r, ...s);
          if (op.delta !== null) adj[op.delta][0] += dd(e[i], dy[i], dl, ...r, ...s);
        }
        break;
      }
      case 'softmax': {
        const W = val[op.out];
        const dz = adj[op.z];
        for (const idx of slices(p.arrs[op.z], op.axis)) {
          let acc = 0;
          if (op.center) {
            for (const i of idx) acc += dy[i] / idx.length;
            for (const i of idx) dz[i] += dy[i] - acc;
          } else {
            for (const i of idx) acc += (dy[i] * W[i]) / op.scale;
            for (const i of idx) dz[i] += W[i] * (dy[i] - acc);
          }
        }
        break;
      }
    }
  }
}
