/**
 * Elementwise unary functions. Each is defined once here: float64 value and derivative for the
 * reference, and the same two as WGSL functions for the kernels. GELU is the tanh approximation
 * (Hendrycks & Gimpel 2016, eq. in §2) because WGSL has no erf.
 */
import type { Tensor } from '../ir/graph';
import type { OpDef } from '../ir/op';
import { threadKernel, rd, rw } from './wgsl';

interface UnaryFn {
  f(x: number): number;
  df(x: number): number;
  /** WGSL bodies of `fn f(x: f32) -> f32` and `fn df(x: f32) -> f32`. */
  wf: string;
  wdf: string;
}

const sig = (x: number) => 1 / (1 + Math.exp(-x));
const GELU_C = Math.sqrt(2 / Math.PI);
const geluInner = (x: number) => GELU_C * (x + 0.044715 * x * x * x);

export const UNARY = {
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
  neg: { f: (x) => -x, df: () => -1, wf: 'return -x;', wdf: 'return -1.0;' },
  square: { f: (x) => x * x, df: (x) => 2 * x, wf: 'return x * x;', wdf: 'return 2.0 * x;' },
} satisfies Record<string, UnaryFn>;

export type UnaryName = keyof typeof UNARY;

export interface UnaryAttrs {
  fn: UnaryName;
}

const prelude = (fn: UnaryName) => `fn f(x: f32) -> f32 { ${UNARY[fn].wf} }\nfn df(x: f32) -> f32 { ${UNARY[fn].wdf} }`;

export const unaryOp: OpDef<UnaryAttrs> = {
  name: 'unary',
  infer(ins, a) {
    if (!(a.fn in UNARY)) throw new Error(`unknown unary function "${a.fn}" (known: ${Object.keys(UNARY).join(', ')})`);
    if (ins[0].dtype !== 'f32') throw new Error(`${a.fn} takes an f32 tensor`);
    return [{ shape: ins[0].shape, dtype: 'f32' }];
  },
  forward: ([x], c) => [x.map(UNARY[c.attrs.fn].f)],
  backward: ([x], _y, [g], c) => [g ? x.map((v, i) => g[i] * UNARY[c.attrs.fn].df(v)) : new Float64Array(x.length)],
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
        prelude: prelude(c.attrs.fn),
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
              prelude: prelude(c.attrs.fn),
              body: '  gx[i] += gy[i] * df(x[i]);',
            }),
          ]
        : [],
  },
};

export function unary(fn: UnaryName, x: Tensor, name?: string): Tensor {
  return x.graph.apply(unaryOp, [x], { fn }, name ?? fn)[0];
}
export const silu = (x: Tensor, name?: string) => unary('silu', x, name);
export const gelu = (x: Tensor, name?: string) => unary('gelu', x, name);
export const sigmoid = (x: Tensor, name?: string) => unary('sigmoid', x, name);
export const softplus = (x: Tensor, name?: string) => unary('softplus', x, name);
export const exp = (x: Tensor, name?: string) => unary('exp', x, name);
export const elu1 = (x: Tensor, name?: string) => unary('elu1', x, name);
