/**
 * A Miras combination resolved into the pieces the fused recurrent kernel and its float64 mirror need,
 * plus the scan tensors it reads (names and shapes, fla layout [B, T, H, D]).
 *
 * The recurrence (fla S form, S ∈ R^{dk×dv}, o_t = scale · S_tᵀ q_t), per (sub-)token t:
 *   P   = S_{t−1} (gradAt 'prev': Miras/Titans ∇ℓ(W_{t−1})), λ⊙S_{t−1} ('retained': fla gated delta rule,
 *         DeltaProduct, Longhorn), or S at the chunk start (mini-batch GD)
 *   e   = Pᵀk − v (matrix)  |  e[n,:] = k_n P[n,:] − v (vector memory: each key row its own memory)
 *   g   = bias(e)  (−v for the dot-product bias)
 *   U   = η k gᵀ  |  U[n,:] = η k_n g[n,:]      (η = beta per head or per value column, or 1; implicit: ε = β/(1 + β‖k‖²))
 *   momentum: M_t = η^m_t M_{t−1} − U, step = −M_t; otherwise step = U
 *   S_t = post(λ ⊙ S_{t−1} − c·step)          (retention; c = λ when coupled)
 * Multistep (DeltaProduct): k, v, beta (and delta) have T·n_h positions; λ acts on sub-step 0, q is read
 * after the last sub-step. The semantics are B1's float64 oracle (engine/miras/reference/scan.ts), which the
 * tests compare against; inputs and outputs are its provider's (engine/miras/reference/provider.ts).
 */
import type { MirasMixer } from '../../spec';
import { resolveCombo as resolveCatalogCombo, type Combo as CatalogCombo, type ComboInput } from '../catalog';
import { providerInputs } from '../reference/provider';
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
  /** The catalog combination (B1's resolveCombo): names, shapes and semantics follow engine/miras/reference. */
  catalog: CatalogCombo;
  memory: 'matrix' | 'vector';
  bias: BiasMath;
  retention: RetentionMath;
  learner: LearnerKind;
  /** Sub-steps per token (multistep), else 1. */
  steps: number;
  /** Mini-batch size b (chunk learner), else 1. */
  chunk: number;
  /** Chunk learner: the first token of a chunk steps exactly and the rest use the memory after it (Memora). */
  lagToken: boolean;
  gradAt: 'prev' | 'retained';
  scale: number;
  /** β per value channel ([B,T',H,dv]) instead of per head. */
  betaPerChannel: boolean;
  /** S_0: zeros, a constant (uniform init), or the learned `initialState` input [H, size]. */
  init: { kind: 'zeros' } | { kind: 'uniform'; value: number } | { kind: 'learned' };
  /** Whether a `beta` tensor is read (absent: η = 1). */
  hasBeta: boolean;
  /** xLSTM mLSTM: normaliser n, stabiliser m, exponential input gate `i` (block.mlstmNormalizer). */
  mlstm: boolean;
}

const MULTIPLICATIVE = ['none', 'constant', 'scalar', 'channel', 'l2'];

/** Why the fused recurrent kernel can not run this combination, or null when it can. */
export function recurrentUnsupported(c: CatalogCombo): string | null {
  if (c.memory.kind !== 'matrix' && c.memory.kind !== 'vector') return `memory "${c.memory.kind}" (the fused recurrent kernel covers matrix and vector memories)`;
  if (!['gd', 'momentum', 'multistep', 'implicit', 'chunk'].includes(c.learner.kind)) return `learner "${c.learner.kind}"`;
  return null;
}

export interface ComboOptions {
  /** Heads and d_k when `mixer` is a bare combo (a MirasMixer carries them). */
  heads?: number;
  dk?: number;
  /** First-API options, now implied by the catalog combination: accepted and checked (scale) or ignored. */
  gradAt?: 'prev' | 'retained';
  scale?: number;
  beta?: boolean;
}

export function resolveCombo(mixer: MirasMixer | ComboInput, opts: ComboOptions = {}): Combo {
  const cat = resolveCatalogCombo(mixer);
  const why = recurrentUnsupported(cat);
  if (why) throw new Error(`the fused recurrent kernel does not support ${why}`);
  const H = opts.heads ?? ('heads' in mixer ? mixer.heads : 1);
  const K = opts.dk ?? ('headDimK' in mixer ? mixer.headDimK : 1);
  const scale = cat.block.queryScale === 'inv-sqrt-dk' ? 1 / Math.sqrt(K) : 1;
  if (opts.scale !== undefined && Math.abs(opts.scale - scale) > 1e-12 * scale) {
    throw new Error(`query scale ${opts.scale} disagrees with block.queryScale = ${cat.block.queryScale} (${scale})`);
  }
  const bias = biasMath(cat.bias.kind, cat.bias.params);
  const retention = retentionMath(cat.retention.kind, cat.retention.params, H);
  const learner = cat.learner.kind as LearnerKind;
  const steps = learner === 'multistep' ? Number(cat.learner.params.steps) : 1;
  const chunk = learner === 'chunk' ? Number(cat.learner.params.chunkSize) : 1;
  const multiplicative = MULTIPLICATIVE.includes(cat.retention.kind);
  const decayedOpt = cat.retention.params.gradientAt === 'decayed' && multiplicative && !cat.retention.params.coupled;
  let gradAt: 'prev' | 'retained' = decayedOpt ? 'retained' : 'prev';
  if (learner === 'implicit') gradAt = 'retained';
  if (learner === 'multistep') gradAt = multiplicative ? 'retained' : 'prev';
  if (learner === 'chunk') gradAt = 'prev';
  const init: Combo['init'] =
    cat.block.memoryInit === 'learned' ? { kind: 'learned' } : cat.block.memoryInit === 'uniform' ? { kind: 'uniform', value: 0 } : { kind: 'zeros' };
  const id = `miras:${cat.memory.kind}/${cat.bias.kind}/${cat.retention.kind}/${learner}`;
  return {
    id,
    catalog: cat,
    memory: cat.memory.kind as 'matrix' | 'vector',
    bias,
    retention,
    learner,
    steps,
    chunk,
    lagToken: learner === 'chunk' && cat.learner.params.lagToken === true,
    gradAt,
    scale,
    betaPerChannel: cat.block.betaPerChannel,
    init,
    hasBeta: providerInputs(cat, { batch: 1, time: 1, heads: H, dk: K, dv: 1 }).some((d) => d.name === 'beta'),
    mlstm: cat.block.mlstmNormalizer,
  };
}

export interface TensorDecl {
  name: string;
  shape: number[];
}

/** The uniform initial value (the reference's): c/|slice| for KL retention, else 1/d_v. */
export function initValue(c: Combo, s: ScanDims): number {
  if (c.init.kind !== 'uniform') return 0;
  const sx = c.retention.simplex;
  if (!sx) return 1 / s.dv;
  // KL: c/n over each softmax slice
  return sx.scale / (sx.axis === 'key' ? s.dk : sx.axis === 'value' ? s.dv : s.dk * s.dv);
}

/** Floats of carried state per head: S (and the momentum). */
export function stateSize(c: Combo, s: ScanDims): number {
  if (c.mlstm) return s.dk * s.dv + s.dk + 1;
  return (c.learner === 'momentum' ? 2 : 1) * s.dk * s.dv;
}

/** Scan inputs in call order, exactly the reference provider's (q, k, v, beta?, g?, eta?, delta?, initialState?). */
export function comboInputs(c: Combo, s: ScanDims): TensorDecl[] {
  return providerInputs(c.catalog, s);
}

export function has(c: Combo, s: ScanDims, name: string): boolean {
  return comboInputs(c, s).some((d) => d.name === name);
}

export function comboOutputs(c: Combo, s: ScanDims): TensorDecl[] {
  return [
    { name: 'o', shape: [s.batch, s.time, s.heads, s.dv] },
    { name: 'finalState', shape: [s.batch, s.heads, stateSize(c, s)] },
  ];
}
