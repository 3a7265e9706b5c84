/**
 * The Miras presets: known models written as four catalog choices plus block options, faithful to
 * the model table in /work/shared/reference/miras.md §2 (gate parametrisations, conv, norms, gates).
 * Presets are defined at any width: head counts and head dims follow each model's ratios
 * (expand_k/expand_v, head_dim) and shrink gracefully for the small models trained in the browser.
 * Each has a page in docs/presets/<name>.md.
 */
import type { Layer, MirasMixer, ModelSpec, Params, Preset } from '../spec';

/** Split `width` channels into heads of about `headDim` (at least 1 head, exact division). */
export function splitHeads(width: number, headDim: number): { heads: number; dim: number } {
  let heads = Math.max(1, Math.floor(width / headDim));
  while (heads > 1 && width % heads !== 0) heads--;
  return { heads, dim: Math.max(1, Math.floor(width / heads)) };
}

/** SwiGLU hidden width: 8/3·d rounded up to a multiple of 8 (the Llama recipe). */
export function swigluHidden(dModel: number): number {
  return Math.ceil((8 * dModel) / 3 / 8) * 8;
}

type Choice = { kind: string; params?: Params };
interface MixerDef {
  heads: number;
  headDimK: number;
  headDimV: number;
  memory: Choice;
  bias: Choice;
  retention: Choice;
  learner: Choice;
  block: Params;
}

function mixer(d: MixerDef): MirasMixer {
  const c = (x: Choice) => ({ kind: x.kind, params: x.params ?? {} });
  return {
    type: 'miras',
    heads: d.heads,
    headDimK: d.headDimK,
    headDimV: d.headDimV,
    memory: c(d.memory),
    bias: c(d.bias),
    retention: c(d.retention),
    learner: c(d.learner),
    block: d.block,
  };
}

function spec(opts: { vocabSize: number; dModel: number; nLayers: number }, layer: (i: number) => Layer): ModelSpec {
  return {
    vocabSize: opts.vocabSize,
    dModel: opts.dModel,
    norm: 'rmsnorm',
    normEps: 1e-5,
    tieEmbeddings: false,
    layers: Array.from({ length: opts.nLayers }, (_, i) => layer(i)),
  };
}

const swiglu = (dModel: number) => ({ type: 'swiglu' as const, hidden: swigluHidden(dModel) });

/** A preset whose every layer is the same Miras mixer (+ SwiGLU MLP unless the model has none). */
function uniform(
  meta: Omit<Preset, 'build'>,
  mixerFor: (dModel: number, layer: number, nLayers: number) => MixerDef,
  withMlp = true,
): Preset {
  return {
    ...meta,
    build: (o) => spec(o, (i) => ({ mixer: mixer(mixerFor(o.dModel, i, o.nLayers)), mlp: withMlp ? swiglu(o.dModel) : null })),
  };
}

// ---------------------------------------------------------------------------------------------
// Mixer definitions (shared by the pure and hybrid presets).

/** Gated DeltaNet: q, k conv4+SiLU+L2, β = σ(W_b x), log α = −exp(A_log)·softplus(W_a x + dt_bias), RMSNorm ⊙ silu(W_g x); expand_v 2. */
function gatedDeltaNetMixer(dModel: number): MixerDef {
  const { heads, dim } = splitHeads(dModel, 64);
  return {
    heads,
    headDimK: dim,
    headDimV: 2 * dim,
    memory: { kind: 'matrix' },
    bias: { kind: 'l2' },
    retention: { kind: 'scalar', params: { parametrization: 'gated-deltanet' } },
    learner: { kind: 'gd' },
    block: { convSize: 4, qkNorm: 'l2', queryScale: 'inv-sqrt-dk', betaActivation: 'sigmoid', outputNorm: 'rmsnorm', outputGate: 'silu' },
  };
}

/**
 * The MLP memory block shared by Moneta, Yaad and Memora (Miras §5): conv4, L2 q/k, norm + gate, learned initial memory.
 * The gates are full rank: the paper's η_t, α_t (δ_t) are channel-wise through rank-32/64 projections [U], but the MLP
 * memory's scan takes one gate value per head, and a rank-32 factorisation of a d → H map (H ≤ 32 up to d_model 2048)
 * is larger than the map itself (MIRAS_GATE_NOTE).
 */
function mirasMlpBlock(extra: Params = {}): Params {
  return { convSize: 4, qkNorm: 'l2', betaActivation: 'sigmoid', outputNorm: 'rmsnorm', outputGate: 'silu', memoryInit: 'learned', ...extra };
}

const MIRAS_GATE_NOTE =
  'The paper produces channel-wise η_t, α_t (and Yaad\'s δ_t) with low-rank projections (rank 32 or 64, depending on the transcription). ' +
  'The MLP memory here takes one value per head for each gate, so each gate is a full-rank linear map d_model → heads, which is already smaller ' +
  'than a rank-32 factorisation would be; the block option `gateRank` factors only gates wider than the rank.';

function mlpHeads(dModel: number) {
  const { heads, dim } = splitHeads(dModel, 64);
  return { heads, headDimK: dim, headDimV: dim };
}

// ---------------------------------------------------------------------------------------------

export const MIRAS_PRESETS: Preset[] = [
  uniform(
    {
      name: 'linear-attention',
      title: 'Linear attention',
      description: 'Kernelised attention with φ = elu + 1: a matrix memory written by the Hebbian (dot-product) rule with no forgetting.',
      citation: 'Katharopoulos et al. 2020, Transformers are RNNs: Fast Autoregressive Transformers with Linear Attention (arXiv 2006.16236)',
    },
    (d) => {
      const { heads, dim } = splitHeads(d, 64);
      return {
        heads, headDimK: dim, headDimV: dim,
        memory: { kind: 'matrix' }, bias: { kind: 'dot' }, retention: { kind: 'none' }, learner: { kind: 'gd' },
        block: { convSize: 0, featureMap: 'elu+1', qkNorm: 'none', queryScale: 'inv-sqrt-dk', betaActivation: 'constant', outputNorm: 'rmsnorm', outputGate: 'none' },
      };
    },
  ),
  uniform(
    {
      name: 'retnet',
      title: 'RetNet',
      description: 'Retentive network: Hebbian matrix memory with a fixed per-head decay γ_h = 1 − 2^(−5−h), value expansion 2, normalised and swish-gated output.',
      citation: 'Sun et al. 2023, Retentive Network: A Successor to Transformer for Large Language Models (arXiv 2307.08621)',
    },
    (d) => {
      const { heads, dim } = splitHeads(d, 64);
      return {
        heads, headDimK: dim, headDimV: 2 * dim,
        memory: { kind: 'matrix' }, bias: { kind: 'dot' }, retention: { kind: 'constant', params: { schedule: 'retnet', base: 5 } }, learner: { kind: 'gd' },
        block: { convSize: 0, qkNorm: 'none', queryScale: 'inv-sqrt-dk', betaActivation: 'constant', outputNorm: 'rmsnorm', outputGate: 'silu' },
      };
    },
  ),
  uniform(
    {
      name: 'gla',
      title: 'Gated Linear Attention',
      description: 'Hebbian matrix memory with a channel-wise data-dependent decay log α = logsigmoid(x W₁W₂ + b)/16 (rank 16); expand_k 0.5; RMSNorm ⊙ swish gate.',
      citation: 'Yang et al. 2023, Gated Linear Attention Transformers with Hardware-Efficient Training (arXiv 2312.06635)',
    },
    (d) => {
      const { heads, dim } = splitHeads(d, 64);
      return {
        heads, headDimK: Math.max(1, Math.floor(dim / 2)), headDimV: dim,
        memory: { kind: 'matrix' }, bias: { kind: 'dot' }, retention: { kind: 'channel', params: { parametrization: 'gla', temperature: 16 } }, learner: { kind: 'gd' },
        block: { convSize: 0, qkNorm: 'none', queryScale: 'inv-sqrt-dk', betaActivation: 'constant', gateRank: 16, outputNorm: 'rmsnorm', outputGate: 'silu' },
      };
    },
  ),
  uniform(
    {
      name: 'mamba2',
      title: 'Mamba2 (SSD)',
      description: 'State-space duality: scalar data-dependent decay exp(Δ·A) per head, the step Δ as write strength, conv4 + SiLU on x, B, C, y ⊙ silu(z) then RMSNorm, D skip; expand 2, head dim 64.',
      citation: 'Dao & Gu 2024, Transformers are SSMs: Generalized Models and Efficient Algorithms Through Structured State Space Duality (arXiv 2405.21060)',
    },
    (d) => {
      const { heads } = splitHeads(2 * d, 64);
      return {
        heads, headDimK: d >= 512 ? 128 : 64, headDimV: (2 * d) / heads,
        memory: { kind: 'matrix' }, bias: { kind: 'dot' }, retention: { kind: 'scalar', params: { parametrization: 'mamba2' } }, learner: { kind: 'gd' },
        block: { convSize: 4, qkNorm: 'none', queryScale: 'none', betaActivation: 'softplus', valueTimesStep: true, outputNorm: 'rmsnorm', outputGate: 'silu', gateBeforeNorm: true, dSkip: true },
      };
    },
    false,
  ),
  uniform(
    {
      name: 'hgrn2',
      title: 'HGRN2',
      description: 'Gated linear RNN with state expansion: channel-wise forget gate with a layer-wise lower bound, key tied to 1 − f, swish query; RMSNorm output.',
      citation: 'Qin et al. 2024, HGRN2: Gated Linear RNNs with State Expansion (arXiv 2404.07904)',
    },
    (d, layer, n) => {
      const { heads, dim } = splitHeads(d, Math.min(128, d));
      return {
        heads, headDimK: dim, headDimV: dim,
        memory: { kind: 'matrix' }, bias: { kind: 'dot' },
        retention: { kind: 'channel', params: { parametrization: 'hgrn2', lowerBound: Math.round((layer / n) * 1000) / 1000 } },
        learner: { kind: 'gd' },
        block: { convSize: 0, featureMap: 'silu', qkNorm: 'none', betaActivation: 'constant', keyFromDecay: true, outputNorm: 'rmsnorm', outputGate: 'none' },
      };
    },
  ),
  uniform(
    {
      name: 'mlstm',
      title: 'mLSTM (xLSTM)',
      description: 'Matrix LSTM: Hebbian memory with exponential input gate, sigmoid forget gate, normaliser state and max-stabiliser; up-projection ×2, conv4 on the q/k path, GroupNorm, swish gate, learnable skip.',
      citation: 'Beck et al. 2024, xLSTM: Extended Long Short-Term Memory (arXiv 2405.04517)',
    },
    (d) => {
      const { heads, dim } = splitHeads(2 * d, 64);
      return {
        heads, headDimK: dim, headDimV: dim,
        memory: { kind: 'matrix' }, bias: { kind: 'dot' }, retention: { kind: 'scalar', params: { parametrization: 'sigmoid' } }, learner: { kind: 'gd' },
        block: { convSize: 4, convTargets: 'qk', qkNorm: 'none', queryScale: 'inv-sqrt-dk', betaActivation: 'exp', mlstmNormalizer: true, outputNorm: 'groupnorm', outputGate: 'silu', dSkip: true },
      };
    },
    false,
  ),
  uniform(
    {
      name: 'deltanet',
      title: 'DeltaNet',
      description: 'The delta rule: ℓ2 regression memory with one GD step per token, β = σ(W_b x), q/k conv4 + SiLU + L2 norm, RMSNorm output.',
      citation: 'Yang et al. 2024, Parallelizing Linear Transformers with the Delta Rule over Sequence Length (arXiv 2406.06484)',
    },
    (d) => {
      const { heads, dim } = splitHeads(d, 64);
      return {
        heads, headDimK: dim, headDimV: dim,
        memory: { kind: 'matrix' }, bias: { kind: 'l2' }, retention: { kind: 'none' }, learner: { kind: 'gd' },
        block: { convSize: 4, qkNorm: 'l2', queryScale: 'inv-sqrt-dk', betaActivation: 'sigmoid', outputNorm: 'rmsnorm', outputGate: 'none' },
      };
    },
  ),
  uniform(
    {
      name: 'gated-deltanet',
      title: 'Gated DeltaNet',
      description: 'Delta rule with a data-dependent scalar decay (Mamba2-style gate), conv4 + SiLU, L2 q/k, RMSNorm ⊙ silu(W_g x); expand_v 2.',
      citation: 'Yang et al. 2024, Gated Delta Networks: Improving Mamba2 with Delta Rule (arXiv 2412.06464)',
    },
    gatedDeltaNetMixer,
  ),
  uniform(
    {
      name: 'deltaproduct',
      title: 'Gated DeltaProduct',
      description: 'n_h = 2 delta steps per token (a product of Householder-like transitions) with β ∈ (0, 2) for eigenvalues in [−1, 1], Gated DeltaNet decay and block.',
      citation: 'Siems et al. 2025, DeltaProduct: Improving State-Tracking in Linear RNNs via Householder Products (arXiv 2502.10297)',
    },
    (d) => {
      const g = gatedDeltaNetMixer(d);
      return { ...g, learner: { kind: 'multistep', params: { steps: 2 } }, block: { ...g.block, eigenvalueRange: '[-1,1]' } };
    },
  ),
  uniform(
    {
      name: 'longhorn',
      title: 'Longhorn',
      description: 'Implicit (proximal) online regression: ε = β/(1 + β‖k‖²) per channel on a diagonal (vector) state, in a Mamba block (expand 2, conv4 + SiLU, y ⊙ silu(z), D skip).',
      citation: 'Liu et al. 2024, Longhorn: State Space Models are Amortized Online Learners (arXiv 2407.14207)',
    },
    (d) => {
      const { heads, dim } = splitHeads(2 * d, 64);
      return {
        heads, headDimK: 16, headDimV: dim,
        memory: { kind: 'vector' }, bias: { kind: 'l2' }, retention: { kind: 'none' }, learner: { kind: 'implicit' },
        block: { convSize: 4, qkNorm: 'none', betaActivation: 'sigmoid', betaPerChannel: true, outputNorm: 'none', outputGate: 'silu', dSkip: true },
      };
    },
    false,
  ),
  uniform(
    {
      name: 'ttt-linear',
      title: 'TTT-Linear',
      description: 'Test-time training with a linear inner model inside residual + LayerNorm, ℓ2 reconstruction loss, mini-batch GD with b = 16 and η = base_lr·σ(θ x).',
      citation: 'Sun et al. 2024, Learning to (Learn at Test Time): RNNs with Expressive Hidden States (arXiv 2407.04620)',
    },
    (d) => {
      const { heads, dim } = splitHeads(d, 64);
      return {
        heads, headDimK: dim, headDimV: dim,
        memory: { kind: 'mlp', params: { layers: 1, residual: true, layerNorm: true } }, bias: { kind: 'l2' }, retention: { kind: 'none' },
        learner: { kind: 'chunk', params: { chunkSize: 16, lagToken: false } },
        block: { convSize: 0, qkNorm: 'none', betaActivation: 'sigmoid', memoryInit: 'learned', outputNorm: 'layernorm', outputGate: 'none' },
      };
    },
  ),
  uniform(
    {
      name: 'titans',
      title: 'Titans (LMM)',
      description: 'Neural long-term memory: a 2-layer MLP trained in context by GD with momentum and weight decay; SiLU + L2 on q/k, depthwise conv, normalised and gated output.',
      citation: 'Behrouz et al. 2024, Titans: Learning to Memorize at Test Time (arXiv 2501.00663)',
    },
    (d) => ({
      ...mlpHeads(d),
      memory: { kind: 'mlp', params: { layers: 2, expansion: 4 } }, bias: { kind: 'l2' }, retention: { kind: 'l2', params: { coupled: false } }, learner: { kind: 'momentum' },
      block: { convSize: 4, featureMap: 'silu', qkNorm: 'l2', betaActivation: 'sigmoid', memoryInit: 'learned', outputNorm: 'rmsnorm', outputGate: 'sigmoid' },
    }),
  ),
  uniform(
    {
      name: 'moneta',
      title: 'Moneta',
      description: 'Miras model with an ℓp (p = 3) attentional bias and ℓq (q = 4) memory normalisation over a 2-layer MLP memory.',
      citation: 'Behrouz et al. 2025, It\'s All Connected: A Journey Through Test-Time Memorization, Attentional Bias, Retention, and Online Optimization (arXiv 2504.13173), §5.1',
    },
    (d) => ({
      ...mlpHeads(d),
      memory: { kind: 'mlp', params: { layers: 2, expansion: 4 } }, bias: { kind: 'lp', params: { p: 3 } }, retention: { kind: 'lq', params: { q: 4 } }, learner: { kind: 'gd' },
      block: mirasMlpBlock(),
    }),
  ),
  uniform(
    {
      name: 'yaad',
      title: 'Yaad',
      description: 'Miras model with Yaad\'s Huber ℓ2/ℓ1 switch (data-dependent δ_t) and ℓ2 local + global retention over a 2-layer MLP memory.',
      citation: 'Behrouz et al. 2025, It\'s All Connected (arXiv 2504.13173), §5.2',
    },
    (d) => ({
      ...mlpHeads(d),
      memory: { kind: 'mlp', params: { layers: 2, expansion: 4 } }, bias: { kind: 'huber', params: { variant: 'switch', delta: 'data' } }, retention: { kind: 'l2', params: { coupled: false } }, learner: { kind: 'gd' },
      block: mirasMlpBlock(),
    }),
  ),
  uniform(
    {
      name: 'memora',
      title: 'Memora',
      description: 'Miras model with ℓ2 attentional bias and KL (softmax-on-the-simplex) retention over a 2-layer MLP memory with a learned, strictly positive initial state.',
      citation: 'Behrouz et al. 2025, It\'s All Connected (arXiv 2504.13173), §5.3',
    },
    (d) => ({
      ...mlpHeads(d),
      memory: { kind: 'mlp', params: { layers: 2, expansion: 4 } }, bias: { kind: 'l2' }, retention: { kind: 'kl', params: { axis: 'key' } }, learner: { kind: 'gd' },
      block: mirasMlpBlock(),
    }),
  ),
  {
    name: 'gated-deltanet-swa-hybrid',
    title: 'Gated DeltaNet + sliding-window attention',
    description: 'Hybrid: Gated DeltaNet layers alternating with sliding-window softmax attention (window 256) every other layer, each followed by a SwiGLU MLP.',
    citation: 'Yang et al. 2024, Gated Delta Networks (arXiv 2412.06464), §4 hybrid models (GatedDeltaNet-H2)',
    build: (o) =>
      spec(o, (i) => {
        if (i % 2 === 0) return { mixer: mixer(gatedDeltaNetMixer(o.dModel)), mlp: swiglu(o.dModel) };
        const { heads, dim } = splitHeads(o.dModel, 64);
        return { mixer: { type: 'attention', heads, headDim: dim, window: 256 }, mlp: swiglu(o.dModel) };
      }),
  },
];

export const MIRAS_PRESET_NAMES = MIRAS_PRESETS.map((p) => p.name);

/** Per-preset documentation beyond the catalog: the recurrence in the model's own notation and its block. */
export const MIRAS_PRESET_NOTES: Record<string, { recurrence: string; block: string; notes?: string }> = {
  'linear-attention': {
    recurrence: 'S_t = S_{t−1} + φ(k_t) v_tᵀ;  o_t = S_tᵀ φ(q_t) / √d_k,  φ(x) = elu(x) + 1',
    block: 'q, k, v projections; φ = elu + 1 on q and k; no short conv; RMSNorm on the output; no output gate.',
    notes: 'The φ(q)ᵀz normaliser of Katharopoulos et al. is replaced by the output RMSNorm, as in fla\'s default layer.',
  },
  retnet: {
    recurrence: 'S_t = γ_h S_{t−1} + k_t v_tᵀ,  γ_h = 1 − 2^{−5−h};  o_t = S_tᵀ q_t / √d_k',
    block: 'q, k, v projections with d_v = 2 d_k (expand_v 2); per-head RMSNorm fused with a swish gate (fla); output projection.',
    notes: 'xPos rotary embeddings on q and k are not modelled; the RetNet paper uses GroupNorm where fla uses RMSNorm.',
  },
  gla: {
    recurrence: 'S_t = Diag(α_t) S_{t−1} + k_t v_tᵀ,  log α_t = logsigmoid(x_t W_1 W_2 + b)/16;  o_t = S_tᵀ q_t / √d_k',
    block: 'expand_k 0.5, expand_v 1; rank-16 gate projection; no short conv; o = RMSNorm(o) ⊙ swish(W_r x); output projection.',
  },
  mamba2: {
    recurrence: 'h_t = exp(Δ_t A) h_{t−1} + B_t (Δ_t x_t)ᵀ;  y_t = h_tᵀ C_t + D ⊙ x_t;  A = −exp(A_log), Δ_t = softplus(W_Δ x + dt_bias)',
    block: 'expand 2, head dim 64, state N = 64 (128 at d ≥ 512); conv4 + SiLU on x, B, C; y ⊙ silu(z) then RMSNorm; D skip; no MLP.',
    notes: 'Mamba2 shares B and C across heads (ngroups = 1); here each head has its own key/query projection.',
  },
  hgrn2: {
    recurrence: 'S_t = Diag(f_t) S_{t−1} + (1 − f_t) i_tᵀ,  f_t = lb + (1 − lb) σ(W_f x_t);  o_t = S_tᵀ swish(W_q x_t)',
    block: 'head_f_dim 128 (capped at d); key tied to 1 − f; swish query; RMSNorm output, no gate.',
    notes: 'HGRN2 learns its layer-wise lower bounds (softmax-cumsum over layers); here lb = layer/nLayers is fixed per layer.',
  },
  mlstm: {
    recurrence:
      'C_t = f_t C_{t−1} + i_t k_t v_tᵀ;  n_t = f_t n_{t−1} + i_t k_t;  h_t = C_tᵀq_t / max(|n_tᵀq_t|, 1);  i = exp(ĩ), f = σ(f̃); stabiliser m_t = max(log f_t + m_{t−1}, ĩ_t)',
    block: 'up-projection ×2 (heads of 64); conv4 + swish on the q/k path only; k scaled by 1/√d; per-head GroupNorm; ⊙ swish(z); learnable skip; no separate MLP.',
    notes:
      'The cell (stabiliser, normaliser, floor e^{−m_t}) was checked against the authors\' code (NX-AI/xlstm, blocks/mlstm/backends.py and cell.py); see docs/miras.md, "unverified paper details". ' +
      'The block differs from that code in four places: q, k, v here are full projections of x to the 2× width (the authors use block-diagonal head-wise projections of blocksize 4 on the up-projected branch); ' +
      'the input and forget gates read x (theirs read the concatenation of q, k, v); the learnable skip adds D ⊙ v before the per-head norm (theirs adds skip ⊙ the conv-activated branch after the norm, before ⊙ swish(z)); ' +
      'and the denominator has no extra ε = 1e-6. The scan itself scales q rather than k by 1/√d, which gives the same h.',
  },
  deltanet: {
    recurrence: 'S_t = S_{t−1} + k_t (β_t (v_t − S_{t−1}ᵀk_t))ᵀ = (I − β_t k_t k_tᵀ) S_{t−1} + β_t k_t v_tᵀ;  o_t = S_tᵀ q_t / √d_k',
    block: 'q, k, v with conv4 + SiLU; q, k L2-normalised; β = σ(W_b x); RMSNorm on the output; no output gate (use_gate = False).',
  },
  'gated-deltanet': {
    recurrence: 'S_t = α_t (I − β_t k_t k_tᵀ) S_{t−1} + β_t k_t v_tᵀ,  log α_t = −exp(A_log)·softplus(W_a x + dt_bias);  o_t = S_tᵀ q_t / √d_k',
    block: 'conv4 + SiLU on q, k, v; L2 q/k; β = σ(W_b x); d_v = 2 d_k; o = RMSNorm(o) ⊙ silu(W_g x); output projection.',
    notes: 'The paper uses head_dim 256 at width 2048; presets use head dim 64 so small models keep several heads.',
  },
  deltaproduct: {
    recurrence: 'S ← α_t S_{t−1};  for j = 1..n_h: S ← S + k_{t,j} (β_{t,j} (v_{t,j} − Sᵀk_{t,j}))ᵀ;  o_t = S_tᵀ q_t / √d_k,  β ∈ (0, 2)',
    block: 'Gated DeltaNet block with n_h = 2 key/value/β projections per token and eigenvalue range [−1, 1] (allow_neg_eigval).',
  },
  longhorn: {
    recurrence: 'S_t[:, c] = (1 − ε_{t,c} k_t ⊙ k_t) ⊙ S_{t−1}[:, c] + ε_{t,c} x_{t,c} k_t,  ε_{t,c} = β_{t,c} / (1 + β_{t,c} ‖k_t‖²);  y_t = S_tᵀ q_t + D ⊙ x_t',
    block: 'Mamba block: expand 2, state 16 per channel, conv4 + SiLU, β = σ(W_Δ x + b) per channel, y ⊙ silu(z), D skip; no MLP.',
    notes: 'This is the diagonal approximation Longhorn ships (models/longhorn.py step()); the exact implicit update is available with a matrix memory.',
  },
  'ttt-linear': {
    recurrence: 'f(x; W) = x + LN(W x);  per mini-batch of b = 16: all gradients ∇ℓ(W_{t′}; k_i, v_i) of ℓ = ½‖f(k) − v‖² at the chunk-start W_{t′};  z_t = f(q_t; W_t)',
    block: 'q, k, v projections (no conv, no L2 norm); η_t = base_lr·σ(θ x_t) (as β); LayerNorm on the output; learned initial W.',
    notes: 'TTT also learns the inner LayerNorm affine and a per-position token η; here the inner LN has no affine.',
  },
  titans: {
    recurrence: 'S_t = η_t S_{t−1} − θ_t ∇ℓ(M_{t−1}; k_t, v_t);  M_t = (1 − α_t) M_{t−1} + S_t;  ℓ = ‖M(k) − v‖²;  y_t = M_t(q_t)',
    block: '2-layer MLP memory (expansion 4, GELU, residual + LayerNorm); SiLU + L2 on q, k; conv4; RMSNorm output ⊙ σ(W_g x).',
    notes: 'Titans trains with chunked GD (Titans §3.2); switch the learner to mini-batch GD for that semantics.',
  },
  moneta: {
    recurrence: 'A_t = α_t A_{t−1} − η_t ∇ℓ_p(W_{t−1}; k_t, v_t);  W_t = A_t / ‖A_t‖_q^{q−2};  ∇ℓ_p uses g = p·sign(e)|e|^{p−1}, p = 3, q = 4',
    block: '2-layer MLP memory; conv4 + L2 q/k; per-head data-dependent η_t and α_t (full-rank linear maps, see notes); RMSNorm ⊙ silu gate; learned initial memory.',
    notes: `The ℓq normalisation exponent differs between transcriptions of the paper; the retention's \`form\` parameter selects it. ${MIRAS_GATE_NOTE}`,
  },
  yaad: {
    recurrence: 'W_t = α_t W_{t−1} − { η_t ∇ℓ2(W_{t−1}) if ‖M(k_t) − v_t‖ ≤ δ_t;  η_t δ_t ∇ℓ1(W_{t−1}) otherwise }',
    block: '2-layer MLP memory; conv4 + L2 q/k; per-head data-dependent η_t, α_t and δ_t (full-rank linear maps, see notes); RMSNorm ⊙ silu gate; learned initial memory.',
    notes: MIRAS_GATE_NOTE,
  },
  memora: {
    recurrence: 'W_t = Softmax(α_t log W_{t−1} − η_t ∇ℓ2(W_{t−1}; k_t, v_t)),  W_0 = exp(learned) > 0',
    block: '2-layer MLP memory with softmax over each output\'s input weights; conv4 + L2 q/k; per-head data-dependent η_t and α_t (full-rank linear maps, see notes); RMSNorm ⊙ silu gate.',
    notes: `The softmax slice of an MLP memory is loosely specified in the paper; the retention's \`axis\` parameter selects it. The paper initialises W_0 uniformly (1/n); for an MLP memory that start is symmetric (every hidden unit gets the same update), so the preset learns a positive W_0 = exp(θ) instead. ${MIRAS_GATE_NOTE}`,
  },
  'gated-deltanet-swa-hybrid': {
    recurrence: 'even layers: Gated DeltaNet;  odd layers: o_t = Σ_{i ∈ (t−256, t]} softmax_i(q_tᵀk_i/√d) v_i',
    block: 'Gated DeltaNet block (see gated-deltanet) alternating with sliding-window attention (window 256); SwiGLU MLP after every mixer.',
  },
};
