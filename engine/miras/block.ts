/**
 * The Miras mixer block: from a `miras` mixer spec, the IR around the scan.
 *
 *   x [B,T,d] ─┬─ q, k, v projections (n_h sub-steps for DeltaProduct) → short conv + SiLU → feature map → L2 q/k
 *              ├─ gates: β (sigmoid | softplus | exp | 1, ×2 for eigenvalues in [−1,1]), log-decay g
 *              │  (mamba2 / gated-deltanet / sigmoid / GLA low-rank / HGRN2 lower bound), momentum η, Huber δ, mLSTM ĩ
 *              ├─ scan (a ScanProvider from the registry; the float64 reference provider when none is registered),
 *              │  or, for the non-parametric (softmax attention) memory, the engine's fused causal attention op
 *              │  (engine/ops/attention.ts, sliding window from the memory's `window`; it has no gates and no state)
 *              └─ output norm per head (RMSNorm | GroupNorm | LayerNorm) and gate (silu | sigmoid), D skip → output projection
 *
 * Parameter names (inside the caller's scope, e.g. "layers.0.mixer"): q, k, v, o, conv_q, conv_k, conv_v, beta, beta_b,
 * g, g_b, A_log, eta, eta_b, delta, delta_b, i, i_b, gate, norm, norm_b, D, state0 or state0_log (low-rank gates: <name>_down, <name>_up).
 * A learned initial state (state0) sets the memory only; a momentum learner's momentum starts at zero (Titans).
 */
import type { Init, Tensor } from '../ir/graph';
import { findScanProvider, scan, type ScanProvider } from '../ir/scan';
import { add, attention, div, elu1, exp, groupnorm, l2normalize, matmul, mul, pad, reshape, rmsnormGroups, shortConv, sigmoid, silu, softplus, unary } from '../ops';
import type { MirasMixer } from '../spec';
import { type Combo } from './catalog';
import { attentionAttrs } from './attention';
import { effectiveGateRank, learnedStateSize, stateLayout } from './cost';
// Registers the gate activations (logsigmoid, hgrn2, negExp, ...) as entries of the unary op.
import './gates';
import { checkedCombo } from './validate';
import { referenceProviderFor } from './reference/provider';

export interface MirasBuildContext {
  /** Layer index and count (HGRN2's lower bound and init scales may depend on depth). */
  layer: number;
  nLayers: number;
  /** ε of the output norm. */
  normEps: number;
}

const normalInit = (fanIn: number): Init => ({ kind: 'normal', std: 1 / Math.sqrt(fanIn) });
const invSoftplus = (y: number) => Math.log(Math.expm1(y));

/**
 * The mLSTM as two kernel scans when no provider runs the normaliser directly: the Hebbian scan with an
 * exponential input gate for C (values v) and for n (a value column of ones). Null if either has no provider.
 */
function mlstmAsTwoScans(mixer: MirasMixer): { values: ScanProvider; normaliser: ScanProvider } | null {
  const plain: MirasMixer = { ...mixer, block: { ...mixer.block, mlstmNormalizer: false, betaActivation: 'exp' } };
  const values = findScanProvider(plain);
  const normaliser = findScanProvider({ ...plain, headDimV: 1 });
  return values && normaliser ? { values, normaliser } : null;
}

/** Build the mixer; `x` is [B, T, d_model]. Returns [B, T, d_model]. Throws MirasValidationError for invalid combos. */
export function buildMirasMixer(x: Tensor, mixer: MirasMixer, ctx: MirasBuildContext): Tensor {
  const c: Combo = checkedCombo(mixer, { headDimK: mixer.headDimK, headDimV: mixer.headDimV });
  const g = x.graph;
  const blk = c.block;
  if (x.shape.length !== 3) throw new Error(`Miras block input must be [batch, time, d_model], got [${x.shape.join(', ')}]`);
  const [B, T, d] = x.shape;
  const H = mixer.heads;
  const dk = mixer.headDimK;
  const dv = mixer.headDimV;
  const nh = c.learner.kind === 'multistep' ? (c.learner.params.steps as number) : 1;
  /** Softmax-attention memory: no learning rate, gates or initial state (validation refuses the state-only options). */
  const nonParametric = c.memory.kind === 'attention';

  /** x W (+ b): full rank, or low rank x W_down W_up when `rank` > 0 and below fan-in and fan-out (effectiveGateRank; cost.ts counts the same). */
  const linear = (name: string, inp: Tensor, out: number, opts: { bias?: boolean | Init; rank?: number; init?: Init } = {}): Tensor => {
    const rank = opts.rank ?? 0;
    let y: Tensor;
    if (effectiveGateRank(rank, inp.shape[2], out) > 0) {
      const down = g.param(`${name}_down`, [inp.shape[2], rank], normalInit(inp.shape[2]));
      const up = g.param(`${name}_up`, [rank, out], normalInit(rank));
      y = matmul(matmul(inp, down, { name: `${name}_down` }), up, { name: `${name}_up` });
    } else {
      y = matmul(inp, g.param(name, [inp.shape[2], out], opts.init ?? normalInit(inp.shape[2])), { name });
    }
    if (opts.bias) {
      const init: Init = typeof opts.bias === 'object' ? opts.bias : { kind: 'const', value: 0 };
      y = add(y, g.param(`${name}_b`, [out], init, { decay: false }), `${name}_bias`);
    }
    return y;
  };
  const conv = (name: string, t: Tensor): Tensor => {
    if (blk.convSize === 0) return t;
    const K = blk.convSize;
    const w = g.param(name, [t.shape[2], K], { kind: 'uniform', lo: -1 / Math.sqrt(K), hi: 1 / Math.sqrt(K) }, { decay: false });
    const y = shortConv(t, w, name);
    return blk.convActivation === 'silu' ? silu(y, `${name}_silu`) : y;
  };
  const featureMap = (t: Tensor, name: string): Tensor => {
    switch (blk.featureMap) {
      case 'elu+1':
        return elu1(t, `${name}_phi`);
      case 'silu':
        return silu(t, `${name}_phi`);
      case 'relu':
        return unary('relu', t, `${name}_phi`);
      default:
        return t;
    }
  };

  // ---- q, k, v
  let q = featureMap(conv('conv_q', linear('q', x, H * dk, { bias: blk.projectionBias })), 'q');
  const vProj = linear('v', x, nh * H * dv, { bias: blk.projectionBias });
  const v = blk.convTargets === 'qkv' ? conv('conv_v', vProj) : vProj;
  let k: Tensor | null = blk.keyFromDecay ? null : featureMap(conv('conv_k', linear('k', x, nh * H * dk, { bias: blk.projectionBias })), 'k');
  if (blk.qkNorm === 'l2') {
    q = l2normalize(q, H, 1e-6, 'q_l2');
    if (k) k = l2normalize(k, nh * H, 1e-6, 'k_l2');
  }

  // ---- gates
  const tensors: Record<string, Tensor> = {};
  const scalarDecay = (name: string) => unary('logsigmoid', linear(name, x, H, { bias: { kind: 'const', value: 3 }, rank: blk.gateRank }), `${name}_log`, 1);
  let beta: Tensor | null = null;
  const ret = c.retention;
  if (ret.kind === 'scalar' && ret.params.parametrization !== 'sigmoid') {
    // Mamba2 / Gated DeltaNet: g = −exp(A_log)·softplus(W x + dt_bias), A ~ U[aInitMin, aInitMax], softplus(dt_bias) ∈ [dtMin, dtMax].
    const p = ret.params as Record<string, number>;
    const aLog = g.param('A_log', [H], { kind: 'uniform', lo: Math.log(p.aInitMin), hi: Math.log(p.aInitMax) }, { decay: false });
    const dt = softplus(linear('g', x, H, { bias: { kind: 'uniform', lo: invSoftplus(p.dtMin), hi: invSoftplus(p.dtMax) }, rank: blk.gateRank }), 'dt');
    tensors.g = mul(dt, unary('negExp', aLog, 'A'), 'g');
    if (blk.valueTimesStep) beta = dt; // Mamba2: the write strength is Δ_t
  } else if (ret.kind === 'scalar' || ret.kind === 'l2' || (['elastic', 'lq', 'kl'].includes(ret.kind) && ret.params.decay)) {
    tensors.g = scalarDecay('g');
  } else if (ret.kind === 'channel') {
    if (ret.params.parametrization === 'gla') {
      tensors.g = unary('logsigmoid', linear('g', x, H * dk, { bias: true, rank: blk.gateRank || 16 }), 'g_log', ret.params.temperature as number);
    } else {
      tensors.g = unary('hgrn2', linear('g', x, H * dk, { bias: true, rank: blk.gateRank }), 'g_log', ret.params.lowerBound as number);
    }
    if (blk.keyFromDecay) k = unary('oneMinusExp', tensors.g, 'k_from_decay');
  }
  if (!k) throw new Error('Miras block: the key is tied to the decay but this retention produces no channel-wise decay');

  if (blk.mlstmNormalizer) {
    tensors.i = linear('i', x, H, { bias: true, rank: blk.gateRank });
  } else if (!beta && !nonParametric && blk.betaActivation !== 'constant') {
    const raw = linear('beta', x, nh * H * (blk.betaPerChannel ? dv : 1), { bias: true, rank: blk.gateRank });
    beta = blk.betaActivation === 'sigmoid' ? sigmoid(raw, 'beta_act') : blk.betaActivation === 'softplus' ? softplus(raw, 'beta_act') : exp(raw, 'beta_act');
    if (blk.eigenvalueRange === '[-1,1]') beta = unary('scale', beta, 'beta_x2', 2);
  }
  if (beta) tensors.beta = beta;
  if (c.learner.kind === 'momentum') {
    const raw = linear('eta', x, H, { bias: true, rank: blk.gateRank });
    tensors.eta = blk.momentumActivation === 'sigmoid' ? sigmoid(raw, 'eta_act') : unary('scale', raw, 'eta_zero', 0);
  }
  if (c.bias.kind === 'huber' && c.bias.params.delta === 'data') {
    const raw = linear('delta', x, nh * H, { bias: true, rank: blk.gateRank });
    tensors.delta = blk.deltaActivation === 'softplus' ? softplus(raw, 'delta_act') : sigmoid(raw, 'delta_act');
  }
  if (blk.memoryInit === 'learned' && !nonParametric) {
    // The learned part is the memory (and the mLSTM n, m); the momentum after it starts at zero.
    const size = stateLayout(c, dk, dv).size;
    const learned = learnedStateSize(c, dk, dv);
    let s0: Tensor;
    if (ret.kind === 'kl') {
      // KL retention takes log W: keep the learned initial memory strictly positive, W_0 = exp(θ), θ ≈ −log(fan-in).
      const theta = g.param('state0_log', [H, learned], { kind: 'uniform', lo: -Math.log(dk) - 0.5, hi: -Math.log(dk) + 0.5 }, { decay: false });
      s0 = exp(theta, 'state0');
    } else {
      const std = c.memory.kind === 'mlp' ? 1 / Math.sqrt(dk) : 0.02;
      s0 = g.param('state0', [H, learned], { kind: 'normal', std }, { decay: false });
    }
    tensors.initialState = learned < size ? pad(s0, size - learned, 'state0_zero_momentum') : s0;
  }

  // ---- the scan
  const shape = { batch: B, time: T, heads: H, dk, dv };
  tensors.q = q;
  tensors.k = k;
  tensors.v = v;
  const runScan = (provider: ScanProvider, s: typeof shape, named: Record<string, Tensor>, name: string): Tensor => {
    const inputs = provider.inputs(s).map((decl) => {
      const t = named[decl.name];
      if (!t) throw new Error(`Miras block: the scan of ${provider.id} needs "${decl.name}", which this block does not produce`);
      return t;
    });
    return scan(provider, s, inputs, name).o;
  };
  let y: Tensor;
  const direct = nonParametric ? null : findScanProvider(mixer);
  const mlstm = !direct && blk.mlstmNormalizer ? mlstmAsTwoScans(mixer) : null;
  if (nonParametric) {
    // The op's scale d_k^{-1/2} is the reference's (reference/scan.ts attentionHead); the catalog's window 0 = full causal.
    y = attention(q, k, v, attentionAttrs(c, H), 'scan_attention');
  } else if (mlstm) {
    // mLSTM without a dedicated kernel: C and the normaliser n are the same Hebbian scan with values v and 1,
    // h = Cᵀq / max(|nᵀq|, 1) (xLSTM Eq. 16-21 without the stabiliser, identical in exact arithmetic).
    const beta = exp(tensors.i, 'i_exp');
    const gates = { q, k, g: tensors.g, beta };
    const num = reshape(runScan(mlstm.values, shape, { ...gates, v }, 'scan'), [B, T, H, dv], 'mlstm_num');
    const ones = unary('one', beta, 'mlstm_ones');
    const nq = runScan(mlstm.normaliser, { ...shape, dv: 1 }, { ...gates, v: ones }, 'scan_normaliser');
    const den = reshape(unary('absMax1', nq, 'mlstm_den'), [B, T, H, 1], 'mlstm_den_heads');
    y = reshape(div(num, den, 'mlstm_h'), [B, T, H * dv], 'o_heads');
  } else {
    y = reshape(runScan(direct ?? referenceProviderFor(c, { headDimK: dk, headDimV: dv }), shape, tensors, 'scan'), [B, T, H * dv], 'o_heads');
  }

  // ---- output: norm per head and gate, D skip, projection
  const norm = (t: Tensor): Tensor => {
    if (blk.outputNorm === 'none') return t;
    const w = g.param('norm', [H * dv], { kind: 'const', value: 1 }, { decay: false });
    if (blk.outputNorm === 'rmsnorm') return rmsnormGroups(t, H, w, ctx.normEps, 'o_norm');
    const b = g.param('norm_b', [H * dv], { kind: 'const', value: 0 }, { decay: false });
    return groupnorm(t, H, w, b, ctx.normEps, 'o_norm');
  };
  const gateOut = (t: Tensor): Tensor => {
    if (blk.outputGate === 'none') return t;
    const z = linear('gate', x, H * dv);
    return mul(t, blk.outputGate === 'silu' ? silu(z, 'gate_act') : sigmoid(z, 'gate_act'), 'o_gated');
  };
  if (blk.dSkip) y = add(y, mul(v, g.param('D', [H * dv], { kind: 'const', value: 1 }, { decay: false }), 'D_skip'), 'o_skip');
  y = blk.gateBeforeNorm ? norm(gateOut(y)) : gateOut(norm(y));
  return linear('o', y, d, { init: normalInit(H * dv * 2 * ctx.nLayers) });
}
