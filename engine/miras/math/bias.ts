/**
 * Attentional-bias math for codegen: g = ∂ℓ/∂y as a function of the error e = M(k) − v, and its
 * vector–Jacobian product de = (∂g/∂e)ᵀ dg, written once as WGSL-syntax expressions (engine/miras/math/expr.ts)
 * that the fused kernel pastes in and the float64 mirror compiles to JS.
 *
 * A bias acts on one "group" of errors: the d_v-vector e of a matrix memory, or one row of a vector memory.
 * Norm-based biases need sums over the group: `fwdSums` (of e) are available to `g` as r0, r1, ...;
 * `bwdSums` (of e, dg and r*) are available to `de` and `ddelta` as s0, s1, ....
 * Variables: e (error element), dg (upstream grad of g), dl (the threshold δ: a data tensor or a constant).
 * Equations: Miras (arXiv 2504.13173) §4.1 Eq. 7-17; smooth surrogates per the Miras remark
 * (|x| ≈ √(x² + ε), sign(x) ≈ tanh(a x)).
 */
import type { Params } from '../../spec';
import { lit } from './expr';

export interface BiasMath {
  kind: string;
  /** Human formula for kernel header comments. */
  formula: string;
  /** dot-product bias: g = −v, independent of the memory (additive write). */
  hebbian: boolean;
  /** 'data' reads the per-token tensor `delta` [B,T,H]; 'const' bakes dl; null: no threshold. */
  delta: 'data' | 'const' | null;
  deltaValue: number;
  fwdSums: string[];
  g: string;
  bwdSums: string[];
  de: string;
  /** Per-element contribution to ∂/∂δ (summed over the group); '0.0' when δ is not an input. */
  ddelta: string;
}

const num = (p: Params, k: string, d: number): number => (typeof p[k] === 'number' ? (p[k] as number) : d);
const str = (p: Params, k: string, d: string): string => (typeof p[k] === 'string' ? (p[k] as string) : d);

export function biasMath(kind: string, params: Params = {}): BiasMath {
  const base: Pick<BiasMath, 'kind' | 'hebbian' | 'delta' | 'deltaValue' | 'fwdSums' | 'bwdSums' | 'ddelta'> = {
    kind,
    hebbian: false,
    delta: null,
    deltaValue: 0,
    fwdSums: [],
    bwdSums: [],
    ddelta: '0.0',
  };
  switch (kind) {
    case 'dot':
      return { ...base, formula: 'ℓ = −⟨Wk, v⟩, g = −v', hebbian: true, g: '0.0', de: '0.0' };
    case 'l2':
      return { ...base, formula: 'ℓ = ½‖e‖², g = e', g: 'e', de: 'dg' };
    case 'lp': {
      const p = num(params, 'p', 3);
      const eps = num(params, 'eps', 1e-6);
      const P = lit(p);
      const E = lit(eps);
      return {
        ...base,
        formula: `ℓ = Σ (e² + ε)^{p/2}, p = ${p}, ε = ${eps}; g = p e (e² + ε)^{p/2−1}`,
        g: `${P} * e * pow(e * e + ${E}, ${lit(p / 2 - 1)})`,
        de: `dg * ${P} * pow(e * e + ${E}, ${lit(p / 2 - 2)}) * (${lit(p - 1)} * e * e + ${E})`,
      };
    }
    case 'l1': {
      const a = num(params, 'sharpness', 10);
      if (a === 0) return { ...base, formula: 'ℓ = ‖e‖₁, g = sign(e)', g: 'sign(e)', de: '0.0' };
      const A = lit(a);
      return {
        ...base,
        formula: `ℓ = ‖e‖₁ ≈ Σ log cosh(a e)/a, a = ${a}; g = tanh(a e)`,
        g: `tanh(${A} * e)`,
        de: `dg * ${A} * (1.0 - tanh(${A} * e) * tanh(${A} * e))`,
      };
    }
    case 'huber': {
      const variant = str(params, 'variant', 'switch');
      const data = str(params, 'delta', 'data') === 'data';
      const deltaValue = num(params, 'deltaValue', 1);
      const d = data ? 'dl' : lit(deltaValue);
      const h = { ...base, delta: data ? ('data' as const) : ('const' as const), deltaValue };
      if (variant === 'coordinate') {
        return {
          ...h,
          formula: 'Huber per coordinate: g_j = clamp(e_j, −δ, δ) (Eq. 13-14)',
          g: `clamp(e, -${d}, ${d})`,
          de: `select(0.0, dg, abs(e) <= ${d})`,
          ddelta: data ? `select(sign(e) * dg, 0.0, abs(e) <= ${d})` : '0.0',
        };
      }
      if (variant === 'norm') {
        return {
          ...h,
          formula: 'Huber on ‖e‖: g = e if ‖e‖ ≤ δ else δ e/‖e‖ (Eq. 15)',
          fwdSums: ['e * e'],
          g: `select(${d} * e / sqrt(r0), e, r0 <= ${d} * ${d})`,
          bwdSums: ['e * dg'],
          de: `select(${d} / sqrt(r0) * (dg - e * s0 / r0), dg, r0 <= ${d} * ${d})`,
          ddelta: data ? `select(e * dg / sqrt(r0), 0.0, r0 <= ${d} * ${d})` : '0.0',
        };
      }
      if (variant === 'switch') {
        return {
          ...h,
          formula: 'Yaad ℓ2/ℓ1 switch: g = e if ‖e‖ ≤ δ else δ sign(e) (Eq. 16, 26)',
          fwdSums: ['e * e'],
          g: `select(${d} * sign(e), e, r0 <= ${d} * ${d})`,
          de: `select(0.0, dg, r0 <= ${d} * ${d})`,
          ddelta: data ? `select(sign(e) * dg, 0.0, r0 <= ${d} * ${d})` : '0.0',
        };
      }
      throw new Error(`huber bias: unknown variant "${variant}" (coordinate, norm or switch)`);
    }
    case 'robust': {
      const D = lit(num(params, 'shift', 0.1));
      const E = lit(num(params, 'eps', 1e-6));
      return {
        ...base,
        formula: 'robust to value shift: g = e + Δ e/√(‖e‖² + ε) (Eq. 17)',
        fwdSums: ['e * e'],
        g: `e + ${D} * e / sqrt(r0 + ${E})`,
        bwdSums: ['e * dg'],
        de: `dg + ${D} * (dg / sqrt(r0 + ${E}) - e * s0 / ((r0 + ${E}) * sqrt(r0 + ${E})))`,
      };
    }
    default:
      throw new Error(`the fused recurrent kernel has no math for attentional bias "${kind}" (dot, l2, lp, l1, huber, robust)`);
  }
}
