/**
 * Design-time validity rules for Miras combinations. Every refusal says WHY the combination is
 * ill-defined and WHAT WOULD FIX IT, and names the node at fault (`axis`: one of the four axes or
 * 'block'), so the editor can show it on that node.
 *
 * Two sources of rules:
 *  1. the declarative `requires` of each catalog entry (e.g. implicit GD needs the ℓ2 bias);
 *  2. parameter-dependent rules below (e.g. KL retention needs a positive initial memory).
 */
import { AXES, AXIS_LABEL, type Axis, type MirasMixer, type ModelSpec } from '../spec';
import { CATALOG, ComboParseError, catalogEntry, resolveCombo, type Combo, type ComboInput } from './catalog';
import { stateLayout } from './cost';

export interface MirasIssue {
  /** The node at fault: an axis node or the Miras block itself. */
  axis: Axis | 'block';
  /** Why the combination is not well-defined. */
  message: string;
  /** What would fix it. */
  fix: string;
  /** Layer index when validating a whole ModelSpec. */
  layer?: number;
}

const label = (axis: Axis, kind: string) => catalogEntry(axis, kind)?.label ?? kind;
const labels = (axis: Axis, kinds: readonly string[]) => kinds.map((k) => `"${label(axis, k)}"`).join(' or ');

/** Issues from the catalog entries' declarative requirements. */
function requirementIssues(combo: Combo): MirasIssue[] {
  const issues: MirasIssue[] = [];
  for (const axis of AXES) {
    const entry = catalogEntry(axis, combo[axis].kind)!;
    for (const req of entry.requires) {
      if (req.kinds.includes(combo[req.axis].kind)) continue;
      issues.push({
        axis,
        message: `${entry.label} does not work with the ${AXIS_LABEL[req.axis]} "${label(req.axis, combo[req.axis].kind)}": ${req.why}.`,
        fix: `Set the ${AXIS_LABEL[req.axis]} to ${labels(req.axis, req.kinds)}, or choose another ${AXIS_LABEL[axis]}.`,
      });
    }
  }
  return issues;
}

interface Dims {
  headDimK?: number;
  headDimV?: number;
}

/** Rules that depend on parameters and block options. */
function parameterIssues(c: Combo, dims: Dims): MirasIssue[] {
  const issues: MirasIssue[] = [];
  const add = (axis: Axis | 'block', message: string, fix: string) => issues.push({ axis, message, fix });
  const mem = c.memory.kind;
  const b = c.block;

  if (mem === 'mlp') {
    if (c.memory.params.residual && dims.headDimK !== undefined && dims.headDimV !== undefined && dims.headDimK !== dims.headDimV) {
      add('memory', `The residual MLP memory M(x) = x + f(x) maps keys to values, so d_k must equal d_v (got d_k = ${dims.headDimK}, d_v = ${dims.headDimV}).`,
        'Set the head dimensions d_k and d_v equal, or turn off the memory residual.');
    }
    if (b.memoryInit === 'zeros') {
      add('block', 'A deep MLP memory initialised at zero never moves: every layer\'s gradient is multiplied by the next layer\'s zero weights.',
        'Set the block\'s memory initialisation to "learned".');
    } else if (b.memoryInit === 'uniform') {
      add('block', 'A deep MLP memory with identical (uniform) weights stays symmetric: every hidden unit receives the same update, so the memory never uses more than one hidden unit.',
        'Set the block\'s memory initialisation to "learned" (a positive learned initial memory for KL retention).');
    }
    if (b.betaPerChannel) {
      add('block', 'A per-value-channel learning rate is defined for matrix and vector memories; the MLP memory\'s layers have no value channels.',
        'Turn off "β per channel", or use a matrix or vector memory.');
    }
  }
  if (c.retention.kind === 'kl' && b.memoryInit === 'zeros') {
    add('retention', 'KL retention needs a positive memory: it takes log W_{t−1}, and log 0 = −∞.',
      'Set the block\'s memory initialisation to "uniform" (1/n, as in Memora; matrix/vector memory) or "learned".');
  }
  if (c.bias.kind === 'lp' && (c.bias.params.p as number) < 2 && (c.bias.params.eps as number) === 0) {
    add('bias', `ℓp with p = ${c.bias.params.p} < 2 has an unbounded second derivative p(p−1)|e|^{p−2} at e = 0, so the backward is not defined without smoothing.`,
      'Set ε > 0 (e.g. 1e-6) or p ≥ 2.');
  }
  if (c.retention.kind === 'elastic' && c.retention.params.surrogate === 'smooth' && (c.retention.params.threshold as number) === 0) {
    add('retention', 'The smooth soft-threshold |z|·arctan(z/γ)/(π/2) divides by γ, so γ = 0 is undefined.',
      'Set the threshold γ > 0, or use the exact soft threshold.');
  }
  if (b.eigenvalueRange === '[-1,1]') {
    const deltaLike = ['l2'].includes(c.bias.kind) && ['gd', 'multistep', 'chunk'].includes(c.learner.kind) && ['matrix', 'vector'].includes(mem);
    if (!deltaLike) {
      add('block', 'The [−1, 1] eigenvalue range doubles β so that the transition I − βkkᵀ can have eigenvalue −1; this combination has no such transition (it needs the ℓ2 bias with GD on a matrix or vector memory). A signed decay (Mamba [−1, 1], Grazzi et al. 2024) cannot be written as a log-decay gate and is not offered.',
        'Set the eigenvalue range to [0, 1], or use the ℓ2 bias with one GD step, n_h steps or mini-batch GD on a matrix/vector memory.');
    } else if (c.retention.kind === 'kl' || c.retention.kind === 'lq') {
      add('block', `The [−1, 1] eigenvalue range sets the eigenvalues of the linear transition I − βkkᵀ; ${c.retention.kind === 'kl' ? 'KL retention maps the memory through log and softmax' : 'ℓq retention takes the gradient at the normalised memory A/‖A‖, not at the accumulator'}, so the step has no such transition and doubling β only doubles the learning rate.`,
        'Set the eigenvalue range to [0, 1], or use a retention that acts linearly (none, a decay, ℓ2, elastic net).');
    } else if (b.valueTimesStep) {
      add('block', 'The [−1, 1] eigenvalue range needs β ∈ (0, 2), i.e. 2σ(·); with "value × step" the write strength is Mamba2\'s step Δ_t = softplus(·), which is unbounded and is not doubled.',
        'Turn off "value × step", or set the eigenvalue range to [0, 1].');
    } else if (b.betaActivation !== 'sigmoid') {
      add('block', 'The [−1, 1] eigenvalue range needs β ∈ (0, 2), i.e. 2σ(·); other β activations are unbounded or fixed.',
        'Set the β activation to sigmoid.');
    } else if (b.qkNorm !== 'l2' || b.keyFromDecay) {
      add('block', `The eigenvalues of I − βkkᵀ are 1 and 1 − β‖k‖², which lie in [−1, 1] for β ∈ (0, 2) only when ‖k‖ = 1; ${b.keyFromDecay ? 'a key tied to 1 − α_t' : 'keys without L2 normalisation'} can have ‖k‖ ≠ 1, so the range would not hold.`,
        b.keyFromDecay ? 'Turn off "key from decay", or set the eigenvalue range to [0, 1].' : 'Set q/k normalisation to l2, or set the eigenvalue range to [0, 1].');
    }
  }
  if (b.betaPerChannel) {
    const none = b.mlstmNormalizer ? 'the mLSTM input gate i_t is one value per head' : b.valueTimesStep ? 'the write strength is Mamba2\'s step Δ_t, one value per head' : b.betaActivation === 'constant' ? 'β is the constant 1 (no β is produced)' : null;
    if (none) {
      add('block', `"β per channel" would have no effect: ${none}.`,
        `Turn off "β per channel"${b.betaActivation === 'constant' && !b.mlstmNormalizer && !b.valueTimesStep ? ', or choose a β activation (sigmoid, softplus or exp)' : ''}.`);
    }
  }
  if (b.mlstmNormalizer) {
    const ok = mem === 'matrix' && c.bias.kind === 'dot' && ['none', 'constant', 'scalar'].includes(c.retention.kind) && c.learner.kind === 'gd';
    if (!ok) {
      add('block', 'The mLSTM normaliser n_t = f_t n_{t−1} + i_t k_t and stabiliser track a Hebbian matrix memory with a scalar forget gate; they have no meaning for this combination.',
        'Turn off the mLSTM normaliser, or use matrix memory + dot-product bias + scalar/constant/no decay + one GD step per token.');
    } else if (b.betaActivation !== 'exp') {
      add('block', 'The mLSTM stabiliser exists to keep the exponential input gate i_t = exp(ĩ_t) finite; with another β activation it does nothing.',
        'Set the β activation to exp, or turn off the mLSTM normaliser.');
    }
  }
  if (b.keyFromDecay && !(c.retention.kind === 'channel')) {
    add('block', 'HGRN2 ties the key to 1 − α_t, which needs a channel-wise decay α_t ∈ (0,1)^{d_k}.',
      'Set the retention gate to "Channel-wise data-dependent decay", or turn off "key from decay".');
  }
  if (b.valueTimesStep && !(c.retention.kind === 'scalar' && c.retention.params.parametrization === 'mamba2')) {
    add('block', 'Mamba2\'s write strength is its step Δ_t, which exists only with the mamba2 parametrisation of the scalar decay.',
      'Set the retention gate to data-dependent scalar decay with the mamba2 parametrisation, or turn off "value × step".');
  }
  if (c.retention.kind === 'scalar' && c.retention.params.parametrization !== 'sigmoid') {
    const p = c.retention.params;
    if ((p.aInitMin as number) > (p.aInitMax as number)) {
      add('retention', `The A initialisation range is empty (min ${p.aInitMin} > max ${p.aInitMax}).`, 'Make aInitMin ≤ aInitMax.');
    }
    if ((p.dtMin as number) > (p.dtMax as number)) {
      add('retention', `The Δ initialisation range is empty (min ${p.dtMin} > max ${p.dtMax}).`, 'Make dtMin ≤ dtMax.');
    }
  }
  if (b.dSkip && c.learner.kind === 'multistep') {
    add('block', 'The D skip adds each token\'s value to its output; with n_h sub-step values per token there is no single value to add.',
      'Turn off the D skip, or use a learner with one step per token.');
  }
  if (mem === 'attention') {
    const stateOnly: [boolean, string][] = [
      [b.mlstmNormalizer, 'mLSTM normaliser'],
      [b.keyFromDecay, 'key from decay (HGRN2)'],
      [b.valueTimesStep, 'value × step (Mamba2)'],
      [b.dSkip, 'D skip'],
      [b.betaPerChannel, 'β per channel'],
      [b.memoryInit !== 'zeros', `memory initialisation "${b.memoryInit}"`],
    ];
    const on = stateOnly.filter(([x]) => x).map(([, n]) => n);
    if (on.length) {
      add('block', `Softmax attention keeps every (k, v) pair and has no recurrent state, learning rate or initial memory, so ${on.join(', ')} ${on.length > 1 ? 'do' : 'does'} not apply.`,
        `Turn off ${on.join(', ')} (memory initialisation: zeros), or use a parametric memory.`);
    }
  }
  return issues;
}

/** Validate a combination (a Miras mixer or a bare combo). Returns [] when it is well-defined. */
export function validateCombo(input: ComboInput | MirasMixer, dims: Dims = {}): MirasIssue[] {
  let combo: Combo;
  try {
    combo = resolveCombo(input);
  } catch (e) {
    if (e instanceof ComboParseError) {
      return [{ axis: e.axis, message: e.message, fix: e.axis === 'block' ? 'Correct the block option named above.' : `Correct the ${AXIS_LABEL[e.axis]} named above.` }];
    }
    throw e;
  }
  return [...requirementIssues(combo), ...parameterIssues(combo, dims)];
}

export function validateMixer(mixer: MirasMixer): MirasIssue[] {
  return validateCombo(mixer, { headDimK: mixer.headDimK, headDimV: mixer.headDimV });
}

/** Every Miras layer of a spec, with the layer index on each issue. */
export function validateSpecMiras(spec: ModelSpec): MirasIssue[] {
  const out: MirasIssue[] = [];
  spec.layers.forEach((layer, i) => {
    if (layer.mixer.type === 'miras') for (const issue of validateMixer(layer.mixer)) out.push({ ...issue, layer: i });
  });
  return out;
}

export class MirasValidationError extends Error {
  constructor(readonly issues: MirasIssue[]) {
    super(issues.map((i) => `${i.layer !== undefined ? `layer ${i.layer}: ` : ''}[${i.axis}] ${i.message} Fix: ${i.fix}`).join('\n'));
    this.name = 'MirasValidationError';
  }
}

/** Resolve and validate; throws MirasValidationError listing every issue. */
export function checkedCombo(input: ComboInput | MirasMixer, dims: Dims = {}): Combo {
  const issues = validateCombo(input, dims);
  if (issues.length) throw new MirasValidationError(issues);
  return resolveCombo(input);
}

/**
 * Which kinds on each other axis are compatible with `kind` (declarative requirements in both
 * directions, with default parameters). The editor greys out the rest; docs list them.
 */
export function compatibleKinds(axis: Axis, kind: string): Record<Axis, string[]> {
  const entry = catalogEntry(axis, kind);
  const out = {} as Record<Axis, string[]>;
  for (const other of AXES) {
    if (other === axis) {
      out[other] = [kind];
      continue;
    }
    out[other] = CATALOG[other]
      .filter((cand) => {
        const mine = entry?.requires.find((r) => r.axis === other);
        if (mine && !mine.kinds.includes(cand.kind)) return false;
        const theirs = cand.requires.find((r) => r.axis === axis);
        return !theirs || theirs.kinds.includes(kind);
      })
      .map((e) => e.kind);
  }
  return out;
}

/** A bad value in one scan input (the tensors of `miras scan`): which tensor, why, what would fix it. */
export interface ScanInputIssue {
  tensor: string;
  message: string;
  fix: string;
}

interface ScanDims {
  batch: number;
  time: number;
  heads: number;
  dk: number;
  dv: number;
}

/**
 * Value-level rules for explicit scan inputs (shapes are checked where they are read): every value finite; KL
 * retention takes log W, so every memory entry of `initialState` must be > 0; a data-dependent Huber threshold
 * δ_t must be > 0. Without them the scan writes NaN and reports success.
 */
export function scanInputIssues(c: Combo, s: ScanDims, inputs: Record<string, ArrayLike<number>>): ScanInputIssue[] {
  const issues: ScanInputIssue[] = [];
  for (const [name, x] of Object.entries(inputs)) {
    let bad = 0;
    let first = -1;
    for (let i = 0; i < x.length; i++) {
      if (!Number.isFinite(x[i])) {
        bad++;
        if (first < 0) first = i;
      }
    }
    if (bad) issues.push({ tensor: name, message: `"${name}" has ${bad} non-finite value${bad > 1 ? 's' : ''} (first: ${x[first]} at flat index ${first}).`, fix: `Replace the NaN/Inf values of "${name}".` });
  }
  const init = inputs.initialState;
  if (c.retention.kind === 'kl' && init) {
    const layout = stateLayout(c, s.dk, s.dv);
    const mem = layout.segments.filter((g) => g.name === 'S' || /^W\d+$/.test(g.name));
    const rows = init.length / layout.size;
    let bad = 0;
    let where = '';
    for (let r = 0; r < rows; r++)
      for (const g of mem)
        for (let i = 0; i < g.size; i++) {
          const v = init[r * layout.size + g.offset + i];
          if (v > 0) continue;
          if (!bad) where = `${v} in segment ${g.name}, entry ${i}, of batch·head row ${r}`;
          bad++;
        }
    if (bad) {
      issues.push({
        tensor: 'initialState',
        message: `KL retention takes log W_{t−1}, so the initial memory must be strictly positive; "initialState" has ${bad} entr${bad > 1 ? 'ies' : 'y'} ≤ 0 (first: ${where}).`,
        fix: 'Give a positive initial memory (e.g. uniform 1/n per softmax slice, or exp of a learned parameter), or leave initialState out for the uniform start.',
      });
    }
  }
  if (c.bias.kind === 'huber' && c.bias.params.delta === 'data' && inputs.delta) {
    const d = inputs.delta;
    let bad = 0;
    let first = -1;
    for (let i = 0; i < d.length; i++) {
      if (d[i] > 0) continue;
      bad++;
      if (first < 0) first = i;
    }
    if (bad) issues.push({ tensor: 'delta', message: `The Huber threshold δ_t must be > 0; "delta" has ${bad} value${bad > 1 ? 's' : ''} ≤ 0 (first: ${d[first]} at flat index ${first}).`, fix: 'Produce δ_t with softplus or sigmoid (as the block does), or use a fixed δ.' });
  }
  return issues;
}

export class ScanInputError extends Error {
  constructor(readonly issues: ScanInputIssue[]) {
    super(issues.map((i) => `input ${i.message} Fix: ${i.fix}`).join('\n'));
    this.name = 'ScanInputError';
  }
}

/** Throws ScanInputError listing every bad input value (see scanInputIssues). */
export function checkScanInputs(c: Combo, s: ScanDims, inputs: Record<string, ArrayLike<number>>): void {
  const issues = scanInputIssues(c, s, inputs);
  if (issues.length) throw new ScanInputError(issues);
}
