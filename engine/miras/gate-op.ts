/**
 * Elementwise gate activations of the Miras block that the core unary set does not have, each with
 * constants baked in (one op, float64 reference and WGSL side by side, like engine/ops/unary.ts):
 *   logsigmoid  y = logσ(x)/τ                                    GLA log-decay (τ = 16), sigmoid forget gates
 *   hgrn2       y = log(lb + (1 − lb)σ(x)) = softplus(log lb − x) − softplus(−x)   HGRN2 lower-bounded forget gate
 *   oneMinusExp y = 1 − eˣ                                        HGRN2 key tied to 1 − f (from g = log f)
 *   negExp      y = −eˣ                                           Mamba2 A = −exp(A_log)
 *   relu        y = max(0, x)                                     feature map
 *   scale       y = c·x                                           β × 2 for the [−1, 1] eigenvalue range
 *   one         y = 1                                             the all-ones value column of the mLSTM normaliser
 *   absMax1     y = max(|x|, 1)                                   the mLSTM denominator max(|nᵀq|, 1)
 */
import type { Tensor } from '../ir/graph';
import type { OpDef } from '../ir/op';
import { f as lit, threadKernel } from '../ops/wgsl';

export type GateFn = 'logsigmoid' | 'hgrn2' | 'oneMinusExp' | 'negExp' | 'relu' | 'scale' | 'one' | 'absMax1';
export interface GateAttrs {
  fn: GateFn;
  /** τ for logsigmoid, lb for hgrn2, c for scale. */
  c: number;
}

const softplus = (x: number) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
const sig = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

function math(a: GateAttrs): { f: (x: number) => number; df: (x: number) => number; wf: string; wdf: string } {
  const c = a.c;
  const WSP = 'fn sp(x: f32) -> f32 { return max(x, 0.0) + log(1.0 + exp(-abs(x))); }\nfn sg(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }';
  switch (a.fn) {
    case 'logsigmoid':
      return { f: (x) => -softplus(-x) / c, df: (x) => sig(-x) / c, wf: `${WSP}\nfn f(x: f32) -> f32 { return -sp(-x) / ${lit(c)}; }`, wdf: `fn df(x: f32) -> f32 { return sg(-x) / ${lit(c)}; }` };
    case 'hgrn2': {
      if (c <= 0) return math({ fn: 'logsigmoid', c: 1 });
      const L = Math.log(c);
      // d/dx [softplus(L − x) − softplus(−x)] = σ(−x) − σ(L − x)
      return {
        f: (x) => softplus(L - x) - softplus(-x),
        df: (x) => sig(-x) - sig(L - x),
        wf: `${WSP}\nfn f(x: f32) -> f32 { return sp(${lit(L)} - x) - sp(-x); }`,
        wdf: `fn df(x: f32) -> f32 { return sg(-x) - sg(${lit(L)} - x); }`,
      };
    }
    case 'oneMinusExp':
      return { f: (x) => 1 - Math.exp(x), df: (x) => -Math.exp(x), wf: 'fn f(x: f32) -> f32 { return 1.0 - exp(x); }', wdf: 'fn df(x: f32) -> f32 { return -exp(x); }' };
    case 'negExp':
      return { f: (x) => -Math.exp(x), df: (x) => -Math.exp(x), wf: 'fn f(x: f32) -> f32 { return -exp(x); }', wdf: 'fn df(x: f32) -> f32 { return -exp(x); }' };
    case 'relu':
      return { f: (x) => Math.max(0, x), df: (x) => (x > 0 ? 1 : 0), wf: 'fn f(x: f32) -> f32 { return max(x, 0.0); }', wdf: 'fn df(x: f32) -> f32 { return select(0.0, 1.0, x > 0.0); }' };
    case 'scale':
      return { f: (x) => c * x, df: () => c, wf: `fn f(x: f32) -> f32 { return ${lit(c)} * x; }`, wdf: `fn df(x: f32) -> f32 { return ${lit(c)}; }` };
    case 'one':
      return { f: () => 1, df: () => 0, wf: 'fn f(x: f32) -> f32 { return 1.0; }', wdf: 'fn df(x: f32) -> f32 { return 0.0; }' };
    case 'absMax1':
      return {
        f: (x) => Math.max(Math.abs(x), 1),
        df: (x) => (Math.abs(x) > 1 ? Math.sign(x) : 0),
        wf: 'fn f(x: f32) -> f32 { return max(abs(x), 1.0); }',
        wdf: 'fn df(x: f32) -> f32 { return select(0.0, sign(x), abs(x) > 1.0); }',
      };
  }
}

export const gateOp: OpDef<GateAttrs> = {
  name: 'miras_gate',
  infer(ins, a) {
    if (ins[0].dtype !== 'f32') throw new Error(`gate ${a.fn} takes an f32 tensor`);
    if (!Number.isFinite(a.c)) throw new Error(`gate ${a.fn}: constant must be finite`);
    return [{ shape: ins[0].shape, dtype: 'f32' }];
  },
  forward: ([x], c) => [x.map(math(c.attrs).f)],
  backward: ([x], _y, [g], c) => {
    const df = math(c.attrs).df;
    return [g ? x.map((v, i) => g[i] * df(v)) : new Float64Array(x.length)];
  },
  kernels: {
    forward: (c) => [
      threadKernel({
        name: `${c.label}:fwd`,
        caps: c.caps,
        binds: [
          { name: 'x', buffer: c.in[0], access: 'read' },
          { name: 'y', buffer: c.out[0], access: 'read_write' },
        ],
        total: c.outs[0].shape.reduce((a, b) => a * b, 1),
        prelude: math(c.attrs).wf,
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
                { name: 'x', buffer: c.in[0], access: 'read' },
                { name: 'gy', buffer: c.gout[0]!, access: 'read' },
                { name: 'gx', buffer: c.gin[0], access: 'read_write' },
              ],
              total: c.outs[0].shape.reduce((a, b) => a * b, 1),
              prelude: `${math(c.attrs).wf}\n${math(c.attrs).wdf}`,
              body: '  gx[i] += gy[i] * df(x[i]);',
            }),
          ]
        : [],
  },
};

export function gate(fn: GateFn, x: Tensor, c = 1, name?: string): Tensor {
  return x.graph.apply(gateOp, [x], { fn, c }, name ?? fn)[0];
}
