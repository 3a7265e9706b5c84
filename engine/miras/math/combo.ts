/**
 * A Miras combination resolved into the pieces the fused recurrent kernel and its float64 mirror need,
 * plus the scan tensors it reads (names and shapes, fla layout [B, T, H, D]).
 *
 * The recurrence (fla S form, S ∈ R^{dk×dv}, o_t = scale · S_tᵀ q_t), per (sub-)token t:
 *   P   = S_{t−1} (gradAt 'prev': Miras/Titans ∇ℓ(W_{t−1})), λ⊙S_{t−1} ('retained': fla gated delta rule,
 *         DeltaProduct, Longhorn), or S at the chunk start (mini-batch GD)
 *   e   = Pᵀk − v (matrix)  |  e[n,:] = k_n P[n,:] − v (vector memory: each key row its own memory)
 *   g   = bias(e)  (−v for the dot-product bias)
 *   U   = η k gᵀ  |  U[n,:] = η k_n g[n,:]      (η = beta, or 1; implicit: ε = β/(1 + β‖k‖²), β/(1 + β k_n²))
 *   momentum: M_t = η^m_t M_{t−1} − U, step = −M_t; otherwise step = U
 *   S_t = post(λ ⊙ S_{t−1} − c·step)          (retention; c = λ when coupled)
 * Multistep (DeltaProduct): k, v, beta (and delta) have T·n_h positions; λ acts on sub-step 0, q is read
 * after the last sub-step.
 */
import type { MirasMixer } from '../../spec';
import { biasMath, type BiasMath } from './bias';
import { retentionMath, type RetentionMath } from './retention';

export type LearnerKind = 'gd' | 'momentum' | 'multistep' | 'implicit' | 'chunk';

export interface ScanDims {
  batch: number;
  time: number;
  heads: number;
  dk: number;
  dv: number;
}

export interface Combo {
  id: string;
  memory: 'matrix' | 'vector';
  bias: BiasMath;
  retention: RetentionMath;
  learner: LearnerKind;
  /** Sub-steps per token (multistep), else 1. */
  steps: number;
  /** Mini-batch size b (chunk learner), else 1. */
  chunk: number;
  gradAt: 'prev' | 'retained';
  scale: number;
  /** Whether a `beta` tensor (η_t, θ_t or β_t) is read; absent means η = 1. */
  hasBeta: boolean;
}

export interface ComboOptions {
  /** Where ∇ℓ is taken for gd/momentum (default from the catalog: 'prev'; multistep and implicit are always 'retained'). */
  gradAt?: 'prev' | 'retained';
  /** Query scale (default dk^−½, fla). */
  scale?: number;
  /** Force a write-strength tensor for the dot-product bias (default: only for the Mamba2 parametrisation). */
  beta?: boolean;
}

export function resolveCombo(mixer: MirasMixer, opts: ComboOptions = {}): Combo {
  const memory = mixer.memory.kind;
  if (memory !== 'matrix' && memory !== 'vector') {
    throw new Error(`the fused recurrent kernel covers matrix and vector memories; "${memory}" is not supported by it`);
  }
  const bias = biasMath(mixer.bias.kind, mixer.bias.params);
  const retention = retentionMath(mixer.retention.kind, mixer.retention.params, mixer.heads);
  const lk = mixer.learner.kind;
  if (!['gd', 'momentum', 'multistep', 'implicit', 'chunk'].includes(lk)) {
    throw new Error(`the fused recurrent kernel has no learner "${lk}" (gd, momentum, multistep, implicit, chunk)`);
  }
  const learner = lk as LearnerKind;
  if (learner === 'implicit' && mixer.bias.kind !== 'l2') throw new Error('implicit GD (Longhorn) has a closed form only for the ℓ2 bias');
  if (learner === 'implicit' && retention.post) throw new Error('implicit GD (Longhorn) needs a multiplicative retention');
  const steps = learner === 'multistep' ? Number(mixer.learner.params.steps ?? 2) : 1;
  const chunk = learner === 'chunk' ? Number(mixer.learner.params.chunkSize ?? 16) : 1;
  const gradAt = learner === 'multistep' || learner === 'implicit' ? 'retained' : (opts.gradAt ?? 'prev');
  const hasBeta = bias.hebbian ? (opts.beta ?? mixer.retention.params.parametrization === 'mamba2') : true;
  const id = `miras:${memory}/${bias.kind}/${retention.kind}/${learner}`;
  return { id, memory, bias, retention, learner, steps, chunk, gradAt, scale: opts.scale ?? 1 / Math.sqrt(mixer.headDimK), hasBeta };
}

export interface TensorDecl {
  name: string;
  shape: number[];
}

/** Scan inputs in call order: q, k, v, then beta, g, delta, eta as the combination needs them. */
export function comboInputs(c: Combo, s: ScanDims): TensorDecl[] {
  const { batch: B, time: T, heads: H, dk, dv } = s;
  const Ts = T * c.steps;
  const ins: TensorDecl[] = [
    { name: 'q', shape: [B, T, H, dk] },
    { name: 'k', shape: [B, Ts, H, dk] },
    { name: 'v', shape: [B, Ts, H, dv] },
  ];
  if (c.hasBeta) ins.push({ name: 'beta', shape: [B, Ts, H] });
  if (c.retention.decay === 'scalar') ins.push({ name: 'g', shape: [B, T, H] });
  if (c.retention.decay === 'channel') ins.push({ name: 'g', shape: [B, T, H, dk] });
  if (c.bias.delta === 'data') ins.push({ name: 'delta', shape: [B, Ts, H] });
  if (c.learner === 'momentum') ins.push({ name: 'eta', shape: [B, T, H] });
  return ins;
}

export function comboOutputs(s: ScanDims): TensorDecl[] {
  return [
    { name: 'o', shape: [s.batch, s.time, s.heads, s.dv] },
    { name: 'finalState', shape: [s.batch, s.heads, s.dk, s.dv] },
  ];
}
