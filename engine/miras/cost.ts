/**
 * Costs of a Miras mixer the editor shows on the node: parameter count, recurrent state size per
 * head (floats) and FLOPs per token, each with a breakdown. Also the state layout the scan uses:
 * the flat per-head state vector `finalState` [B, H, stateSize] (fla's [B, H, dk, dv] for a plain
 * matrix memory) is the concatenation of these segments, in this order.
 */
import type { MirasMixer } from '../spec';
import { resolveCombo, type Combo } from './catalog';

export interface StateSegment {
  /** 'S' (matrix/vector memory), 'W1'..'WL' (MLP layers in application order), 'mom.*' (momentum), 'n', 'm' (mLSTM). */
  name: string;
  shape: number[];
  offset: number;
  size: number;
}

/**
 * MLP memory layer shapes [out, in] in application order: d_k → h → … → h → d_v (a single layer is d_k → d_v),
 * h = expansion·d_k. The memory maps keys to values, so the first layer reads d_k and the last writes d_v; with
 * the residual (validation then requires d_k = d_v) both are d.
 */
export function mlpLayerShapes(combo: Combo, dk: number, dv: number = dk): [number, number][] {
  const L = combo.memory.params.layers as number;
  const h = (combo.memory.params.expansion as number) * dk;
  if (L === 1) return [[dv, dk]];
  const shapes: [number, number][] = [[h, dk]];
  for (let i = 1; i < L - 1; i++) shapes.push([h, h]);
  shapes.push([dv, h]);
  return shapes;
}

/** The per-head state layout of a combination (empty for the non-parametric memory: its KV cache grows with T). */
export function stateLayout(combo: Combo, dk: number, dv: number): { segments: StateSegment[]; size: number } {
  const segs: StateSegment[] = [];
  let offset = 0;
  const push = (name: string, shape: number[]) => {
    const size = shape.reduce((a, b) => a * b, 1);
    segs.push({ name, shape, offset, size });
    offset += size;
  };
  const memory: [string, number[]][] = [];
  if (combo.memory.kind === 'matrix' || combo.memory.kind === 'vector') memory.push(['S', [dk, dv]]);
  else if (combo.memory.kind === 'mlp') mlpLayerShapes(combo, dk, dv).forEach((s, i) => memory.push([`W${i + 1}`, s]));
  for (const [n, s] of memory) push(n, s);
  if (combo.learner.kind === 'momentum') for (const [n, s] of memory) push(`mom.${n}`, s);
  if (combo.block.mlstmNormalizer) {
    push('n', [dk]);
    push('m', [1]);
  }
  return { segments: segs, size: offset };
}

/**
 * Floats of the per-head state a learned initial state sets (block.memoryInit 'learned'): the memory and the
 * mLSTM n, m, not the momentum, which starts at zero (Titans Eq. 13-14, S_0 = 0). The momentum segments are
 * the last ones of the layout, so the learned part is a prefix of the state vector.
 */
export function learnedStateSize(combo: Combo, dk: number, dv: number): number {
  const { segments, size } = stateLayout(combo, dk, dv);
  const mom = segments.filter((s) => s.name.startsWith('mom.'));
  const learned = size - mom.reduce((a, s) => a + s.size, 0);
  if (mom.length && mom[0].offset !== learned) throw new Error('state layout: the momentum segments must come last');
  return learned;
}

export interface MixerCost {
  params: { total: number; breakdown: Record<string, number> };
  /** Recurrent state per head, in floats (KV-cache floats per token for softmax attention). */
  stateFloatsPerHead: number;
  stateNote: string;
  flopsPerToken: { total: number; breakdown: Record<string, number> };
}

const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

/**
 * The rank a gate projection x → out is actually built with (engine/miras/block.ts): the low-rank
 * x W_down W_up only where `rank` is below both fan-in and fan-out (a rank-32 factorisation of a
 * 64 → 1 per-head gate would be larger than the full matrix and no more expressive); else 0 = full rank.
 */
export function effectiveGateRank(rank: number, fanIn: number, out: number): number {
  return rank > 0 && rank < Math.min(fanIn, out) ? rank : 0;
}

/**
 * Cost of one Miras mixer for a residual width dModel. `seqLen` only matters for softmax attention
 * (its per-token cost grows with the context it sees). The parameter count is exactly what
 * `buildMirasMixer` (engine/miras/block.ts) allocates; each term names the tensors it counts.
 */
export function mixerCost(mixer: MirasMixer, dModel: number, seqLen = 2048): MixerCost {
  const c = resolveCombo(mixer);
  const b = c.block;
  const H = mixer.heads;
  const dk = mixer.headDimK;
  const dv = mixer.headDimV;
  const hk = H * dk;
  const hv = H * dv;
  const p: Record<string, number> = {};
  const f: Record<string, number> = {};
  const bias = b.projectionBias ? 1 : 0;
  /** Sub-steps per token (DeltaProduct's n_h): k, v, β and δ are produced once per sub-step. */
  const nh = c.learner.kind === 'multistep' ? (c.learner.params.steps as number) : 1;
  /** A gate x → out with its bias: `<name>` [d, out] + `<name>_b` [out], or `<name>_down` [d, r] + `<name>_up` [r, out] + `<name>_b`. */
  const gate = (name: string, out: number, requested = b.gateRank) => {
    const rank = effectiveGateRank(requested, dModel, out);
    const n = rank > 0 ? dModel * rank + rank * out + out : dModel * out + out;
    p[name] = (p[name] ?? 0) + n;
    f[name] = (f[name] ?? 0) + 2 * (rank > 0 ? dModel * rank + rank * out : dModel * out);
  };

  // `q` [d, H·dk] (+ `q_b`).
  p['q proj'] = dModel * hk + bias * hk;
  // `k` [d, n_h·H·dk] (+ `k_b`); none when the key is tied to the decay (HGRN2).
  if (!b.keyFromDecay) p['k proj'] = nh * (dModel * hk + bias * hk);
  // `v` [d, n_h·H·dv] (+ `v_b`).
  p['v proj'] = nh * (dModel * hv + bias * hv);
  // `o` [H·dv, d], no bias.
  p['out proj'] = hv * dModel;
  f['projections'] = 2 * dModel * (hk + (b.keyFromDecay ? 0 : nh * hk) + nh * hv) + 2 * hv * dModel;
  if (b.convSize > 0) {
    // `conv_q` [H·dk, K], `conv_k` [n_h·H·dk, K], `conv_v` [n_h·H·dv, K] (only with convTargets qkv): one depthwise filter per channel.
    const ch = hk + (b.keyFromDecay ? 0 : nh * hk) + (b.convTargets === 'qkv' ? nh * hv : 0);
    p['short conv'] = b.convSize * ch;
    f['short conv'] = 2 * b.convSize * ch;
  }
  if (b.outputGate !== 'none') {
    // `gate` [d, H·dv], full rank, no bias.
    p['output gate'] = dModel * hv;
    f['output gate'] = 2 * dModel * hv + hv;
  }
  // `norm` [H·dv] (+ `norm_b` [H·dv] for GroupNorm / LayerNorm).
  if (b.outputNorm !== 'none') p['output norm'] = (b.outputNorm === 'rmsnorm' ? 1 : 2) * hv;
  // `D` [H·dv].
  if (b.dSkip) p['D skip'] = hv;

  const mem = c.memory.kind;
  // The gates are built from the block options; a softmax-attention memory has none (no learning rate, and
  // validation leaves it no retention, momentum or data-dependent δ).
  const ret = c.retention;
  const mambaStep = ret.kind === 'scalar' && ret.params.parametrization !== 'sigmoid';
  if (mambaStep) {
    // Mamba2 / Gated DeltaNet: `g` [d, H] + `g_b` [H] (the step Δ) and `A_log` [H].
    gate('decay gate', H);
    p['A_log'] = H;
  } else if (ret.kind === 'scalar' || ret.kind === 'l2' || (['elastic', 'lq', 'kl'].includes(ret.kind) && ret.params.decay)) {
    // `g` [d, H] + `g_b` [H]: a scalar log-sigmoid decay per head.
    gate('decay gate', H);
  } else if (ret.kind === 'channel') {
    // `g` [d, H·dk] + `g_b`: channel-wise decay (GLA low rank, 16 unless gateRank says otherwise).
    gate('decay gate', hk, ret.params.parametrization === 'gla' ? b.gateRank || 16 : b.gateRank);
  }
  if (b.mlstmNormalizer) {
    // `i` [d, H] + `i_b` [H]: the mLSTM exponential input gate (it replaces β).
    gate('input gate', H);
  } else if (!(mambaStep && b.valueTimesStep) && mem !== 'attention' && b.betaActivation !== 'constant') {
    // `beta` [d, n_h·H] (or n_h·H·dv per channel) + `beta_b`: one β per sub-step.
    gate('β gate', nh * (b.betaPerChannel ? hv : H));
  }
  // `eta` [d, H] + `eta_b` [H]: built for every momentum learner (a constant activation scales it by 0).
  if (c.learner.kind === 'momentum') gate('momentum gate', H);
  // `delta` [d, n_h·H] + `delta_b`: a data-dependent Huber threshold per sub-step.
  if (c.bias.kind === 'huber' && c.bias.params.delta === 'data') gate('δ gate', nh * H);

  const layout = stateLayout(c, dk, dv);
  // `state0` (or `state0_log` for KL retention) [H, learnedStateSize]: the memory (matrix S or MLP weights W1..WL)
  // and the mLSTM n, m where present; the momentum the scan also starts from is zero, not a parameter.
  const learned = learnedStateSize(c, dk, dv);
  if (b.memoryInit === 'learned' && learned > 0) p['initial state'] = H * learned;

  // Recurrence FLOPs per token per head.
  const steps = nh;
  let scan = 0;
  if (mem === 'attention') {
    const window = c.memory.params.window as number;
    const ctx = window > 0 ? Math.min(window, seqLen) : (seqLen + 1) / 2;
    scan = 2 * ctx * (dk + dv) + 3 * ctx;
  } else if (mem === 'mlp') {
    const layers = mlpLayerShapes(c, dk, dv).reduce((a, [o, i]) => a + o * i, 0);
    // read M(q) + forward M(k) + backward (two matmuls per layer) + update.
    scan = 2 * layers + 2 * layers + 4 * layers + 3 * layers;
  } else {
    const mat = dk * dv;
    const read = 2 * mat;
    const predict = c.bias.kind === 'dot' ? 0 : 2 * mat;
    const write = 2 * mat;
    const decay = c.retention.kind === 'none' ? 0 : mat;
    const nonlinear = ['elastic', 'lq', 'kl'].includes(c.retention.kind) ? 4 * mat : 0;
    const mom = c.learner.kind === 'momentum' ? 2 * mat : 0;
    scan = read + steps * (predict + write) + decay + nonlinear + mom;
  }
  f['recurrence'] = H * scan;

  const stateFloatsPerHead = mem === 'attention' ? dk + dv : layout.size;
  const stateNote = mem === 'attention' ? 'KV cache per token (grows with the context)' : 'fixed-size recurrent state';
  return { params: { total: sum(p), breakdown: p }, stateFloatsPerHead, stateNote, flopsPerToken: { total: sum(f), breakdown: f } };
}
