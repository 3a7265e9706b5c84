/**
 * Block-level options of a Miras mixer: everything around the scan (projections, short conv,
 * q/k normalisation, feature maps, how β/η/α are produced, output norm and gate, D skip,
 * mLSTM normaliser). Stored flat in ModelSpec `mixer.block`; validated by this schema.
 */
import { z } from 'zod';

const int = (min: number, max: number) => z.number().int().min(min).max(max);

export const GATE_ACTIVATIONS = ['sigmoid', 'softplus', 'exp', 'constant'] as const;

export const BlockParamsSchema = z.object({
  projectionBias: z.boolean().default(false).meta({ help: 'Bias terms on the q, k, v projections (x → H·d_k, H·d_k, H·d_v).' }),
  convSize: int(0, 8).default(4).meta({ help: 'Causal depthwise short convolution kernel on q, k, v after their projections; 0 = off (fla ShortConvolution).', unit: 'tokens' }),
  convTargets: z.enum(['qkv', 'qk']).default('qkv').meta({ help: 'Which projections go through the short convolution: q, k and v (fla, Mamba2) or only q and k (xLSTM\'s mLSTM block).' }),
  convActivation: z.enum(['silu', 'none']).default('silu').meta({ help: 'Activation after the short convolution (SiLU in fla).' }),
  featureMap: z.enum(['identity', 'elu+1', 'silu', 'relu']).default('identity').meta({
    help: 'φ applied to q and k before the scan (linear attention: elu + 1; HGRN2 and Titans: SiLU).',
  }),
  qkNorm: z.enum(['l2', 'none']).default('l2').meta({ help: 'L2-normalise q and k per head (needed for a stable delta rule: ‖k‖ = 1 keeps I − βkkᵀ contractive).' }),
  queryScale: z.enum(['inv-sqrt-dk', 'none']).default('none').meta({ help: 'Scale q by d_k^{-1/2} inside the scan (fla\'s `scale`).' }),
  betaActivation: z.enum(GATE_ACTIVATIONS).default('sigmoid').meta({
    help: 'How the learning rate β_t/η_t/θ_t is produced from x: σ(W_β x), softplus, exp (mLSTM input gate), or constant 1 (linear attention).',
  }),
  betaPerChannel: z.boolean().default(false).meta({ help: 'One β per value channel ([B,T,H,d_v], Longhorn) instead of one per head.' }),
  eigenvalueRange: z.enum(['[0,1]', '[-1,1]']).default('[0,1]').meta({
    help: 'State-transition eigenvalues: [-1,1] doubles β ∈ (0,2) so I − βkkᵀ can reflect (Grazzi et al. 2024, needed for parity / state tracking). Meaningful only for the ℓ2 bias with a GD-type learner on a matrix/vector memory, a linear retention (not KL or ℓq), a sigmoid β and unit-norm keys (L2 q/k norm).',
  }),
  gateRank: int(0, 256).default(0).meta({ help: 'Rank of the low-rank projections that produce the gates (x W_1 W_2); 0 = full-rank linear (GLA: 16 for its channel-wise decay). A gate is factored only where the rank is below both d_model and the gate\'s width; a narrower one (e.g. one value per head with ≤ rank heads) is built full rank, which is then smaller.' }),
  momentumActivation: z.enum(['sigmoid', 'constant']).default('sigmoid').meta({ help: 'How the momentum decay η_t is produced (momentum learner only): sigmoid = σ(W_η x); constant = 0, no momentum carried (the momentum learner then equals one GD step per token, a baseline).' }),
  deltaActivation: z.enum(['softplus', 'sigmoid']).default('softplus').meta({ help: 'How a data-dependent Huber threshold δ_t > 0 is produced.' }),
  memoryInit: z.enum(['zeros', 'uniform', 'learned']).default('zeros').meta({
    help: 'Initial memory S_0: zeros (linear memories), uniform 1/n (positive; KL retention), or a learned parameter (deep MLP memory). A momentum learner\'s momentum always starts at zero.',
  }),
  outputNorm: z.enum(['rmsnorm', 'groupnorm', 'layernorm', 'none']).default('rmsnorm').meta({ help: 'Per-head normalisation of the scan output o (GroupNorm per head in RetNet/mLSTM). layernorm is LayerNorm over each head\'s d_v channels, the same map as groupnorm with one group per head (both with weight and bias).' }),
  outputGate: z.enum(['silu', 'sigmoid', 'none']).default('silu').meta({ help: 'Output gate o ⊙ act(W_g x) before the output projection.' }),
  gateBeforeNorm: z.boolean().default(false).meta({ help: 'Mamba2 order: norm(y ⊙ silu(z)) instead of norm(y) ⊙ silu(z).' }),
  dSkip: z.boolean().default(false).meta({ help: 'Add the D skip y_t += D ⊙ x_t (Mamba, Longhorn; mLSTM learnable skip).' }),
  mlstmNormalizer: z.boolean().default(false).meta({
    help: 'mLSTM normaliser n_t = f n_{t−1} + i k_t and stabiliser m_t: h = Cq / max(|nᵀq|, 1) with exponential input gate (needs dot-product bias, scalar/constant/no decay, one GD step).',
  }),
  keyFromDecay: z.boolean().default(false).meta({ help: 'HGRN2: the key is tied to 1 − α_t (no key projection).' }),
  valueTimesStep: z.boolean().default(false).meta({ help: 'Mamba2: the write strength is the step Δ_t (η_t = Δ_t) rather than an independent β.' }),
});
export type BlockParams = z.infer<typeof BlockParamsSchema>;
