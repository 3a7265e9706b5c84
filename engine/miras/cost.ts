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

/** MLP memory layer shapes [out, in] in application order: d → h → … → h → d (a single layer is d → d). */
export function mlpLayerShapes(combo: Combo, d: number): [number, number][] {
  const L = combo.memory.params.layers as number;
  const h = (combo.memory.params.expansion as number) * d;
  if (L === 1) return [[d, d]];
  const shapes: [number, number][] = [[h, d]];
  for (let i = 1; i < L - 1; i++) shapes.push([h, h]);
  shapes.push([d, h]);
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
  else if (combo.memory.kind === 'mlp') mlpLayerShapes(combo, dk).forEach((s, i) => memory.push([`W${i + 1}`, s]));
  for (const [n, s] of memory) push(n, s);
  if (combo.learner.kind === 'momentum') for (const [n, s] of memory) push(`mom.${n}`, s);
  if (combo.block.mlstmNormalizer) {
    push('n', [dk]);
    push('m', [1]);
  }
  return { segments: segs, size: offset };
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
 * Cost of one Miras mixer for a residual width dModel. `seqLen` only matters for softmax attention
 * (its per-token cost grows with the context it sees).
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
  /** A gate x → out, full-rank or low-rank with `rank`. */
  const gate = (name: string, out: number, rank = b.gateRank) => {
    const n = rank > 0 ? dModel * rank + rank * out + out : dModel * out + out;
    p[name] = (p[name] ?? 0) + n;
    f[name] = (f[name] ?? 0) + 2 * (rank > 0 ? dModel * rank + rank * out : dModel * out);
  };

  p['q proj'] = dModel * hk + bias * hk;
  if (!b.keyFromDecay) p['k proj'] = dModel * hk + bias * hk;
  p['v proj'] = dModel * hv + bias * hv;
  p['out proj'] = hv * dModel;
  f['projections'] = 2 * dModel * ((b.keyFromDecay ? 1 : 2) * hk + hv) + 2 * hv * dModel;
  if (b.convSize > 0) {
    const ch = (b.keyFromDecay ? 1 : 2) * hk + (b.convTargets === 'qkv' ? hv : 0);
    p['short conv'] = b.convSize * ch;
    f['short conv'] = 2 * b.convSize * ch;
  }
  if (b.outputGate !== 'none') {
    p['output gate'] = dModel * hv;
    f['output gate'] = 2 * dModel * hv + hv;
  }
  if (b.outputNorm !== 'none') p['output norm'] = (b.outputNorm === 'rmsnorm' ? 1 : 2) * hv;
  if (b.dSkip) p['D skip'] = hv;

  const mem = c.memory.kind;
  if (mem !== 'attention') {
    if (b.betaActivation !== 'constant' && !b.valueTimesStep) gate('β gate', b.betaPerChannel ? hv : H);
    const ret = c.retention;
    if (ret.kind === 'scalar') {
      if (ret.params.parametrization === 'sigmoid') gate('decay gate', H);
      else {
        gate('decay gate', H);
        p['A_log'] = H;
      }
    } else if (ret.kind === 'channel') {
      gate('decay gate', hk, ret.params.parametrization === 'gla' ? b.gateRank || 16 : b.gateRank);
    } else if (ret.kind === 'l2' || (['elastic', 'lq', 'kl'].includes(ret.kind) && ret.params.decay)) {
      gate('decay gate', H);
    }
    if (c.learner.kind === 'momentum' && b.momentumActivation !== 'constant') gate('momentum gate', H);
    if (c.bias.kind === 'huber' && c.bias.params.delta === 'data') gate('δ gate', H);
    if (c.learner.kind === 'multistep') {
      const extra = (c.learner.params.steps as number) - 1;
      p['k proj'] = (p['k proj'] ?? 0) * (1 + extra);
      p['v proj'] *= 1 + extra;
      f['projections'] += 2 * dModel * extra * (hk + hv);
    }
  }

  const layout = stateLayout(c, dk, dv);
  if (mem === 'mlp' && b.memoryInit === 'learned') p['initial memory'] = H * layout.segments.filter((s) => s.name.startsWith('W')).reduce((a, s) => a + s.size, 0);

  // Recurrence FLOPs per token per head.
  const steps = c.learner.kind === 'multistep' ? (c.learner.params.steps as number) : 1;
  let scan = 0;
  if (mem === 'attention') {
    const window = c.memory.params.window as number;
    const ctx = window > 0 ? Math.min(window, seqLen) : (seqLen + 1) / 2;
    scan = 2 * ctx * (dk + dv) + 3 * ctx;
  } else if (mem === 'mlp') {
    const layers = mlpLayerShapes(c, dk).reduce((a, [o, i]) => a + o * i, 0);
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
