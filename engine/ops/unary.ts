/**
 * Elementwise unary functions: ONE op over an extensible function table. Each entry is defined once:
 * float64 value and derivative for the reference, and the same two as WGSL function bodies for the
 * kernels. An entry may take one constant `c` (a temperature, a bound, a scale), baked into the WGSL
 * as a literal. The core entries are below; other modules add theirs with `registerUnary` (the Miras
 * gate activations: engine/miras/gates.ts). GELU is the tanh approximation (Hendrycks & Gimpel 2016,
 * eq. in §2) because WGSL has no erf.
 */
import type { Tensor } from '../ir/graph';
import type { OpDef } from '../ir/op';
import { f as lit, threadKernel, rd, rw } from './wgsl';

export interface UnaryFn {
  /** Value and derivative in float64; `c` is the entry's constant (its `constant.default` when not given). */
  f(x: number, c: number): number;
  df(x: number, c: number): number;
  /** WGSL bodies of `fn f(x: f32) -> f32` and `fn df(x: f32) -> f32`; a function of the constant's WGSL literal and value. */
  wf: string | ((c: string, value: number) => string);
  wdf: string | ((c: string, value: number) => string);
  /** WGSL helper functions the bodies call (declared once before f and df). */
  helpers?: string;
  /** The constant this entry takes, with its meaning and default; absent: the entry takes none. */
  constant?: { meaning: string; default: number; check?: (c: number) => string | null };
}

const sig = (x: number) => 1 / (1 + Math.exp(-x));
const GELU_C = Math.sqrt(2 / Math.PI);
const geluInner = (x: number) => GELU_C * (x + 0.044715 * x * x * x);

const CORE = {
  silu: {
    f: (x) => x * sig(x),
    df: (x) => sig(x) * (1 + x * (1 - sig(x))),
    wf: 'return x / (1.0 + exp(-x));',
    wdf: 'let s = 1.0 / (1.0 + exp(-x)); return s * (1.0 + x * (1.0 - s));',
  },
  sigmoid: {
    f: sig,
    df: (x) => sig(x) * (1 - sig(x)),
    wf: 'return 1.0 / (1.0 + exp(-x));',
    wdf: 'let s = 1.0 / (1.0 + exp(-x)); return s * (1.0 - s);',
  },
  softplus: {
    f: (x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))),
    df: sig,
    wf: 'return max(x, 0.0) + log(1.0 + exp(-abs(x)));',
    wdf: 'return 1.0 / (1.0 + exp(-x));',
  },
  exp: { f: Math.exp, df: Math.exp, wf: 'return exp(x);', wdf: 'return exp(x);' },
  /** elu(x) + 1: the positive feature map of Katharopoulos et al. 2020. */
  elu1: {
    f: (x) => (x > 0 ? x + 1 : Math.exp(x)),
    df: (x) => (x > 0 ? 1 : Math.exp(x)),
    wf: 'if (x > 0.0) { return x + 1.0; } return exp(x);',
    wdf: 'if (x > 0.0) { return 1.0; } return exp(x);',
  },
  gelu: {
    f: (x) => 0.5 * x * (1 + Math.tanh(geluInner(x))),
    df: (x) => {
      const t = Math.tanh(geluInner(x));
      return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * GELU_C * (1 + 3 * 0.044715 * x * x);
    },
    // tanh's argument is clamped: large |x| overflows some tanh implementations (tanh(±15) = ±1 in f32).
    wf: 'let t = tanh(clamp(0.7978845608028654 * (x + 0.044715 * x * x * x), -15.0, 15.0)); return 0.5 * x * (1.0 + t);',
    wdf: 'let t = tanh(clamp(0.7978845608028654 * (x + 0.044715 * x * x * x), -15.0, 15.0)); return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * 0.7978845608028654 * (1.0 + 0.134145 * x * x);',
  },
  relu: { f: (x) => Math.max(0, x), df: (x) => (x > 0 ? 1 : 0), wf: 'return max(x, 0.0);', wdf: 'return select(0.0, 1.0, x > 0.0);' },
  neg: { f: (x) => -x, df: () => -1, wf: 'return -x;', wdf: 'return -1.0;' },
  square: { f: (x) => x * x, df: (x) => 2 * x, wf: 'return x * x;', wdf: 'return 2.0 * x;' },
} satisfies Record<string, UnaryFn>;

/** Every registered function by name: the core entries above, then those added by `registerUnary`. */
export const UNARY: Record<string, UnaryFn> = { ...CORE };

/** A registered function's name (the core names are listed for completion; registered ones are plain strings). */
export type UnaryName = keyof typeof CORE | (string & {});

/** Add a function to the table. Names are unique: registering a taken name is an error (two meanings for one name). */
export function registerUnary(name: string, fn: UnaryFn): void {
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) throw new Error(`unary function name "${name}" must be an identifier`);
  if (name in UNARY && UNARY[name] !== fn) throw new Error(`unary function "${name}" is already registered`);
  UNARY[name] = fn;
}

export interface UnaryAttrs {
  fn: UnaryName;
  /** The entry's constant (only for entries that take one; default `constant.default`). */
  c?: number;
}

function entry(a: UnaryAttrs): { fn: UnaryFn; c: number } {
  const fn = UNARY[a.fn];
  if (!fn) throw new Error(`unknown unary function "${a.fn}" (known: ${Object.keys(UNARY).join(', ')})`);
  if (!fn.constant) {
    if (a.c !== undefined) throw new Error(`unary ${a.fn} takes no constant (got c = ${a.c})`);
    return { fn, c: 0 };
  }
  const c = a.c ?? fn.constant.default;
  if (!Number.isFinite(c)) throw new Error(`unary ${a.fn}: the ${fn.constant.meaning} must be finite, got ${c}`);
  const bad = fn.constant.check?.(c);
  if (bad) throw new Error(`unary ${a.fn}: ${bad}`);
  return { fn, c };
}

function prelude(a: UnaryAttrs): string {
  const { fn, c } = entry(a);
  const body = (w: UnaryFn['wf']) => (typeof w === 'string' ? w : w(lit(c), c));
  return `${fn.helpers ? `${fn.helpers}\n` : ''}fn f(x: f32) -> f32 { ${body(fn.wf)} }\nfn df(x: f32) -> f32 { ${body(fn.wdf)} }`;
}

export const unaryOp: OpDef<UnaryAttrs> = {
  name: 'unary',
  infer(ins, a) {
    entry(a);
    if (ins[0].dtype !== 'f32') throw new Error(`${a.fn} takes an f32 tensor`);
    return [{ shape: ins[0].shape, dtype: 'f32' }];
  },
  forward: ([x], ctx) => {
    const { fn, c } = entry(ctx.attrs);
    return [x.map((v) => fn.f(v, c))];
  },
  backward: ([x], _y, [g], ctx) => {
    const { fn, c } = entry(ctx.attrs);
    return [g ? x.map((v, i) => g[i] * fn.df(v, c)) : new Float64Array(x.length)];
  },
  kernels: {
    forward: (c) => [
      threadKernel({
        name: `${c.label}:fwd`,
        caps: c.caps,
        binds: [
          rd('x', c.in[0]),
          rw('y', c.out[0]),
        ],
        total: c.outs[0].shape.reduce((a, b) => a * b, 1),
        prelude: prelude(c.attrs),
        body: '  y[i] = f(x[i]);',
      }),
    ],
    backward: (c) =>
      c.gin[0]
        ? [
            threadKernel({
              name: `${c.label}:bwd`,
              caps: c.caps,
              binds: [
                rd('x', c.in[0]),
                rd('gy', c.gout[0]!),
                rw('gx', c.gin[0]),
              ],
              total: c.outs[0].shape.reduce((a, b) => a * b, 1),
              prelude: prelude(c.attrs),
              body: '  gx[i] += gy[i] * df(x[i]);',
            }),
          ]
        : [],
  },
};

/** y = fn(x) elementwise; `c` is the constant of entries that take one (e.g. a temperature). */
export function unary(fn: UnaryName, x: Tensor, name?: string, c?: number): Tensor {
  return x.graph.apply(unaryOp, [x], c === undefined ? { fn } : { fn, c }, name ?? fn)[0];
}
export const silu = (x: Tensor, name?: string) => unary('silu', x, name);
export const gelu = (x: Tensor, name?: string) => unary('gelu', x, name);
export const sigmoid = (x: Tensor, name?: string) => unary('sigmoid', x, name);
export const softplus = (x: Tensor, name?: string) => unary('softplus', x, name);
export const exp = (x: Tensor, name?: string) => unary('exp', x, name);
export const elu1 = (x: Tensor, name?: string) => unary('elu1', x, name);
