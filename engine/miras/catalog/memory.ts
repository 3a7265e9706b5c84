/** Memory architectures: what the memory is and how it is read (Miras knob i). */
import { z } from 'zod';
import type { CatalogEntry } from './types';

const int = (min: number, max: number) => z.number().int().min(min).max(max);

export const MEMORY: CatalogEntry[] = [
  {
    axis: 'memory',
    kind: 'matrix',
    label: 'Matrix (linear) memory',
    summary: 'One d_k × d_v matrix per head; read o = Sᵀq.',
    params: z.object({}),
    math: 'y = M(W, x) = W x with W ∈ R^{dv×dk}; stored as S = Wᵀ ∈ R^{dk×dv} (fla layout), read-out o_t = S_tᵀ q_t.',
    derivative: '∂ℓ/∂S = k gᵀ (rank one), g = ∂ℓ/∂y from the attentional bias; a chunk of b tokens gives Kᵀ diag(c) G, one matmul.',
    citation: 'Behrouz et al. 2025, "It\'s All Connected" (Miras, arXiv 2504.13173) §3, Eq. 4-5; Katharopoulos et al. 2020 (arXiv 2006.16236) Eq. 4.',
    usedBy: ['linear attention', 'RetNet', 'GLA', 'Mamba2', 'HGRN2', 'mLSTM', 'DeltaNet', 'Gated DeltaNet', 'DeltaProduct', 'TTT-Linear'],
    inputs: [],
    requires: [],
  },
  {
    axis: 'memory',
    kind: 'vector',
    label: 'Vector / diagonal memory',
    summary: 'Per-channel state: each key channel is its own scalar-keyed memory (Mamba-1, Longhorn).',
    params: z.object({}),
    math:
      'State S ∈ R^{dk×dv} whose rows are independent memories: row n predicts y_n = k_n S[n,:] from the scalar key k_n; ' +
      'ℓ = Σ_n ℓ(y_n; v). Read-out o_t = S_tᵀ q_t. With ℓ2 this gives the diagonal transition S ← (1 − η k⊙k) ⊙ S + η k vᵀ.',
    derivative: '∂ℓ/∂S[n,:] = k_n · g(y_n − v): every entry moves on its own (elementwise transition, no k kᵀ coupling).',
    citation: 'Gu & Dao 2023, Mamba (arXiv 2312.00752) Eq. 2a; Liu et al. 2024, Longhorn (arXiv 2407.14207) §3.2, models/longhorn.py step() (diagonal approximation).',
    usedBy: ['Mamba-1 (S6)', 'Longhorn (as shipped)'],
    inputs: [],
    requires: [],
  },
  {
    axis: 'memory',
    kind: 'mlp',
    label: 'Deep MLP memory',
    summary: 'k-layer MLP with GELU, residual and LayerNorm, trained in-context (Titans, TTT-MLP, Moneta/Yaad/Memora).',
    params: z.object({
      layers: int(1, 4).default(2).meta({ help: 'Number of linear layers L_M in the memory MLP (1 = a linear map inside residual + LayerNorm).', unit: 'layers' }),
      expansion: int(1, 8).default(4).meta({ help: 'Hidden width h = expansion × d_k of the inner layers.', unit: '×' }),
      activation: z.enum(['gelu', 'silu', 'relu']).default('gelu').meta({ help: 'σ between layers. GELU is the tanh approximation (gelu_tanh), as in TTT-MLP.' }),
      residual: z.boolean().default(true).meta({ help: 'M(x) = x + f(x): the residual of Titans/TTT-MLP; needs d_k = d_v.' }),
      layerNorm: z.boolean().default(true).meta({ help: 'LayerNorm (no affine) on the MLP output before the residual.' }),
    }),
    math:
      'M(x) = x + LN(W_1 σ(W_2 x)) for 2 layers (W_2 ∈ R^{h×d_k} up, W_1 ∈ R^{d_v×h} down, h = expansion·d_k, σ = GELU; the residual needs d_k = d_v); ' +
      'layers = L gives L linear maps with σ between them (the first reads d_k, the last writes d_v). Read-out o_t = M_t(q_t).',
    derivative:
      'Per-token backprop, rank one per layer: z1 = W_2 k, a = σ(z1), z2 = W_1 a, x̂ = (z2 − μ)/s, y = k + x̂; ' +
      '∂ℓ/∂z2 = (d·g − Σg − x̂·Σ(g⊙x̂))/(d·s); ∂ℓ/∂W_1 = (∂ℓ/∂z2) aᵀ; ∂ℓ/∂z1 = (W_1ᵀ ∂ℓ/∂z2) ⊙ σ\'(z1); ∂ℓ/∂W_2 = (∂ℓ/∂z1) kᵀ.',
    citation:
      'Behrouz et al. 2024, Titans (arXiv 2501.00663) §3.1; Sun et al. 2024, TTT (arXiv 2407.04620) §2.7 (TTT-MLP, ttt.py L1126-1165); Miras (arXiv 2504.13173) §5.',
    usedBy: ['Titans (LMM)', 'TTT-MLP', 'Moneta', 'Yaad', 'Memora'],
    inputs: ['W0_1 … W0_L (initial memory weights, [B,H,out,in])'],
    requires: [],
    unverified: 'Whether LayerNorm carries a learned affine inside the memory; here it has none (TTT keeps γ, β as outer parameters).',
  },
  {
    axis: 'memory',
    kind: 'attention',
    label: 'Non-parametric memory (softmax attention)',
    summary: 'Keeps every (k, v) pair; reads by the Nadaraya–Watson estimator. Optional sliding window.',
    params: z.object({
      window: int(0, 1 << 20).default(0).meta({ help: 'Sliding window: a query sees itself and window−1 previous tokens (hard retention). 0 = full causal.', unit: 'tokens' }),
    }),
    math:
      'M_t = M_{t−1} ∪ {(k_t, v_t)}; m(q) = argmin_m Σ_i s(k_i, q)‖v_i − m‖² = Σ_i softmax_i(qᵀk_i·scale) v_i, over i ∈ (t − window, t].',
    derivative: 'Softmax attention backward: dP = dO Vᵀ, dS = P ⊙ (dP − rowsum(dO ⊙ O)), dQ = dS K·scale, dK = dSᵀ Q·scale, dV = Pᵀ dO.',
    citation: 'Miras (arXiv 2504.13173) §3 (softmax attention as the non-parametric ℓ2 regression solution); Vaswani et al. 2017 (arXiv 1706.03762) Eq. 1.',
    usedBy: ['Transformer', 'sliding-window attention', 'hybrid layers'],
    inputs: [],
    requires: [
      { axis: 'bias', kinds: ['l2'], why: 'softmax attention is the closed-form (Nadaraya–Watson) solution of the ℓ2 objective; other biases have no such read-out' },
      { axis: 'retention', kinds: ['none'], why: 'a non-parametric memory keeps every pair; forgetting is the sliding window option of the memory itself' },
      { axis: 'learner', kinds: ['closed-form'], why: 'the non-parametric memory is solved exactly, not by gradient steps' },
    ],
  },
];
