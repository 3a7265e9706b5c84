/** Learning algorithms: how the inner argmin is approximated per token (Miras knob iv). */
import { z } from 'zod';
import type { CatalogEntry } from './types';

const int = (min: number, max: number) => z.number().int().min(min).max(max);
const PARAMETRIC = ['matrix', 'vector', 'mlp'] as const;
const LINEAR_STATE = ['matrix', 'vector'] as const;
const MULTIPLICATIVE = ['none', 'constant', 'scalar', 'channel', 'l2'] as const;

export const LEARNER: CatalogEntry[] = [
  {
    axis: 'learner',
    kind: 'gd',
    label: 'One GD step per token',
    summary: 'The exact recurrence: U_t = η_t ∇ℓ(W_{t−1}; k_t, v_t).',
    params: z.object({}),
    math: 'W_t = R(W_{t−1}, η_t ∇ℓ(W_{t−1}; k_t, v_t)), R = the retention closed form.',
    derivative: 'Backward is the reverse recurrence through R and through ∇ℓ (which needs ∂g/∂e for non-linear biases).',
    citation: 'Miras (arXiv 2504.13173) §3.2 Eq. 5 (one step of online gradient descent).',
    usedBy: ['DeltaNet', 'Gated DeltaNet', 'GLA', 'Mamba2', 'RetNet', 'Moneta', 'Yaad', 'Memora'],
    inputs: ['beta (η_t)'],
    requires: [{ axis: 'memory', kinds: PARAMETRIC, why: 'gradient steps need memory weights' }],
  },
  {
    axis: 'learner',
    kind: 'momentum',
    label: 'GD with momentum (Titans)',
    summary: 'Surprise with memory: S_t = η_t S_{t−1} − θ_t ∇ℓ; W_t = R(W_{t−1}, −S_t).',
    params: z.object({}),
    math: 'S_t = η_t S_{t−1} − θ_t ∇ℓ(M_{t−1}; k_t, v_t), S_0 = 0; M_t = (1 − α_t)M_{t−1} + S_t (Titans), generally M_t = R(M_{t−1}, −S_t). A learned initial state sets M_0 only: the momentum starts at zero.',
    derivative: 'Two coupled linear recurrences: ∂S_t/∂S_{t−1} = η_t I; the backward runs both in reverse.',
    citation: 'Behrouz et al. 2024, Titans (arXiv 2501.00663) Eq. 13-14; Miras (arXiv 2504.13173) §3.3.',
    usedBy: ['Titans'],
    inputs: ['beta (θ_t, the step size)', 'eta (momentum decay η_t ∈ (0,1), [B,T,H])'],
    requires: [{ axis: 'memory', kinds: PARAMETRIC, why: 'gradient steps need memory weights' }],
  },
  {
    axis: 'learner',
    kind: 'multistep',
    label: 'n_h GD steps per token (DeltaProduct)',
    summary: 'n_h sub-steps with their own (k, v, β) per token; decay once, read after the last.',
    params: z.object({
      steps: int(1, 8).default(2).meta({ help: 'Sub-steps n_h per token (DeltaProduct default 2). k, v, beta then have T·n_h positions.', unit: 'steps' }),
    }),
    math:
      'W ← R(W_{t−1}) decay once; for j = 1..n_h: W ← W − β_{t,j}∇ℓ(W; k_{t,j}, v_{t,j}); ' +
      'for ℓ2: A_t = Π_j (I − β_{t,j} k_{t,j}k_{t,j}ᵀ), o_t read after the last sub-step.',
    derivative: 'The reverse recurrence runs over the T·n_h sub-steps (the gate acts on sub-step 0, q on the last).',
    citation: 'Siems et al. 2025, DeltaProduct (arXiv 2502.10297) Eq. 4; fla/ops/gated_delta_product/naive.py.',
    usedBy: ['DeltaProduct', 'Gated DeltaProduct'],
    inputs: ['k, v, beta with T·n_h time positions (fla layout, sub-step j of token t at t·n_h + j)'],
    requires: [{ axis: 'memory', kinds: LINEAR_STATE, why: 'sub-step keys and values are produced per token for matrix or vector memories' }],
  },
  {
    axis: 'learner',
    kind: 'implicit',
    label: 'Implicit GD (Longhorn)',
    summary: 'Proximal step solved exactly: ε_t = β_t/(1 + β_t‖k_t‖²).',
    params: z.object({}),
    math:
      'S_t = argmin_S ‖S − α_t S_{t−1}‖² + β_t‖Sᵀk_t − v_t‖² ⇒ S_t = (I − ε_t k_t k_tᵀ) α_t S_{t−1} + ε_t k_t v_tᵀ, ε_t = β_t/(1 + β_t‖k_t‖²).',
    derivative: 'As the delta rule with step ε_t; ∂ε/∂β = 1/(1 + β‖k‖²)², ∂ε/∂k = −2β² k/(1 + β‖k‖²)².',
    citation: 'Liu et al. 2024, Longhorn (arXiv 2407.14207) Eq. 7-9; Cranial-XIX/longhorn models/longhorn.py step() L206-219.',
    usedBy: ['Longhorn'],
    inputs: ['beta (β_t; per head [B,T,H] or per value channel [B,T,H,dv])'],
    requires: [
      { axis: 'memory', kinds: LINEAR_STATE, why: 'the implicit step has a closed form only for a linear (matrix or vector) memory' },
      { axis: 'bias', kinds: ['l2'], why: 'the implicit step has a closed form only for the quadratic (ℓ2) bias' },
      { axis: 'retention', kinds: MULTIPLICATIVE, why: 'the implicit step has a closed form only for quadratic retention (a multiplicative decay)' },
    ],
  },
  {
    axis: 'learner',
    kind: 'chunk',
    label: 'Mini-batch (chunked) GD',
    summary: 'Gradients of a chunk of b tokens taken at the chunk-start memory (Titans, TTT, Miras training).',
    params: z.object({
      chunkSize: int(1, 512).default(16).meta({ help: 'Mini-batch size b (TTT: 16; Titans/Miras: 16 or 64). b = 1 is one GD step per token.', unit: 'tokens' }),
      lagToken: z.boolean().default(false).meta({ help: 'Memora\'s lag token: the first token of each chunk takes an exact step and the rest of the chunk is linearised around its result (the gradient anchor moves to after that token).' }),
    }),
    math:
      'For t in chunk [t′, t′ + b): W_t = R(W_{t−1}, η_t ∇ℓ(W_{t′}; k_t, v_t)) — every gradient at the chunk-start memory W_{t′}; ' +
      'for a decay: W_t = β_t W_{t′} − Σ_{i≤t} η_i (β_t/β_i) ∇ℓ(W_{t′}; x_i), β_t = Π_{j≤t} α_j (chunk-local). o_t = W_tᵀ q_t.',
    derivative: 'Within a chunk the state is linear in the gradients: the chunk-parallel form is linear attention on the per-token errors E_i (miras.md §3.7).',
    citation: 'Titans (arXiv 2501.00663) §3.2 (parallel training); Sun et al. 2024, TTT (arXiv 2407.04620) §2.4 (mini-batch GD); Miras (arXiv 2504.13173) §5 Eq. 28-29.',
    usedBy: ['TTT-Linear', 'TTT-MLP', 'Titans (training)', 'Moneta/Yaad/Memora (training)'],
    inputs: ['beta (η_t)'],
    requires: [{ axis: 'memory', kinds: PARAMETRIC, why: 'gradient steps need memory weights' }],
    unverified:
      'Which weights a query sees inside a chunk differs between implementations; here o_t reads the per-token W_t (Titans equations, TTT dual form). ' +
      'Non-linear retentions inside a chunk: ℓq and KL are linear in their own domain (the accumulator A; log W up to a per-slice constant that the softmax ignores), ' +
      'so applying N_q / softmax when reading is the same as applying it at the chunk boundary and reading the linearised state through it; ' +
      'elastic-net soft thresholding is applied every token.',
  },
  {
    axis: 'learner',
    kind: 'closed-form',
    label: 'Closed form (exact solve)',
    summary: 'No steps: the memory is the exact minimiser (softmax attention as Nadaraya–Watson).',
    params: z.object({}),
    math: 'M_t = argmin_M Σ_{i≤t} s(k_i, q) ‖v_i − M‖² solved in closed form at read time.',
    derivative: 'Backward of the closed-form read-out (softmax attention backward).',
    citation: 'Miras (arXiv 2504.13173) §3 (non-parametric memory) and §3.3 (learning algorithms).',
    usedBy: ['softmax attention'],
    inputs: [],
    requires: [{ axis: 'memory', kinds: ['attention'], why: 'only the non-parametric memory has an exact solve here (MesaNet-style linear solves are not in the catalog)' }],
  },
];
