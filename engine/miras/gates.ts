/**
 * The gate activations of the Miras block, registered as entries of the engine's one elementwise unary op
 * (engine/ops/unary.ts): float64 value and derivative next to the same two in WGSL, constants baked in.
 *   logsigmoid  y = logσ(x)/τ                                    GLA log-decay (τ = 16), sigmoid forget gates
 *   hgrn2       y = log(lb + (1 − lb)σ(x)) = softplus(log lb − x) − softplus(−x)   HGRN2 lower-bounded forget gate (lb = 0: logσ)
 *   oneMinusExp y = 1 − eˣ                                        HGRN2 key tied to 1 − f (from g = log f)
 *   negExp      y = −eˣ                                           Mamba2 A = −exp(A_log)
 *   scale       y = c·x                                           β × 2 for the [−1, 1] eigenvalue range; × 0 for a constant η
 *   one         y = 1                                             the all-ones value column of the mLSTM normaliser
 *   absMax1     y = max(|x|, 1)                                   the mLSTM denominator max(|nᵀq|, 1)
 * (ReLU, the feature map, is a core entry.) Importing this module registers them; apply one with
 * `unary(name, x, label, c)` from engine/ops.
 */
import { registerUnary, type UnaryFn } from '../ops/unary';
import { f as lit } from '../ops/wgsl';

const softplus = (x: number) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
const sig = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
const WSP = 'fn sp(x: f32) -> f32 { return max(x, 0.0) + log(1.0 + exp(-abs(x))); }\nfn sg(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }';

export const GATES = {
  logsigmoid: {
    constant: { meaning: 'temperature τ', default: 1, check: (t) => (t > 0 ? null : `the temperature τ must be positive, got ${t}`) },
    f: (x, t) => -softplus(-x) / t,
    df: (x, t) => sig(-x) / t,
    helpers: WSP,
    wf: (t) => `return -sp(-x) / ${t};`,
    wdf: (t) => `return sg(-x) / ${t};`,
  },
  hgrn2: {
    // d/dx [softplus(L − x) − softplus(−x)] = σ(−x) − σ(L − x), L = log lb; lb ≤ 0 is plain logσ (L = −∞).
    constant: { meaning: 'lower bound lb', default: 0, check: (lb) => (lb < 1 ? null : `the lower bound must be below 1, got ${lb}`) },
    f: (x, lb) => (lb > 0 ? softplus(Math.log(lb) - x) : 0) - softplus(-x),
    df: (x, lb) => sig(-x) - (lb > 0 ? sig(Math.log(lb) - x) : 0),
    helpers: WSP,
    wf: (_c, lb) => (lb > 0 ? `return sp(${lit(Math.log(lb))} - x) - sp(-x);` : 'return -sp(-x);'),
    wdf: (_c, lb) => (lb > 0 ? `return sg(-x) - sg(${lit(Math.log(lb))} - x);` : 'return sg(-x);'),
  },
  oneMinusExp: { f: (x) => 1 - Math.exp(x), df: (x) => -Math.exp(x), wf: 'return 1.0 - exp(x);', wdf: 'return -exp(x);' },
  negExp: { f: (x) => -Math.exp(x), df: (x) => -Math.exp(x), wf: 'return -exp(x);', wdf: 'return -exp(x);' },
  scale: {
    constant: { meaning: 'scale c', default: 1 },
    f: (x, c) => c * x,
    df: (_x, c) => c,
    wf: (c) => `return ${c} * x;`,
    wdf: (c) => `return ${c};`,
  },
  one: { f: () => 1, df: () => 0, wf: 'return 1.0;', wdf: 'return 0.0;' },
  absMax1: {
    f: (x) => Math.max(Math.abs(x), 1),
    df: (x) => (Math.abs(x) > 1 ? Math.sign(x) : 0),
    wf: 'return max(abs(x), 1.0);',
    wdf: 'return select(0.0, sign(x), abs(x) > 1.0);',
  },
} satisfies Record<string, UnaryFn>;

export type GateFn = keyof typeof GATES;

for (const [name, fn] of Object.entries(GATES)) registerUnary(name, fn);
