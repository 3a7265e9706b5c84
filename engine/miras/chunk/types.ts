/**
 * Shared vocabulary of the chunk-parallel linear-family scans (fla layout [B, T, H, D]).
 *
 * rule 'linear':  S_t = Diag(a_t) S_{t-1} + β_t k_t v_t^T  (β optional)   (linear attention, RetNet, Mamba2/simple GLA, GLA)
 * rule 'delta':   S_t = a_t (I - β_t k_t k_t^T) S_{t-1} + β_t k_t v_t^T     (DeltaNet, Gated DeltaNet)
 * output:         o_t = scale · S_t^T q_t
 * S is d_k × d_v per head (fla's convention; Miras' M = S^T).
 *
 * Gate g is a natural-log decay (a = exp g, g ≤ 0):
 *   'none'   a = 1;
 *   'const'  one fixed log decay per head, cfg.logDecay [H] (RetNet), baked into the kernels: no g tensor, no dg;
 *   'scalar' g: [B, T, H] (Mamba2, simple GLA, Gated DeltaNet);
 *   'vector' g: [B, T, H, K] channel-wise (GLA, HGRN2), rule 'linear' only.
 * beta: [B, T, H] for rule 'delta'. Optional initial state h0 and final state ht: [B, H, K, V].
 */
export type ChunkRule = 'linear' | 'delta';
export type ChunkGate = 'none' | 'const' | 'scalar' | 'vector';

export interface ChunkScanShape {
  B: number;
  T: number;
  H: number;
  /** key (and query) head dimension */
  K: number;
  /** value head dimension */
  V: number;
}

export interface ChunkScanConfig {
  rule: ChunkRule;
  gate: ChunkGate;
  /** query scale; fla's default is K^-0.5 */
  scale: number;
  /** whether an initial state h0 is read (and dh0 produced in backward) */
  initialState: boolean;
  /** rule 'linear': a write strength β_t [B, T, H] scales each v_t (Mamba2's Δ_t); the delta rule always reads β */
  beta?: boolean;
  /** gate 'const': natural-log decay of each head, length H */
  logDecay?: number[];
}

/** Inputs of one scan, by fla name. */
export interface ChunkScanInputs<A> {
  q: A;
  k: A;
  v: A;
  g?: A;
  beta?: A;
  h0?: A;
}

export interface ChunkScanOutputs<A> {
  o: A;
  ht: A;
}

export interface ChunkScanGrads<A> {
  dq: A;
  dk: A;
  dv: A;
  dg?: A;
  dbeta?: A;
  dh0?: A;
}

/** Element counts of every named tensor, checked at the boundary. */
export function tensorSizes(cfg: ChunkScanConfig, s: ChunkScanShape): Record<string, number> {
  const { B, T, H, K, V } = s;
  const sizes: Record<string, number> = { q: B * T * H * K, k: B * T * H * K, v: B * T * H * V, o: B * T * H * V, ht: B * H * K * V };
  if (cfg.gate === 'scalar') sizes.g = B * T * H;
  if (cfg.gate === 'vector') sizes.g = B * T * H * K;
  if (cfg.rule === 'delta' || cfg.beta) sizes.beta = B * T * H;
  if (cfg.initialState) sizes.h0 = B * H * K * V;
  return sizes;
}

/** Which gradients the backward produces for this configuration. */
export function gradNames(cfg: ChunkScanConfig): string[] {
  const names = ['dq', 'dk', 'dv'];
  if (cfg.gate === 'scalar' || cfg.gate === 'vector') names.push('dg');
  if (cfg.rule === 'delta' || cfg.beta) names.push('dbeta');
  if (cfg.initialState) names.push('dh0');
  return names;
}

/** Refuses configurations and shapes the chunk kernels do not implement, saying why. */
export function validateChunkScan(cfg: ChunkScanConfig, s: ChunkScanShape): void {
  if (cfg.rule === 'delta' && cfg.gate === 'vector') {
    throw new Error(
      "chunk scan: the delta rule takes a scalar gate ('none', 'const' or 'scalar'); a channel-wise gate with the delta rule (KDA) is not implemented",
    );
  }
  for (const [name, v] of Object.entries(s)) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`chunk scan: shape ${name} must be a positive integer, got ${v}`);
  }
  if (s.K > 256 || s.V > 256) throw new Error(`chunk scan: head dimensions must be ≤ 256 (got K=${s.K}, V=${s.V})`);
  if (cfg.gate === 'const' && (!cfg.logDecay || cfg.logDecay.length !== s.H || cfg.logDecay.some((x) => !(x <= 0)))) {
    throw new Error(`chunk scan: gate 'const' needs logDecay with one log decay ≤ 0 per head (H = ${s.H})`);
  }
  if (!Number.isFinite(cfg.scale)) throw new Error(`chunk scan: scale must be finite, got ${cfg.scale}`);
}
