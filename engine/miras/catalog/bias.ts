/** Attentional biases: the memory's inner objective ℓ(W; k, v) (Miras knob ii). e = M(k) − v, g = ∂ℓ/∂y. */
import { z } from 'zod';
import type { CatalogEntry } from './types';

import type { Requirement } from './types';

const GRADIENT_LEARNERS = ['gd', 'momentum', 'multistep', 'chunk'] as const;
const PARAMETRIC = ['matrix', 'vector', 'mlp'] as const;

/** A non-quadratic objective: minimised by gradient steps on memory weights, no closed-form step. */
const nonQuadratic = (name: string): Requirement[] => [
  { axis: 'memory', kinds: PARAMETRIC, why: `the ${name} objective is minimised by gradient steps on memory weights` },
  { axis: 'learner', kinds: GRADIENT_LEARNERS, why: 'a non-quadratic bias has no closed-form (implicit) step; it needs a gradient-based learner' },
];

export const BIAS: CatalogEntry[] = [
  {
    axis: 'bias',
    kind: 'dot',
    label: 'Dot-product (Hebbian)',
    summary: 'ℓ = −⟨M(k), v⟩: write v at k, never correct (linear attention, RetNet, GLA, Mamba2, mLSTM).',
    params: z.object({}),
    math: 'ℓ(W; k, v) = −⟨M(k), v⟩; matrix step S_t = α_t S_{t−1} + η_t k_t v_tᵀ.',
    derivative: 'g = ∂ℓ/∂y = −v (independent of the memory: the update is additive, ∂g/∂e = 0).',
    citation: 'Miras (arXiv 2504.13173) §4.1, Eq. 6 (dot-product similarity; Hebbian rule); Katharopoulos et al. 2020.',
    usedBy: ['linear attention', 'RetNet', 'GLA', 'Mamba2', 'HGRN2', 'mLSTM'],
    inputs: ['beta (write strength η_t, optional: 1 when absent)'],
    requires: [{ axis: 'memory', kinds: PARAMETRIC, why: 'a non-parametric memory has no weights to write into' }],
  },
  {
    axis: 'bias',
    kind: 'l2',
    label: 'ℓ2 regression (delta rule)',
    summary: 'ℓ = ½‖M(k) − v‖²: error-correcting writes (DeltaNet, Gated DeltaNet, TTT, Titans, Longhorn, Memora).',
    params: z.object({}),
    math: 'ℓ = ½‖e‖², e = M(k) − v; matrix step S_t = S_{t−1} − η_t k_t (S_{t−1}ᵀk_t − v_t)ᵀ = (I − η_t k_t k_tᵀ) S_{t−1} + η_t k_t v_tᵀ.',
    derivative: 'g = e; ∂g/∂e = I.',
    citation: 'Miras (arXiv 2504.13173) §4.1 Eq. 7 (Miras writes ‖e‖², the factor 2 folds into η); Schlag et al. 2021; Yang et al. 2024, DeltaNet (arXiv 2406.06484) Eq. 2.',
    usedBy: ['DeltaNet', 'Gated DeltaNet', 'DeltaProduct', 'Longhorn', 'TTT', 'Titans', 'Memora', 'softmax attention (non-parametric)'],
    inputs: ['beta (learning rate η_t)'],
    requires: [],
  },
  {
    axis: 'bias',
    kind: 'lp',
    label: 'ℓp regression (Moneta)',
    summary: 'ℓ = ‖M(k) − v‖_p^p with p > 1; p = 3 in Moneta. Smooth |·| surrogate for gradients.',
    params: z.object({
      p: z.number().min(1.1).max(8).default(3).meta({ help: 'Exponent p of the ℓp loss (Moneta uses 3). p = 2 is twice the ℓ2 loss.' }),
      eps: z.number().min(0).max(1e-2).default(1e-6).meta({ help: 'Smoothing ε in |e| ≈ √(e² + ε), so the gradient is differentiable at e = 0.' }),
    }),
    math: 'ℓ = Σ_j (e_j² + ε)^{p/2} ≈ ‖e‖_p^p; matrix step S_t = α_t S_{t−1} − η_t p k_t (sign(e) ⊙ |e|^{p−1})ᵀ.',
    derivative: 'g_j = p e_j (e_j² + ε)^{p/2 − 1} → p sign(e_j)|e_j|^{p−1}; ∂g_j/∂e_j = p (e_j² + ε)^{p/2−2} ((p − 1) e_j² + ε) → p(p−1)|e_j|^{p−2}.',
    citation: 'Miras (arXiv 2504.13173) §4.1 Eq. 10-11 (ℓp attentional bias) and §5.1 (Moneta, p = 3).',
    usedBy: ['Moneta'],
    inputs: ['beta (learning rate η_t)'],
    requires: nonQuadratic('ℓp'),
    unverified: 'The smoothing form of |x| (√(x²+ε), ε = 1e-6) is a transcription of the Miras remark; ε is a parameter.',
  },
  {
    axis: 'bias',
    kind: 'l1',
    label: 'ℓ1 (value-less memory)',
    summary: 'ℓ = ‖M(k) − v‖₁: sign-of-error writes; tanh surrogate for sign.',
    params: z.object({
      sharpness: z.number().min(0).max(1000).default(10).meta({ help: 'sign(e) ≈ tanh(a·e) with this a; 0 uses the exact sign (zero second derivative).' }),
    }),
    math: 'ℓ = Σ_j |e_j| ≈ Σ_j log cosh(a e_j)/a; matrix step S_t = α_t S_{t−1} − η_t k_t sign(e)ᵀ.',
    derivative: 'g = tanh(a e) (→ sign(e)); ∂g/∂e = a (1 − tanh²(a e)).',
    citation: 'Miras (arXiv 2504.13173) §4.1 Eq. 12 (ℓ1 / value-less memory) and the smooth-surrogate remark.',
    usedBy: ['Miras ablations'],
    inputs: ['beta (learning rate η_t)'],
    requires: nonQuadratic('ℓ1'),
    unverified: 'The surrogate sharpness a ≈ 10 comes from one transcription; it is a parameter.',
  },
  {
    axis: 'bias',
    kind: 'huber',
    label: 'Huber (robust)',
    summary: 'Quadratic near zero, linear beyond δ: coordinate-wise, norm-based, or Yaad\'s ℓ2/ℓ1 switch; fixed or data-dependent δ.',
    params: z.object({
      variant: z.enum(['coordinate', 'norm', 'switch']).default('switch').meta({
        help: 'coordinate: Σ_j H_δ(e_j) (Eq. 13-14); norm: H_δ(‖e‖₂) (Eq. 15); switch: ℓ2 if ‖e‖ ≤ δ else δ·ℓ1 (Yaad, Eq. 16).',
      }),
      delta: z.enum(['fixed', 'data']).default('data').meta({ help: 'fixed: δ is the constant below; data: δ_t is produced per token and head (input tensor `delta`).' }),
      deltaValue: z.number().positive().max(100).default(1).meta({ help: 'δ when fixed (ignored for data-dependent δ).' }),
    }),
    math:
      'H_δ(a) = ½a² if |a| ≤ δ else δ(|a| − ½δ). coordinate: ℓ = Σ_j H_δ(e_j); norm: ℓ = H_δ(‖e‖₂); ' +
      'switch (Yaad): S_t = α_t S_{t−1} − η_t k_t gᵀ with g = e if ‖e‖ ≤ δ_t, else δ_t sign(e).',
    derivative:
      'coordinate: g_j = clamp(e_j, −δ, δ), ∂g/∂e = 1[|e_j| ≤ δ]; norm: g = e if ‖e‖ ≤ δ else δ e/‖e‖ (∂g/∂e = δ(I − ê êᵀ)/‖e‖ outside); ' +
      'switch: g = e or δ sign(e); ∂g/∂δ = sign(e) or 0 outside/inside.',
    citation: 'Miras (arXiv 2504.13173) §4.1 Eq. 13-16 (Huber variants) and §5.2 Eq. 26 (Yaad).',
    usedBy: ['Yaad'],
    inputs: ['beta (learning rate η_t)', 'delta (threshold δ_t, when data-dependent)'],
    requires: nonQuadratic('Huber'),
  },
  {
    axis: 'bias',
    kind: 'robust',
    label: 'Robust to value shift (Δ)',
    summary: 'Worst case over ‖δv‖ ≤ Δ: ½‖e‖² + Δ‖e‖ + ½Δ².',
    params: z.object({
      shift: z.number().min(0).max(100).default(0.1).meta({ help: 'Radius Δ of the value perturbation the memory must be robust to.' }),
      eps: z.number().min(0).max(1e-2).default(1e-6).meta({ help: 'Smoothing ε in ‖e‖ ≈ √(‖e‖² + ε).' }),
    }),
    math: 'ℓ = max_{‖δv‖≤Δ} ½‖M(k) − (v + δv)‖² = ½‖e‖² + Δ‖e‖ + ½Δ²; matrix step S_t = α_t S_{t−1} − η_t k_t (e + Δ e/‖e‖)ᵀ.',
    derivative: 'g = e + Δ e/√(‖e‖² + ε); ∂g/∂e = I + Δ(I/n − e eᵀ/n³), n = √(‖e‖² + ε).',
    citation: 'Miras (arXiv 2504.13173) §4.1 Eq. 17 (robust to value shifts).',
    usedBy: ['Miras ablations'],
    inputs: ['beta (learning rate η_t)'],
    requires: nonQuadratic('robust'),
  },
];
