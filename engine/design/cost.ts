/**
 * Costs the editor shows on each block and for the whole model: parameter count, recurrent
 * state per head, and FLOPs per token (forward, multiply-add = 2 FLOPs). Miras mixers take
 * their numbers from the catalog's cost model (engine/miras/cost); the structure around them
 * (embedding, norms, SwiGLU MLP, softmax attention, head) is counted here.
 */
import type { Layer, Mixer, ModelSpec } from '../spec';
import type { DesignAnalysis } from './lower';
import { mirasMixerCost } from './catalog';
import { buildModel } from '../model/build';

export interface NodeCost {
  params: number;
  /** Recurrent state per head in floats (Miras) or KV-cache floats per head at the context length (attention). */
  stateFloatsPerHead: number | null;
  flopsPerToken: number;
}

export interface DesignCosts {
  /** Costs of one instance of each block node (a stack's nodes count once here). */
  perNode: Record<string, NodeCost>;
  /** params: the engine's own count (what training allocates) when the model builds; else the sum of the blocks. */
  total: { params: number; flopsPerToken: number; stateFloats: number };
  /** Sum of the per-block parameter counts (equals total.params when the cost model and the engine agree). */
  blockParams: number;
  /** Context length T the attention and per-token costs assume. */
  contextLength: number;
}

export const DEFAULT_CONTEXT = 512;

export function normParams(spec: ModelSpec): number {
  return spec.norm === 'layernorm' ? 2 * spec.dModel : spec.dModel;
}

export function mixerCost(mixer: Mixer, dModel: number, T: number): NodeCost {
  if (mixer.type === 'attention') {
    const inner = mixer.heads * mixer.headDim;
    const span = mixer.window ? Math.min(mixer.window, T) : (T + 1) / 2; // mean causal span
    return {
      params: 4 * dModel * inner,
      stateFloatsPerHead: 2 * (mixer.window ? Math.min(mixer.window, T) : T) * mixer.headDim,
      // q, k, v, o projections + QKᵀ and AV over the visible span
      flopsPerToken: 2 * 4 * dModel * inner + 2 * 2 * mixer.heads * mixer.headDim * span,
    };
  }
  return mirasMixerCost(mixer, dModel, T);
}

export function mlpCost(mlp: NonNullable<Layer['mlp']>, dModel: number): NodeCost {
  return { params: 3 * dModel * mlp.hidden, stateFloatsPerHead: null, flopsPerToken: 2 * 3 * dModel * mlp.hidden };
}

/** Costs of a lowered design; node ids come from the analysis so stacks show per-block numbers. */
export function designCosts(analysis: DesignAnalysis, T = DEFAULT_CONTEXT): DesignCosts | null {
  const spec = analysis.spec;
  if (!spec) return null;
  const d = spec.dModel;
  const perNode: Record<string, NodeCost> = {};
  const embedding = { params: spec.vocabSize * d, stateFloatsPerHead: null, flopsPerToken: 0 };
  const head = { params: spec.tieEmbeddings ? 0 : spec.vocabSize * d, stateFloatsPerHead: null, flopsPerToken: 2 * spec.vocabSize * d };
  let params = embedding.params + head.params + normParams(spec);
  let flops = head.flopsPerToken;
  let state = 0;
  spec.layers.forEach((layer, i) => {
    const ids = analysis.layerNodes[i];
    const m = mixerCost(layer.mixer, d, T);
    params += m.params + normParams(spec);
    flops += m.flopsPerToken;
    const heads = layer.mixer.heads;
    state += (m.stateFloatsPerHead ?? 0) * heads;
    if (ids) perNode[ids.mixer] = m;
    if (layer.mlp) {
      const c = mlpCost(layer.mlp, d);
      params += c.params + normParams(spec);
      flops += c.flopsPerToken;
      if (ids?.mlp) perNode[ids.mlp] = c;
    }
  });
  if (analysis.ends) {
    perNode[analysis.ends.embedding] = embedding;
    perNode[analysis.ends.head] = head;
  }
  return { perNode, total: { params: engineParamCount(spec) ?? params, flopsPerToken: flops, stateFloats: state }, blockParams: params, contextLength: T };
}

/** The parameter count of the model the engine builds from this spec (null if it cannot build it). */
export function engineParamCount(spec: ModelSpec): number | null {
  try {
    return buildModel(spec, { batch: 1, seqLen: 1 }).parameterCount;
  } catch {
    return null;
  }
}

export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1 << 20) return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
  if (bytes >= 1 << 10) return `${(bytes / (1 << 10)).toFixed(1)} KiB`;
  return `${bytes} B`;
}
