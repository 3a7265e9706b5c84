/**
 * Retention-gate math for codegen. Every supported gate is W_t = post(λ ⊙ W_{t−1} − c·U_t):
 *   - λ: a multiplicative decay on the key rows, from nothing, a per-head constant, a per-token log gate g
 *     [B,T,H] or a per-key-channel log gate g [B,T,H,dk] (λ = exp g, fla convention);
 *   - c: 1, or λ itself for the coupled ℓ2 proximal form W_t = λ(W_{t−1} − U_t);
 *   - post: an elementwise map (identity, or the elastic-net soft threshold S_γ) with its derivative.
 * Post maps are WGSL-syntax expressions in z (see expr.ts) shared by the kernel and the float64 mirror.
 * Equations: Miras (arXiv 2504.13173) §4.2 (Eq. 22-23 elastic net); RetNet γ_h = 1 − 2^{−5−h}.
 */
import type { Params } from '../../spec';
import { lit } from './expr';

export type DecayKind = 'none' | 'constant' | 'scalar' | 'channel';

export interface PostMath {
  formula: string;
  /** z ↦ W */
  map: string;
  /** dW/dz */
  deriv: string;
}

/**
 * ℓq normalisation (Moneta): the carried state is the accumulator A and the memory read and differentiated is
 * W = N(A) = f(A) · n^{−expo}, n = (Σ term(A))^{1/pn}. Its VJP for an upstream v:
 *   dA = v ⊙ f'(A) · n^{−expo} − expo · n^{−expo−pn} · (Σ v ⊙ f(A)) · dterm(A),  dterm = ∂n^{pn}/∂A / pn.
 */
export interface NormMath {
  formula: string;
  pn: number;
  expo: number;
  /** per-entry term of n^{pn}, in a */
  term: string;
  /** f(a) and f'(a) */
  f: string;
  fd: string;
  /** (1/pn) ∂term/∂a */
  dterm: string;
}

export interface RetentionMath {
  kind: string;
  formula: string;
  decay: DecayKind;
  /** ℓq: the memory is N(A) of the carried accumulator (whole state per head). */
  norm?: NormMath;
  /**
   * KL (Memora): W_t = c·softmax_slice(λ log W_{t−1} − U_t) over slices of S ∈ R^{dk×dv}: 'key' = over the key
   * rows of one value column, 'value' = over the value columns of one key row, 'all' = the whole matrix.
   * VJP: dZ = W ⊙ (dW − Σ_slice dW ⊙ W / c); dW_{t−1} = λ dZ / W_{t−1}; dλ = Σ log W_{t−1} ⊙ dZ.
   */
  simplex?: { axis: 'key' | 'value' | 'all'; scale: number };
  /** Per-head constant λ_h (decay 'constant'). */
  gammas?: number[];
  /** λ also scales the step (coupled ℓ2 proximal form). */
  coupled: boolean;
  post: PostMath | null;
}

const num = (p: Params, k: string, d: number): number => (typeof p[k] === 'number' ? (p[k] as number) : d);

export function retentionMath(kind: string, params: Params, heads: number): RetentionMath {
  switch (kind) {
    case 'none':
      return { kind, formula: 'W_t = W_{t−1} − U_t', decay: 'none', coupled: false, post: null };
    case 'constant': {
      const fixed = params.schedule === 'fixed';
      const base = num(params, 'base', 5);
      const gamma = num(params, 'gamma', 0.9);
      const gammas = Array.from({ length: heads }, (_, h) => (fixed ? gamma : 1 - Math.pow(2, -base - h)));
      return { kind, formula: `W_t = γ_h W_{t−1} − U_t, γ = [${gammas.map((g) => g.toPrecision(6)).join(', ')}]`, decay: 'constant', gammas, coupled: false, post: null };
    }
    case 'scalar':
      return { kind, formula: 'W_t = exp(g_t) W_{t−1} − U_t', decay: 'scalar', coupled: false, post: null };
    case 'channel':
      return { kind, formula: 'S_t = Diag(exp(g_t)) S_{t−1} − U_t (key channels)', decay: 'channel', coupled: false, post: null };
    case 'l2': {
      const coupled = params.coupled === true;
      return {
        kind,
        formula: coupled ? 'W_t = λ_t (W_{t−1} − U_t), λ = exp(g_t)' : 'W_t = λ_t W_{t−1} − U_t, λ = exp(g_t)',
        decay: 'scalar',
        coupled,
        post: null,
      };
    }
    case 'elastic': {
      const G = num(params, 'threshold', 0.001);
      const smooth = params.surrogate === 'smooth';
      const decay: DecayKind = params.decay === false ? 'none' : 'scalar';
      const g = lit(G);
      if (smooth && G <= 0) throw new Error('elastic-net retention: the smooth surrogate needs threshold > 0');
      const post: PostMath = smooth
        ? {
            formula: `S_γ(z) ≈ |z|·atan(z/γ)/(π/2), γ = ${G}`,
            map: `abs(z) * atan(z / ${g}) * ${lit(2 / Math.PI)}`,
            deriv: `${lit(2 / Math.PI)} * (sign(z) * atan(z / ${g}) + abs(z) * ${g} / (${g} * ${g} + z * z))`,
          }
        : {
            formula: `S_γ(z) = sign(z)·max(0, |z| − γ), γ = ${G}`,
            map: `sign(z) * max(abs(z) - ${g}, 0.0)`,
            deriv: `select(0.0, 1.0, abs(z) > ${g})`,
          };
      return { kind, formula: `W_t = S_γ(λ_t W_{t−1} − U_t) (Eq. 22-23)`, decay, coupled: false, post };
    }
    case 'lq': {
      const q = num(params, 'q', 4);
      const eps = lit(num(params, 'eps', 1e-6));
      const form = typeof params.form === 'string' ? params.form : 'aryateja';
      const decay: DecayKind = params.decay === false ? 'none' : 'scalar';
      const mirror = form === 'mirror';
      const pn = mirror ? q / (q - 1) : q;
      const expo = mirror ? pn - 2 : form === 'mlm' ? (q - 2) / q : q - 2;
      const P = lit(pn);
      const norm: NormMath = {
        formula: mirror
          ? `W = sign(A)|A|^{p−1}/‖A‖_p^{p−2}, p = q/(q−1) = ${pn.toPrecision(4)}`
          : `W = A/‖A‖_q^{${form === 'mlm' ? '(q−2)/q' : 'q−2'}}, q = ${q}`,
        pn,
        expo,
        term: `pow(a * a + ${eps}, ${lit(pn / 2)})`,
        f: mirror ? `a * pow(a * a + ${eps}, ${lit((pn - 2) / 2)})` : 'a',
        fd: mirror ? `pow(a * a + ${eps}, ${lit((pn - 2) / 2)}) + ${lit(pn - 2)} * a * a * pow(a * a + ${eps}, ${lit((pn - 4) / 2)})` : '1.0',
        dterm: `a * pow(a * a + ${eps}, ${lit(pn / 2 - 1)})`,
      };
      void P;
      return { kind, formula: `A_t = α_t A_{t−1} − U_t, ${norm.formula} (Moneta, ℓq memory stability)`, decay, coupled: false, post: null, norm };
    }
    case 'kl': {
      const axis = params.axis === 'value' || params.axis === 'all' ? params.axis : 'key';
      const scale = num(params, 'scale', 1);
      const decay: DecayKind = params.decay === false ? 'none' : 'scalar';
      return {
        kind,
        formula: `W_t = ${scale}·softmax_${axis}(λ_t log W_{t−1} − U_t) (Memora, Eq. 19-21, 27)`,
        decay,
        coupled: false,
        post: null,
        simplex: { axis, scale },
      };
    }
    default:
      throw new Error(
        `the fused recurrent kernel has no math for retention gate "${kind}" yet (none, constant, scalar, channel, l2, elastic, lq, kl)`,
      );
  }
}
