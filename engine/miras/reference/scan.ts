/**
 * THE FLOAT64 REFERENCE SCAN: a readable token-recurrent oracle for any valid catalog combination.
 * Every fast kernel (engine/miras/recurrent, engine/miras/chunk) is compared against this file.
 *
 *   referenceScan(combo, shape, inputs)            → { o, finalState }
 *   referenceScanGrad(combo, shape, inputs, grads) → { o, finalState, grads: { q, k, v, beta, g, ..., initialState } }
 *   scanInputDecls(combo, shape)                   → the tensors a combination reads, with shapes and meaning
 *
 * `combo` is resolveCombo(mixer) from engine/miras/catalog (memory, bias, retention, learner, block).
 * `shape` is { batch B, time T, heads H, dk, dv } (engine/ir/scan.ts ScanShape).
 *
 * TENSORS (fla layout, row-major, float64):
 *   q [B,T,H,dk], k [B,T',H,dk], v [B,T',H,dv]     T' = T·n_h for the n_h-step learner (sub-step j of token t at t·n_h + j), else T
 *   beta  [B,T',H] or [B,T',H,dv] (block.betaPerChannel)  learning rate η_t / θ_t / write strength; absent ⇒ 1
 *   g     [B,T,H] (scalar-style decays) or [B,T,H,dk] (channel)  natural-log decay, α_t = exp(g_t)
 *   eta   [B,T,H]   momentum decay η_t (momentum learner)
 *   delta [B,T',H]  Huber threshold δ_t (Huber bias with data-dependent δ; one per sub-step)
 *   i     [B,T,H]   mLSTM log input gate ĩ_t (block.mlstmNormalizer; replaces beta)
 *   initialState [B,H,stateSize] optional; layout from engine/miras/cost.ts stateLayout (matrix: [B,H,dk,dv])
 * Outputs: o [B,T,H,dv]; finalState [B,H,stateSize] (for ℓq retention the carried state is the accumulator A).
 *
 * SEMANTICS (one token; S ∈ R^{dk×dv} is the fla layout of W = Sᵀ; U_t is the learner's step):
 *   gradient   ∇ = ∂ℓ(W; k_t, v_t)/∂W with the bias' g(e), e = M(k) − v (matrix: ∇ = k gᵀ; vector: row n gets k_n g(y_n − v);
 *              MLP: backprop through M(x) = x + LN(f(x)), LN without affine, ε = LN_EPS)
 *   learner    gd:        U = β ⊙ ∇(W_{t−1}); with retention.gradientAt = 'decayed' (constant/scalar/channel/l2, the fla
 *                         order): W' = decay(W_{t−1}), W_t = W' − β ⊙ ∇(W') (Gated DeltaNet S = α(I − βkkᵀ)S + βkvᵀ)
 *              momentum:  Mom_t = η_t Mom_{t−1} − β ∇(W_{t−1}); U = −Mom_t (Titans Eq. 13-14) (∇ at decay(W_{t−1}) when 'decayed')
 *                         Mom_0 = the mom.* segments of initialState (zero when absent); the block always passes zero (Titans' S_0 = 0)
 *              multistep: sub-step 0: U = β_0 ∇(decay(W_{t−1})) (∇(W_{t−1}) for elastic/ℓq/KL), W = R(W_{t−1}, U); j > 0:
 *                         W = R(W, β_j ∇(W)) without decay (DeltaProduct; elastic/ℓq/KL apply their map every sub-step)
 *              implicit:  W' = decay(W_{t−1}); W_t = R(W_{t−1}, ε ∇(W')), ε = β/(1 + β‖k‖²) (Longhorn; = W' − ε∇(W') uncoupled)
 *              chunk:     U = β ⊙ ∇(W_{t′}) with W_{t′} the memory at the chunk start (after the lag token when lagToken),
 *                         always undecayed (Titans §3.2 chunk identity); at b = 1 it equals gd with gradientAt = 'previous'
 *   retention  none: W − U; constant/scalar/l2: αW − U (l2 coupled: α(W − U)); channel: Diag(α)S − U;
 *              elastic: S_γ(αW − U); lq: A ← αA − U, W = N_q(A); kl: c·softmax_slice(α log W − U)
 *   read-out   o_t = S_tᵀ (s·q_t) (s = d_k^{-1/2} when block.queryScale = 'inv-sqrt-dk'); MLP: o_t = M_t(s·q_t)
 *   mLSTM      m_t = max(g_t + m_{t−1}, ĩ_t), C_t = e^{g_t+m_{t−1}−m_t} C_{t−1} + e^{ĩ_t−m_t} k vᵀ, n likewise,
 *              o_t = C_tᵀq / max(|n_tᵀq|, e^{−m_t})  (xLSTM Eq. 16-21, stabilised)
 *   attention  o_t = Σ_{i ∈ window} softmax_i(q·k_i/√dk) v_i; no recurrent state (finalState is empty)
 * Block-level processing (projections, conv, qk-norm, feature maps, β doubling for [−1,1], output norm/gate) is NOT
 * part of the scan: inputs arrive already processed, exactly as fla's naive recurrences take them.
 */
import type { ScanShape } from '../../ir/scan';
import type { Combo } from '../catalog';
import { mlpLayerShapes, stateLayout } from '../cost';
import * as ad from './tape';
import { Tape, Var } from './tape';

export type { ScanShape } from '../../ir/scan';
export const LN_EPS = 1e-6;

export type ScanArrays = Record<string, Float64Array>;

/** Every tensor name the scan knows, for docs and CLI help (shapes symbolic; T' = T·n_h for the n_h-step learner). */
export const SCAN_TENSORS: { name: string; shape: string; meaning: string }[] = [
  { name: 'q', shape: '[B, T, H, dk]', meaning: 'queries, after projection, short conv, feature map and q/k norm' },
  { name: 'k', shape: "[B, T', H, dk]", meaning: 'keys (sub-step j of token t at position t·n_h + j)' },
  { name: 'v', shape: "[B, T', H, dv]", meaning: 'values' },
  { name: 'beta', shape: "[B, T', H] or [B, T', H, dv]", meaning: 'learning rate / write strength η_t (θ_t for momentum); 1 when absent; already doubled for eigenvalues in [−1, 1]' },
  { name: 'g', shape: '[B, T, H] or [B, T, H, dk]', meaning: 'natural-log decay, α_t = exp(g_t) (per key channel for channel-wise retention)' },
  { name: 'eta', shape: '[B, T, H]', meaning: 'momentum decay η_t ∈ (0, 1) (momentum learner)' },
  { name: 'delta', shape: "[B, T', H]", meaning: 'Huber threshold δ_t > 0 (data-dependent δ)' },
  { name: 'i', shape: '[B, T, H]', meaning: 'mLSTM log input gate ĩ_t (with the mLSTM normaliser; replaces beta)' },
  { name: 'initialState', shape: '[B, H, stateSize]', meaning: 'initial state (engine/miras/cost.ts stateLayout); zeros or uniform when absent' },
  { name: 'o', shape: '[B, T, H, dv]', meaning: 'output: read-out of every token' },
  { name: 'finalState', shape: '[B, H, stateSize]', meaning: 'output: state after the last token ([B, H, dk, dv] for a plain matrix memory)' },
];

export interface ScanTensorInfo {
  name: string;
  shape: number[];
  required: boolean;
  doc: string;
}

function steps(c: Combo): number {
  return c.learner.kind === 'multistep' ? (c.learner.params.steps as number) : 1;
}

function usesDecayGate(c: Combo): 'scalar' | 'channel' | null {
  const r = c.retention;
  if (r.kind === 'channel') return 'channel';
  if (r.kind === 'scalar' || r.kind === 'l2') return 'scalar';
  if (['elastic', 'lq', 'kl'].includes(r.kind) && r.params.decay) return 'scalar';
  return null;
}

/** The tensors this combination reads and writes, with fla-layout shapes. */
export function scanInputDecls(c: Combo, s: ScanShape): ScanTensorInfo[] {
  const { batch: B, time: T, heads: H, dk, dv } = s;
  const T2 = T * steps(c);
  const out: ScanTensorInfo[] = [
    { name: 'q', shape: [B, T, H, dk], required: true, doc: 'queries (after projection, conv, feature map, qk-norm)' },
    { name: 'k', shape: [B, T2, H, dk], required: true, doc: steps(c) > 1 ? `keys, ${steps(c)} sub-steps per token` : 'keys' },
    { name: 'v', shape: [B, T2, H, dv], required: true, doc: 'values' },
  ];
  if (c.memory.kind === 'attention') return out;
  if (c.block.mlstmNormalizer) {
    out.push({ name: 'i', shape: [B, T, H], required: true, doc: 'mLSTM log input gate ĩ_t (i_t = exp ĩ_t)' });
  } else {
    out.push({
      name: 'beta',
      shape: c.block.betaPerChannel ? [B, T2, H, dv] : [B, T2, H],
      required: false,
      doc: 'learning rate / write strength (1 when absent)',
    });
  }
  const gate = usesDecayGate(c);
  if (gate) out.push({ name: 'g', shape: gate === 'channel' ? [B, T, H, dk] : [B, T, H], required: true, doc: 'log decay, α_t = exp(g_t)' });
  if (c.learner.kind === 'momentum') out.push({ name: 'eta', shape: [B, T, H], required: true, doc: 'momentum decay η_t' });
  if (c.bias.kind === 'huber' && c.bias.params.delta === 'data') out.push({ name: 'delta', shape: [B, T2, H], required: true, doc: 'Huber threshold δ_t > 0 (per sub-step)' });
  const size = stateLayout(c, dk, dv).size;
  out.push({
    name: 'initialState',
    shape: [B, H, size],
    required: c.block.memoryInit === 'learned',
    doc: 'initial state (zeros / uniform per block.memoryInit when absent)',
  });
  return out;
}

export function scanOutputDecls(c: Combo, s: ScanShape): ScanTensorInfo[] {
  const size = c.memory.kind === 'attention' ? 0 : stateLayout(c, s.dk, s.dv).size;
  return [
    { name: 'o', shape: [s.batch, s.time, s.heads, s.dv], required: true, doc: 'read-out per token' },
    { name: 'finalState', shape: [s.batch, s.heads, size], required: true, doc: 'state after the last token' },
  ];
}

const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

function checkInputs(c: Combo, s: ScanShape, inputs: ScanArrays): void {
  const decls = scanInputDecls(c, s);
  for (const d of decls) {
    const x = inputs[d.name];
    if (!x) {
      if (d.required) throw new Error(`reference scan: missing input "${d.name}" [${d.shape.join(', ')}]: ${d.doc}`);
      continue;
    }
    if (x.length !== numel(d.shape)) {
      throw new Error(`reference scan: input "${d.name}" has ${x.length} elements, expected [${d.shape.join(', ')}] = ${numel(d.shape)} (fla layout)`);
    }
  }
  const known = new Set(decls.map((d) => d.name));
  for (const name of Object.keys(inputs)) {
    if (!known.has(name)) throw new Error(`reference scan: unexpected input "${name}"; this combination reads ${[...known].join(', ')}`);
  }
}

// ------------------------------------------------------------------------------ bias: g = ∂ℓ/∂y

const ELEMENTWISE_BIAS = (c: Combo) => ['dot', 'l2', 'lp', 'l1'].includes(c.bias.kind) || (c.bias.kind === 'huber' && c.bias.params.variant === 'coordinate');

/** g(e) for one error group e (a d_v vector, or any shape for elementwise biases); v only for the dot bias. */
function biasGrad(c: Combo, e: Var, v: Var, delta: Var | null): Var {
  const p = c.bias.params;
  switch (c.bias.kind) {
    case 'dot':
      return ad.neg(v);
    case 'l2':
      return e;
    case 'lp': {
      const P = p.p as number;
      return ad.mul(ad.scaleC(e, P), ad.powC(ad.addC(ad.square(e), p.eps as number), P / 2 - 1));
    }
    case 'l1': {
      const a = p.sharpness as number;
      return a === 0 ? ad.signV(e) : ad.tanh(ad.scaleC(e, a));
    }
    case 'huber': {
      const d = delta!;
      if (p.variant === 'coordinate') return ad.clampSym(e, d);
      const norm = Math.sqrt(e.value.reduce((a, x) => a + x * x, 0));
      if (norm <= d.item) return e;
      if (p.variant === 'norm') return ad.scale(e, ad.div(d, ad.sqrt(ad.sum(ad.square(e))))); // δ e/‖e‖
      return ad.scale(ad.signV(e), d);
    }
    case 'robust': {
      const n = ad.sqrt(ad.addC(ad.sum(ad.square(e)), p.eps as number));
      return ad.add(e, ad.scale(e, ad.scaleC(ad.recip(n), p.shift as number)));
    }
  }
  throw new Error(`reference scan: no gradient rule for bias "${c.bias.kind}"`);
}

// ---------------------------------------------------------------------------------- MLP memory

function activation(c: Combo) {
  const a = c.memory.params.activation as string;
  return a === 'silu' ? { f: ad.silu, df: ad.siluPrime } : a === 'relu' ? { f: ad.relu, df: ad.reluPrime } : { f: ad.gelu, df: ad.geluPrime };
}

interface MlpCache {
  ins: Var[]; // input of each layer
  zs: Var[]; // pre-activation of each layer
  xhat: Var | null;
  invS: Var | null;
  y: Var;
}

/** M(x) = x + LN(W_L σ(… σ(W_1 x))) (residual and LN optional). Layer shapes [out, in] in application order. */
function mlpForward(c: Combo, Ws: Var[], x: Var): MlpCache {
  const act = activation(c);
  const ins: Var[] = [];
  const zs: Var[] = [];
  let h = x;
  Ws.forEach((W, l) => {
    ins.push(h);
    const z = ad.matVec(W, h);
    zs.push(z);
    h = l < Ws.length - 1 ? act.f(z) : z;
  });
  let out = h;
  let xhat: Var | null = null;
  let invS: Var | null = null;
  if (c.memory.params.layerNorm) {
    const d = out.size;
    const mu = ad.scaleC(ad.sum(out), 1 / d);
    const zc = ad.addScalar(out, ad.neg(mu));
    const variance = ad.scaleC(ad.sum(ad.square(zc)), 1 / d);
    invS = ad.recip(ad.sqrt(ad.addC(variance, LN_EPS)));
    xhat = ad.scale(zc, invS);
    out = xhat;
  }
  const y = c.memory.params.residual ? ad.add(x, out) : out;
  return { ins, zs, xhat, invS, y };
}

/** ∂ℓ/∂W_l for every layer given g = ∂ℓ/∂y, written with tape ops so the outer backward differentiates it. */
function mlpBackward(c: Combo, Ws: Var[], cache: MlpCache, g: Var): Var[] {
  const act = activation(c);
  let gz = g; // residual passes g through unchanged to the LN output
  if (cache.xhat && cache.invS) {
    // ∂ℓ/∂z = (d·g − Σg − x̂·Σ(g⊙x̂)) / (d·s)   (LayerNorm backward, no affine)
    const d = g.size;
    const t = ad.addScalar(ad.scaleC(g, d), ad.neg(ad.sum(g)));
    const u = ad.sub(t, ad.scale(cache.xhat, ad.sum(ad.mul(g, cache.xhat))));
    gz = ad.scale(u, ad.scaleC(cache.invS, 1 / d));
  }
  const grads: Var[] = new Array(Ws.length);
  for (let l = Ws.length - 1; l >= 0; l--) {
    grads[l] = ad.outer(gz, cache.ins[l]);
    if (l > 0) gz = ad.mul(ad.vecMat(gz, Ws[l]), act.df(cache.zs[l - 1]));
  }
  return grads;
}

// ------------------------------------------------------------------------- memory read and gradient

/** ∇ℓ(W; k, v) for every memory tensor. */
function memoryGradient(c: Combo, W: Var[], k: Var, v: Var, delta: Var | null): Var[] {
  if (c.memory.kind === 'matrix') {
    if (c.bias.kind === 'dot') return [ad.outer(k, ad.neg(v))];
    const e = ad.sub(ad.vecMat(k, W[0]), v);
    return [ad.outer(k, biasGrad(c, e, v, delta))];
  }
  if (c.memory.kind === 'vector') {
    const S = W[0];
    // Row n is its own memory with scalar key k_n: y_n = k_n S[n,:], E[n,:] = y_n − v.
    const E = ad.subRowVector(ad.mulRows(S, k), v);
    let G: Var;
    if (c.bias.kind === 'dot') G = ad.subRowVector(ad.zeros(S.shape), v);
    else if (ELEMENTWISE_BIAS(c)) G = biasGrad(c, E, v, delta);
    else G = ad.stackRows(Array.from({ length: S.shape[0] }, (_, n) => biasGrad(c, ad.row(E, n), v, delta)));
    return [ad.mulRows(G, k)];
  }
  // Deep MLP memory: forward the key, bias gradient at the output, backprop to every layer.
  const cache = mlpForward(c, W, k);
  const e = ad.sub(cache.y, v);
  return mlpBackward(c, W, cache, biasGrad(c, e, v, delta));
}

function readOut(c: Combo, W: Var[], q: Var): Var {
  if (c.memory.kind === 'mlp') return mlpForward(c, W, q).y;
  return ad.vecMat(q, W[0]);
}

/** ℓq normalisation N_q(A) of one tensor (Moneta). */
function lqNormalise(c: Combo, A: Var): Var {
  const q = c.retention.params.q as number;
  const eps = c.retention.params.eps as number;
  const form = c.retention.params.form as string;
  const normP = (x: Var, p: number) => ad.powC(ad.sum(ad.powC(ad.addC(ad.square(x), eps), p / 2)), 1 / p);
  if (form === 'mirror') {
    const p = q / (q - 1);
    const dir = ad.mul(A, ad.powC(ad.addC(ad.square(A), eps), (p - 2) / 2)); // sign(A)|A|^{p−1}
    return ad.scale(dir, ad.powC(normP(A, p), -(p - 2)));
  }
  const exponent = form === 'mlm' ? (q - 2) / q : q - 2;
  return ad.scale(A, ad.powC(normP(A, q), -exponent));
}

/** The memory the scan reads and differentiates (ℓq: N_q(A); otherwise the carried state). */
function effective(c: Combo, carried: Var[]): Var[] {
  return c.retention.kind === 'lq' ? carried.map((A) => lqNormalise(c, A)) : carried;
}

function softmaxAxis(c: Combo): 0 | 1 | 'all' {
  const a = c.retention.params.axis as string;
  if (a === 'all') return 'all';
  // S layout [dk, dv] (matrix, vector): the key index is axis 0; MLP W [out, in]: the input index is axis 1.
  if (c.memory.kind === 'mlp') return a === 'key' ? 1 : 0;
  return a === 'key' ? 0 : 1;
}

type Decay = { kind: 'scalar'; a: Var } | { kind: 'channel'; a: Var } | null;

/** The memory after a multiplicative decay alone, where fla-style learners take the gradient. */
function decayOnly(W: Var, decay: Decay): Var {
  if (!decay) return W;
  return decay.kind === 'scalar' ? ad.scale(W, decay.a) : ad.mulRows(W, decay.a);
}

/** W_t = R(W_{t−1}, U) for one memory tensor. */
function retain(c: Combo, W: Var, U: Var | null, decay: Decay): Var {
  const decayed = (x: Var) => (!decay ? x : decay.kind === 'scalar' ? ad.scale(x, decay.a) : ad.mulRows(x, decay.a));
  const minusU = (x: Var) => (U ? ad.sub(x, U) : x);
  switch (c.retention.kind) {
    case 'none':
    case 'constant':
    case 'scalar':
    case 'channel':
    case 'lq':
      return minusU(decayed(W));
    case 'l2':
      return c.retention.params.coupled ? decayed(minusU(W)) : minusU(decayed(W));
    case 'elastic': {
      const z = minusU(decayed(W));
      const gamma = c.retention.params.threshold as number;
      return c.retention.params.surrogate === 'smooth' ? ad.smoothThreshold(z, gamma) : ad.softThreshold(z, gamma);
    }
    case 'kl': {
      const z = minusU(decay && decay.kind === 'scalar' ? ad.scale(ad.log(W), decay.a) : ad.log(W));
      return ad.softmaxSlices(z, softmaxAxis(c), c.retention.params.scale as number);
    }
  }
  throw new Error(`reference scan: no closed form for retention "${c.retention.kind}"`);
}

// ----------------------------------------------------------------------------------- the scan

interface RunResult {
  o: Var[]; // per (b, t, h), in [B, T, H] order
  state: Var[]; // per (b, h): flat state
}

function initialMemory(c: Combo, s: ScanShape, init: Var | undefined, b: number, h: number) {
  const layout = stateLayout(c, s.dk, s.dv);
  const seg = (name: string): Var => {
    const sg = layout.segments.find((x) => x.name === name)!;
    if (init) return ad.slice(init, (b * s.heads + h) * layout.size + sg.offset, sg.size, sg.shape);
    if (c.block.memoryInit === 'learned') throw new Error('reference scan: block.memoryInit = "learned" needs the input "initialState"');
    if (c.block.memoryInit === 'uniform' && !name.startsWith('mom.') && name !== 'n' && name !== 'm') {
      // Uniform c/n over each softmax slice (KL) or 1/(fan-in) otherwise: strictly positive.
      const [m, n] = sg.shape;
      const axis = c.retention.kind === 'kl' ? softmaxAxis(c) : 1;
      const count = axis === 'all' ? m * n : axis === 0 ? m : n;
      const scaleC = c.retention.kind === 'kl' ? (c.retention.params.scale as number) : 1;
      return ad.constant(new Float64Array(sg.size).fill(scaleC / count), sg.shape);
    }
    return ad.zeros(sg.shape);
  };
  const memNames = layout.segments.filter((x) => x.name === 'S' || /^W\d+$/.test(x.name)).map((x) => x.name);
  return {
    mem: memNames.map(seg),
    mom: c.learner.kind === 'momentum' ? memNames.map((n) => seg(`mom.${n}`)) : null,
    n: c.block.mlstmNormalizer ? seg('n') : null,
    m: c.block.mlstmNormalizer ? seg('m') : null,
  };
}

function flatState(parts: Var[]): Var {
  if (parts.length === 0) return ad.constant(new Float64Array(0), [0]);
  return ad.concat(parts);
}

function run(c: Combo, s: ScanShape, x: Record<string, Var>): RunResult {
  const { batch: B, time: T, heads: H, dk, dv } = s;
  const nh = steps(c);
  const T2 = T * nh;
  const qs = c.block.queryScale === 'inv-sqrt-dk' ? 1 / Math.sqrt(dk) : 1;
  const at = (name: string, b: number, t: number, h: number, Tn: number, width: number) =>
    ad.slice(x[name], ((b * Tn + t) * H + h) * width, width);
  const o: Var[] = new Array(B * T * H);
  const state: Var[] = new Array(B * H);

  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      if (c.memory.kind === 'attention') {
        attentionHead(c, s, x, b, h, o);
        state[b * H + h] = ad.constant(new Float64Array(0), [0]);
        continue;
      }
      const init = initialMemory(c, s, x.initialState, b, h);
      if (c.block.mlstmNormalizer) {
        state[b * H + h] = mlstmHead(c, s, x, b, h, init, o, qs);
        continue;
      }
      let carried = init.mem;
      let mom = init.mom;
      let anchor: Var[] | null = null;
      const gateDecay = usesDecayGate(c);
      const constGamma =
        c.retention.kind === 'constant'
          ? c.retention.params.schedule === 'retnet'
            ? 1 - Math.pow(2, -(c.retention.params.base as number) - h)
            : (c.retention.params.gamma as number)
          : null;
      const betaW = c.block.betaPerChannel ? dv : 1;
      // Multiplicative retentions (constant/scalar/channel) may take the gradient at the decayed memory.
      const gradAtDecayed =
        c.retention.params.gradientAt === 'decayed' && ['constant', 'scalar', 'channel', 'l2'].includes(c.retention.kind) && !c.retention.params.coupled;
      const lr = (grads: Var[], beta: Var | null) =>
        beta ? grads.map((gr) => (beta.size === 1 ? ad.scale(gr, beta) : ad.mulCols(gr, beta))) : grads;

      for (let t = 0; t < T; t++) {
        const decay: Decay =
          constGamma !== null
            ? { kind: 'scalar', a: ad.scalarConst(constGamma) }
            : gateDecay
              ? { kind: gateDecay, a: ad.exp(at('g', b, t, h, T, gateDecay === 'channel' ? dk : 1)) }
              : null;
        const sub = (j: number) => ({
          k: at('k', b, t * nh + j, h, T2, dk),
          v: at('v', b, t * nh + j, h, T2, dv),
          beta: x.beta ? at('beta', b, t * nh + j, h, T2, betaW) : null,
          delta:
            c.bias.kind !== 'huber'
              ? null
              : c.bias.params.delta === 'data'
                ? at('delta', b, t * nh + j, h, T2, 1)
                : ad.scalarConst(c.bias.params.deltaValue as number),
        });

        switch (c.learner.kind) {
          case 'gd':
          case 'chunk': {
            const { k, v, beta, delta } = sub(0);
            if (c.learner.kind === 'chunk') {
              const b0 = c.learner.params.chunkSize as number;
              if (t % b0 === 0) anchor = effective(c, carried);
              const U = lr(memoryGradient(c, anchor!, k, v, delta), beta);
              carried = carried.map((W, i) => retain(c, W, U[i], decay));
              if (c.learner.params.lagToken && t % b0 === 0) anchor = effective(c, carried);
            } else if (gradAtDecayed && decay) {
              // fla / Gated DeltaNet order: decay first, then the step with the gradient at the decayed memory.
              const decayed = carried.map((W) => retain(c, W, null, decay));
              const U = lr(memoryGradient(c, effective(c, decayed), k, v, delta), beta);
              carried = decayed.map((W, i) => ad.sub(W, U[i]));
            } else {
              const U = lr(memoryGradient(c, effective(c, carried), k, v, delta), beta);
              carried = carried.map((W, i) => retain(c, W, U[i], decay));
            }
            break;
          }
          case 'momentum': {
            const { k, v, beta, delta } = sub(0);
            const eta = at('eta', b, t, h, T, 1);
            const base = gradAtDecayed && decay ? carried.map((W) => retain(c, W, null, decay)) : carried;
            const U = lr(memoryGradient(c, effective(c, base), k, v, delta), beta);
            mom = mom!.map((M, i) => ad.sub(ad.scale(M, eta), U[i]));
            carried = carried.map((W, i) => retain(c, W, ad.neg(mom![i]), decay));
            break;
          }
          case 'multistep': {
            // DeltaProduct: the decay acts once, on sub-step 0, whose gradient is taken at the decayed memory for a
            // multiplicative retention (fla gated_delta_product) and at W_{t−1} for elastic/ℓq/KL; sub-steps j > 0 step
            // from the current memory. Each sub-step applies the retention's closed form (a coupled ℓ2 scales its
            // step, elastic/ℓq/KL apply their map).
            const multiplicative = ['none', 'constant', 'scalar', 'channel', 'l2'].includes(c.retention.kind);
            for (let j = 0; j < nh; j++) {
              const { k, v, beta, delta } = sub(j);
              const at0 = j === 0 && multiplicative ? carried.map((W) => decayOnly(W, decay)) : carried;
              const U = lr(memoryGradient(c, effective(c, at0), k, v, delta), beta);
              carried = carried.map((W, i) => retain(c, W, U[i], j === 0 ? decay : null));
            }
            break;
          }
          case 'implicit': {
            // Longhorn: the proximal step at the decayed memory is GD with step ε = β/(1 + β‖k‖²); the retention's
            // closed form then applies it (a coupled ℓ2 also scales the step).
            const { k, v, beta, delta } = sub(0);
            const bt = beta ?? ad.scalarConst(1);
            const eps = ad.div(bt, ad.addC(ad.scale(bt, ad.dot(k, k)), 1));
            const grads = memoryGradient(c, carried.map((W) => decayOnly(W, decay)), k, v, delta);
            carried = carried.map((W, i) => retain(c, W, eps.size === 1 ? ad.scale(grads[i], eps) : ad.mulCols(grads[i], eps), decay));
            break;
          }
          default:
            throw new Error(`reference scan: learner "${c.learner.kind}" needs a parametric memory`);
        }
        const q = ad.scaleC(at('q', b, t, h, T, dk), qs);
        o[(b * T + t) * H + h] = readOut(c, effective(c, carried), q);
      }
      state[b * H + h] = flatState([...carried, ...(mom ?? [])]);
    }
  }
  return { o, state };
}

/** mLSTM with normaliser and stabiliser (Beck et al. 2024, xLSTM Eq. 16-21, in log space). */
function mlstmHead(
  c: Combo,
  s: ScanShape,
  x: Record<string, Var>,
  b: number,
  h: number,
  init: ReturnType<typeof initialMemory>,
  o: Var[],
  qs: number,
): Var {
  const { time: T, heads: H, dk, dv } = s;
  const at = (name: string, t: number, width: number) => ad.slice(x[name], ((b * T + t) * H + h) * width, width);
  let C = init.mem[0];
  let n = init.n!;
  let m = init.m!;
  for (let t = 0; t < T; t++) {
    const logf =
      c.retention.kind === 'scalar'
        ? at('g', t, 1)
        : ad.scalarConst(c.retention.kind === 'constant' ? Math.log(c.retention.params.schedule === 'retnet' ? 1 - Math.pow(2, -(c.retention.params.base as number) - h) : (c.retention.params.gamma as number)) : 0);
    const ig = at('i', t, 1);
    const fm = ad.add(logf, m);
    const mNew = fm.item >= ig.item ? fm : ig; // m_t = max(log f_t + m_{t−1}, ĩ_t)
    const fs = ad.exp(ad.sub(fm, mNew));
    const is = ad.exp(ad.sub(ig, mNew));
    const k = at('k', t, dk);
    const v = at('v', t, dv);
    C = ad.add(ad.scale(C, fs), ad.scale(ad.outer(k, v), is));
    n = ad.add(ad.scale(n, fs), ad.scale(k, is));
    m = mNew;
    const q = ad.scaleC(at('q', t, dk), qs);
    const num = ad.vecMat(q, C);
    const nq = ad.dot(n, q);
    const floor = ad.exp(ad.neg(m));
    const den = Math.abs(nq.item) >= floor.item ? ad.absV(nq) : floor;
    o[(b * T + t) * H + h] = ad.scale(num, ad.recip(den));
  }
  void dv;
  return flatState([C, n, m]);
}

/** Non-parametric memory: causal softmax attention with an optional sliding window. */
function attentionHead(c: Combo, s: ScanShape, x: Record<string, Var>, b: number, h: number, o: Var[]): void {
  const { time: T, heads: H, dk, dv } = s;
  const window = c.memory.params.window as number;
  const at = (name: string, t: number, width: number) => ad.slice(x[name], ((b * T + t) * H + h) * width, width);
  const ks: Var[] = [];
  const vs: Var[] = [];
  for (let t = 0; t < T; t++) {
    ks.push(at('k', t, dk));
    vs.push(at('v', t, dv));
    const lo = window > 0 ? Math.max(0, t - window + 1) : 0;
    const q = ad.scaleC(at('q', t, dk), 1 / Math.sqrt(dk));
    const K = ad.stackRows(ks.slice(lo, t + 1));
    const V = ad.stackRows(vs.slice(lo, t + 1));
    const p = ad.softmaxSlices(ad.reshape(ad.matVec(K, q), [1, t + 1 - lo]), 1);
    o[(b * T + t) * H + h] = ad.vecMat(ad.reshape(p, [t + 1 - lo]), V);
  }
}

function assemble(vars: Var[], width: number, total: number): Float64Array {
  const out = new Float64Array(total);
  vars.forEach((v, i) => out.set(v.value, i * width));
  return out;
}

/** Forward only: o [B,T,H,dv] and finalState [B,H,stateSize]. */
export function referenceScan(c: Combo, s: ScanShape, inputs: ScanArrays): { o: Float64Array; finalState: Float64Array } {
  checkInputs(c, s, inputs);
  const x: Record<string, Var> = {};
  for (const [name, arr] of Object.entries(inputs)) x[name] = ad.constant(arr);
  const r = run(c, s, x);
  const stateSize = r.state[0]?.size ?? 0;
  return { o: assemble(r.o, s.dv, s.batch * s.time * s.heads * s.dv), finalState: assemble(r.state, stateSize, s.batch * s.heads * stateSize) };
}

/**
 * Forward and backward: gradients of L = Σ grads.o ⊙ o + Σ grads.finalState ⊙ finalState with respect to
 * every input given (q, k, v, gates, initialState). grads.finalState may be omitted (zero).
 */
export function referenceScanGrad(
  c: Combo,
  s: ScanShape,
  inputs: ScanArrays,
  grads: { o: Float64Array; finalState?: Float64Array },
): { o: Float64Array; finalState: Float64Array; grads: ScanArrays } {
  checkInputs(c, s, inputs);
  // The tape keeps every intermediate tensor: refuse shapes whose tape would not fit in memory.
  const perStep = c.memory.kind === 'attention' ? s.time * (s.dk + s.dv) : Math.max(stateLayout(c, s.dk, s.dv).size, s.dk + s.dv);
  const bytes = s.batch * s.time * s.heads * steps(c) * perStep * 8 * 16;
  if (bytes > 4e9) {
    throw new Error(
      `reference scan gradients: about ${(bytes / 1e9).toFixed(0)} GB of tape for B=${s.batch} T=${s.time} H=${s.heads} (state ${perStep} floats); ` +
        'the float64 oracle is for checking at small shapes. Reduce batch, time or heads (forward-only runs have no such limit).',
    );
  }
  const tape = new Tape();
  const x: Record<string, Var> = {};
  for (const [name, arr] of Object.entries(inputs)) x[name] = tape.param(arr);
  const r = run(c, s, x);
  const stateSize = r.state[0]?.size ?? 0;
  if (grads.o.length !== s.batch * s.time * s.heads * s.dv) throw new Error(`reference scan: grad of "o" must have ${s.batch * s.time * s.heads * s.dv} elements`);
  r.o.forEach((v, i) => {
    if (v.requiresGrad) v.ensureGrad().set(grads.o.subarray(i * s.dv, (i + 1) * s.dv));
  });
  if (grads.finalState) {
    if (grads.finalState.length !== s.batch * s.heads * stateSize) throw new Error(`reference scan: grad of "finalState" must have ${s.batch * s.heads * stateSize} elements`);
    r.state.forEach((v, i) => {
      if (v.requiresGrad) {
        const g = v.ensureGrad();
        for (let j = 0; j < stateSize; j++) g[j] += grads.finalState![i * stateSize + j];
      }
    });
  }
  tape.backward();
  const out: ScanArrays = {};
  for (const [name, v] of Object.entries(x)) out[name] = v.grad ?? new Float64Array(v.size);
  return {
    o: assemble(r.o, s.dv, s.batch * s.time * s.heads * s.dv),
    finalState: assemble(r.state, stateSize, s.batch * s.heads * stateSize),
    grads: out,
  };
}

export { mlpLayerShapes };
