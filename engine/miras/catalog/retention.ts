/**
 * Retention gates: how the memory forgets (Miras knob iii). Every gate is written as a closed form
 * W_t = R(W_{t−1}, U_t) where U_t is the learner's step (η_t ∇ℓ for one GD step, −momentum for Titans).
 * Multiplicative decays arrive as natural-log gates (fla convention): α_t = exp(g_t).
 */
import { z } from 'zod';
import type { CatalogEntry, Requirement } from './types';

const PARAMETRIC = ['matrix', 'vector', 'mlp'] as const;
const LINEAR_STATE = ['matrix', 'vector'] as const;
const GRADIENT_LEARNERS = ['gd', 'momentum', 'multistep', 'chunk'] as const;

/** A non-linear retention map: acts on memory weights and has no closed-form implicit step. */
const nonLinearMap = (what: string): Requirement[] => [
  { axis: 'memory', kinds: PARAMETRIC, why: what },
  { axis: 'learner', kinds: GRADIENT_LEARNERS, why: 'the implicit step has a closed form only for quadratic retention' },
];

export const RETENTION: CatalogEntry[] = [
  {
    axis: 'retention',
    kind: 'none',
    label: 'None',
    summary: 'Only the local proximity term: W_t = W_{t−1} − U_t (DeltaNet, TTT, Longhorn, linear attention).',
    params: z.object({}),
    math: 'Ret_t = (1/2η_t)‖W − W_{t−1}‖² ⇒ W_t = W_{t−1} − U_t.',
    derivative: '∂W_t/∂W_{t−1} = I − ∂U_t/∂W_{t−1}.',
    citation: 'Miras (arXiv 2504.13173) §3.2, Eq. 5 (Learning–Retaining with D = ½‖·‖², G = 0).',
    usedBy: ['linear attention', 'DeltaNet', 'TTT', 'Longhorn', 'softmax attention'],
    inputs: [],
    requires: [],
  },
  {
    axis: 'retention',
    kind: 'constant',
    label: 'Constant decay per head (RetNet)',
    summary: 'A fixed γ_h per head: W_t = γ_h W_{t−1} − U_t; γ_h = 1 − 2^{−5−h}.',
    params: z.object({
      schedule: z.enum(['retnet', 'fixed']).default('retnet').meta({ help: 'retnet: γ_h = 1 − 2^{−base−h} for head h = 0..H−1; fixed: every head uses γ.' }),
      base: z.number().min(0).max(16).default(5).meta({ help: 'Exponent offset of the RetNet schedule (5 in RetNet).' }),
      gamma: z.number().min(0).max(1).default(0.9).meta({ help: 'γ for the fixed schedule.' }),
      gradientAt: z.enum(['decayed', 'previous']).default('decayed').meta({
        help: 'Where the bias gradient is taken: decayed = at α_t W_{t−1} (fla/Gated DeltaNet: S_t = α_t(I − βkkᵀ)S_{t−1} + βkvᵀ); previous = at W_{t−1} (Titans/Miras Eq. 5: W_t = α_t W_{t−1} − η∇ℓ(W_{t−1})). Irrelevant for the dot-product bias.',
      }),
    }),
    math: 'W_t = γ_h W_{t−1} − U_t, γ_h = 1 − 2^{−base−h} (RetNet: base = 5); U_t = η_t∇ℓ at γ_h W_{t−1} (gradientAt = decayed) or at W_{t−1}.',
    derivative: '∂W_t/∂W_{t−1} = γ_h I − ∂U_t/∂W_{t−1}; γ is not learned.',
    citation: 'Sun et al. 2023, RetNet (arXiv 2307.08621) Eq. 6 and §2.2 (γ = 1 − 2^{−5−arange(h)}); fla/ops/retention/naive.py.',
    usedBy: ['RetNet'],
    inputs: [],
    requires: [{ axis: 'memory', kinds: PARAMETRIC, why: 'a decay multiplies memory weights; the non-parametric memory forgets with a window instead' }],
  },
  {
    axis: 'retention',
    kind: 'scalar',
    label: 'Data-dependent scalar decay',
    summary: 'α_t ∈ (0,1) per head and token: W_t = α_t W_{t−1} − U_t (Mamba2, Gated DeltaNet, mLSTM).',
    params: z.object({
      parametrization: z.enum(['mamba2', 'gated-deltanet', 'sigmoid']).default('gated-deltanet').meta({
        help:
          'mamba2: g = −exp(A_log)·Δ with Δ = softplus(W_Δ x + dt_bias), and the same Δ is the write strength (η_t = Δ_t); ' +
          'gated-deltanet: g = −exp(A_log)·softplus(W_a x + dt_bias) with an independent β; sigmoid: α = σ(W_f x) (mLSTM forget gate, Titans 1 − α).',
      }),
      aInitMin: z.number().positive().max(64).default(1).meta({ help: 'A = exp(A_log) is initialised uniformly in [aInitMin, aInitMax] (Mamba2: [1, 16]).' }),
      aInitMax: z.number().positive().max(64).default(16).meta({ help: 'Upper end of the A initialisation range.' }),
      dtMin: z.number().positive().max(1).default(0.001).meta({ help: 'softplus(dt_bias) is initialised log-uniformly in [dtMin, dtMax] (Mamba2: [1e-3, 0.1]).' }),
      dtMax: z.number().positive().max(1).default(0.1).meta({ help: 'Upper end of the Δ initialisation range.' }),
      gradientAt: z.enum(['decayed', 'previous']).default('decayed').meta({
        help: 'Where the bias gradient is taken: decayed = at α_t W_{t−1} (fla/Gated DeltaNet: S_t = α_t(I − βkkᵀ)S_{t−1} + βkvᵀ); previous = at W_{t−1} (Titans/Miras Eq. 5: W_t = α_t W_{t−1} − η∇ℓ(W_{t−1})). Irrelevant for the dot-product bias.',
      }),
    }),
    math: 'W_t = α_t W_{t−1} − U_t with α_t = exp(g_t); mamba2/gated-deltanet: g_t = −exp(A_log)·softplus(w_aᵀx_t + dt_bias). With gradientAt = decayed (fla), U_t = η_t∇ℓ(α_t W_{t−1}): Gated DeltaNet S_t = α_t(I − β_t k_t k_tᵀ)S_{t−1} + β_t k_t v_tᵀ.',
    derivative: '∂W_t/∂W_{t−1} = α_t I − ∂U_t/∂W_{t−1}; ∂W_t/∂g_t = α_t W_{t−1}.',
    citation:
      'Dao & Gu 2024, Mamba2/SSD (arXiv 2405.21060) §3 and fla/layers/mamba2.py L120-232; Yang et al. 2024, Gated DeltaNet (arXiv 2412.06464) Eq. 10, fla gated_delta_rule/gate.py naive_gdn_gate.',
    usedBy: ['Mamba2', 'Gated DeltaNet', 'DeltaProduct (gated)', 'mLSTM'],
    inputs: ['g (log decay, [B,T,H])'],
    requires: [{ axis: 'memory', kinds: PARAMETRIC, why: 'a decay multiplies memory weights; the non-parametric memory forgets with a window instead' }],
  },
  {
    axis: 'retention',
    kind: 'channel',
    label: 'Channel-wise data-dependent decay',
    summary: 'α_t ∈ (0,1)^{dk}: S_t = Diag(α_t) S_{t−1} − U_t (GLA, HGRN2).',
    params: z.object({
      parametrization: z.enum(['gla', 'hgrn2']).default('gla').meta({
        help: 'gla: log α = logsigmoid(x W_1 W_2 + b)/τ (low rank); hgrn2: α = lb + (1 − lb)σ(W_f x) with a layer-wise lower bound lb, and the key is tied to 1 − α.',
      }),
      temperature: z.number().min(1).max(64).default(16).meta({ help: 'τ dividing the GLA log-sigmoid gate (16 in GLA).' }),
      lowerBound: z.number().min(0).max(0.999).default(0).meta({ help: 'HGRN2 forget-gate lower bound lb for this layer (grows with depth; 0 in the first layer).' }),
      gradientAt: z.enum(['decayed', 'previous']).default('decayed').meta({
        help: 'Where the bias gradient is taken: decayed = at α_t W_{t−1} (fla/Gated DeltaNet: S_t = α_t(I − βkkᵀ)S_{t−1} + βkvᵀ); previous = at W_{t−1} (Titans/Miras Eq. 5: W_t = α_t W_{t−1} − η∇ℓ(W_{t−1})). Irrelevant for the dot-product bias.',
      }),
    }),
    math: 'S_t = Diag(α_t) S_{t−1} − U_t, α_t = exp(g_t) ∈ (0,1)^{dk} (decay on the key channels).',
    derivative: '∂S_t/∂S_{t−1} = Diag(α_t) − ∂U_t/∂S_{t−1}; ∂S_t[n,:]/∂g_t[n] = α_t[n] S_{t−1}[n,:].',
    citation:
      'Yang et al. 2023, GLA (arXiv 2312.06635) Eq. 3 and fla/layers/gla.py L79-94; Qin et al. 2024, HGRN2 (arXiv 2404.07904) Eq. 5 and fla/layers/hgrn2.py.',
    usedBy: ['GLA', 'HGRN2', 'RWKV-6/7 (channel-wise decay)'],
    inputs: ['g (log decay per key channel, [B,T,H,dk])'],
    requires: [{ axis: 'memory', kinds: LINEAR_STATE, why: 'a per-key-channel decay needs a state with key channels (matrix or vector memory)' }],
  },
  {
    axis: 'retention',
    kind: 'l2',
    label: 'ℓ2 local + global (Titans, Yaad)',
    summary: 'Proximity to W_{t−1} plus weight decay on W: W_t = α_t W_{t−1} − U_t, α_t = β/(β + η) data-dependent.',
    params: z.object({
      coupled: z.boolean().default(false).meta({
        help: 'true: the exact proximal closed form also scales the step, W_t = λ_t(W_{t−1} − U_t); false: Titans/Yaad, W_t = (1 − a_t)W_{t−1} − U_t with decoupled η.',
      }),
      gradientAt: z.enum(['decayed', 'previous']).default('previous').meta({
        help: 'Where the bias gradient is taken: decayed = at α_t W_{t−1} (fla/Gated DeltaNet: S_t = α_t(I − βkkᵀ)S_{t−1} + βkvᵀ); previous = at W_{t−1} (Titans/Miras Eq. 5: W_t = α_t W_{t−1} − η∇ℓ(W_{t−1})). Irrelevant for the dot-product bias.',
      }),
    }),
    math:
      'Ret_t = (1/2η_t)‖W − W_{t−1}‖² + (1/2β_t)‖W‖² ⇒ W_t = λ_t W_{t−1} − λ_t η_t ∇ with λ_t = β_t/(β_t + η_t); ' +
      'Titans writes M_t = (1 − a_t)M_{t−1} − θ_t∇ (λ_t = 1 − a_t = exp(g_t)).',
    derivative: '∂W_t/∂W_{t−1} = λ_t I − (λ_t)∂U_t/∂W_{t−1}; ∂W_t/∂g_t = λ_t W_{t−1} (and λ_t U_t when coupled).',
    citation: 'Miras (arXiv 2504.13173) §4.2 (ℓ2 local and global retention); Titans (arXiv 2501.00663) Eq. 13; Yaad, Miras §5.2 Eq. 26.',
    usedBy: ['Titans', 'Yaad', 'Moneta (global term)'],
    inputs: ['g (log of λ_t = 1 − a_t, [B,T,H])'],
    requires: [{ axis: 'memory', kinds: PARAMETRIC, why: 'weight decay needs memory weights' }],
  },
  {
    axis: 'retention',
    kind: 'elastic',
    label: 'Elastic net (soft thresholding)',
    summary: 'ℓ2 + ℓ1 retention: W_t = S_γ(λ_t W_{t−1} − U_t), hard and soft forgetting.',
    params: z.object({
      threshold: z.number().min(0).max(10).default(0.001).meta({ help: 'Soft-threshold γ = ηβ/(α(η+β)): entries with |z| ≤ γ are forgotten exactly.' }),
      surrogate: z.enum(['exact', 'smooth']).default('exact').meta({
        help: 'exact: S_γ(z) = sign(z)·max(0, |z| − γ) (subgradient 0 inside); smooth: |z|·arctan(z/γ)/(π/2) as in the Miras remark.',
      }),
      decay: z.boolean().default(true).meta({ help: 'Also apply the data-dependent ℓ2 factor λ_t = exp(g_t) (input `g`); off: λ = 1.' }),
    }),
    math: 'Ret_t = (1/2η)‖W − W_{t−1}‖² + (1/2β)‖W‖² + (1/α)‖W‖₁ ⇒ W_t = S_γ(λ_t W_{t−1} − U_t), S_γ(z) = sign(z)·max(0, |z| − γ).',
    derivative: 'exact: ∂S_γ/∂z = 1[|z| > γ]; smooth: ∂/∂z [|z|·(2/π)arctan(z/γ)] = (2/π)(sign(z) arctan(z/γ) + |z|γ/(γ² + z²)).',
    citation: 'Miras (arXiv 2504.13173) §4.2 Eq. 22-23 (elastic net: hard and soft forgetting).',
    usedBy: ['Miras ablations'],
    inputs: ['g (log λ_t, [B,T,H], when decay is on)'],
    requires: nonLinearMap('soft thresholding acts on memory weights'),
  },
  {
    axis: 'retention',
    kind: 'lq',
    label: 'ℓq normalisation (Moneta)',
    summary: 'FTRL with R = ‖W‖_q²/(2(q−1)): accumulate A_t linearly, read W_t = A_t/‖A_t‖_q^{q−2}.',
    params: z.object({
      q: z.number().min(1.1).max(8).default(4).meta({ help: 'Norm exponent q (Moneta uses 4). q = 2 is plain accumulation.' }),
      form: z.enum(['aryateja', 'mlm', 'mirror']).default('aryateja').meta({
        help: 'Sources disagree: aryateja W = A/‖A‖_q^{q−2}; mlm W = A/‖A‖_q^{(q−2)/q}; mirror W = sign(A)|A|^{p−1}/‖A‖_p^{p−2}, p = q/(q−1).',
      }),
      eps: z.number().min(1e-12).max(1e-2).default(1e-6).meta({ help: 'ε inside the norm, ‖A‖_q = (Σ (A² + ε)^{q/2})^{1/q}, so A = 0 is well-defined.' }),
      decay: z.boolean().default(true).meta({ help: 'Accumulate with the data-dependent decay A_t = α_t A_{t−1} − U_t (input `g`); off: α = 1.' }),
    }),
    math: 'A_t = α_t A_{t−1} − η_t ∇ℓ(W_{t−1}; k_t, v_t); W_t = A_t / ‖A_t‖_q^{q−2} (whole matrix per head; per weight matrix for MLP memory).',
    derivative: 'W = A·n^{−(q−2)}, n = ‖A‖_q: ∂W/∂A = n^{−(q−2)} [I − (q − 2) A (|A|^{q−1} sign A)ᵀ / n^q].',
    citation: 'Miras (arXiv 2504.13173) §4.2 (ℓq memory stability) and §5.1 Moneta (q = 4).',
    usedBy: ['Moneta'],
    inputs: ['g (log α_t, [B,T,H], when decay is on)'],
    requires: nonLinearMap('the ℓq normalisation rescales memory weights'),
    unverified: 'The exponent of the normalisation (q − 2, (q − 2)/q, or the exact mirror map) differs between transcriptions; `form` selects it.',
  },
  {
    axis: 'retention',
    kind: 'kl',
    label: 'KL / softmax on the simplex (Memora)',
    summary: 'Memory stays a probability table: W_t = c·softmax(α_t log W_{t−1} − U_t). Needs a positive initial memory.',
    params: z.object({
      axis: z.enum(['key', 'value', 'all']).default('key').meta({
        help: 'Softmax slice: key = over the key/input index for each output (each row of M = W sums to c); value = over outputs; all = whole matrix.',
      }),
      scale: z.number().positive().max(1e4).default(1).meta({ help: 'Simplex scale c (‖W‖₁ = c per slice).' }),
      decay: z.boolean().default(true).meta({ help: 'Use α_t = exp(g_t) on log W_{t−1} (input `g`); off: α = 1.' }),
    }),
    math:
      'Ret_t = (1/η_t)Σ W log(W/W_{t−1}) + (1/α_t)Σ W log W on 𝒲 = {W ≥ 0, ‖W‖₁ = c} ⇒ W_t = c·Softmax(α_t log W_{t−1} − U_t).',
    derivative: 'Z = α log W − U, W = c·softmax(Z): ∂W/∂Z = diag(W) − W Wᵀ/c per slice; ∂Z/∂W_{t−1} = α/W_{t−1}.',
    citation: 'Miras (arXiv 2504.13173) §4.2 Eq. 19-21 (KL retention) and §5.3 Eq. 27 (Memora).',
    usedBy: ['Memora'],
    inputs: ['g (log α_t, [B,T,H], when decay is on)'],
    requires: nonLinearMap('KL retention keeps memory weights on the simplex'),
    unverified: 'The softmax slice for matrix and MLP memories is loosely specified in the paper; `axis` selects it. The scale c is omitted in Eq. 27.',
  },
];
