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

/** The MLP memory block shared by Moneta, Yaad and Memora (Miras §5): conv4, L2 q/k, low-rank gates (rank 32), norm + gate. */
function mirasMlpBlock(extra: Params = {}): Params {
  return { convSize: 4, qkNorm: 'l2', betaActivation: 'sigmoid', gateRank: 32, outputNorm: 'rmsnorm', outputGate: 'silu', memoryInit: 'learned', ...extra };
}

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
        block: { convSize: 4, qkNorm: 'none', queryScale: 'inv-sqrt-dk', betaActivation: 'exp', mlstmNormalizer: true, outputNorm: 'groupnorm', outputGate: 'silu', dSkip: true },
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
      description: 'Miras model with ℓ2 attentional bias and KL (softmax-on-the-simplex) retention over a positively initialised 2-layer MLP memory.',
      citation: 'Behrouz et al. 2025, It\'s All Connected (arXiv 2504.13173), §5.3',
    },
    (d) => ({
      ...mlpHeads(d),
      memory: { kind: 'mlp', params: { layers: 2, expansion: 4 } }, bias: { kind: 'l2' }, retention: { kind: 'kl', params: { axis: 'key' } }, learner: { kind: 'gd' },
      block: mirasMlpBlock({ memoryInit: 'uniform' }),
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
