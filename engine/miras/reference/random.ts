/**
 * Random valid combinations and random scan inputs in sensible ranges, for property tests
 * (tests/miras, the kernel tests of engine/miras/recurrent and engine/miras/chunk) and for
 * `npm run miras -- check --random N --seed S`. Deterministic in the seed.
 */
import { Rng } from '../../tasks/rng';
import { normal } from '../../model/init';
import type { ScanShape } from '../../ir/scan';
import { CATALOG, resolveCombo, type Combo, type ComboInput } from '../catalog';
import { stateLayout } from '../cost';
import { compatibleKinds, validateCombo } from '../validate';
import { scanInputDecls, type ScanArrays } from './scan';

export { Rng };

export { normal };
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng.next() * xs.length)];
const uniform = (rng: Rng, lo: number, hi: number) => lo + (hi - lo) * rng.next();

export interface RandomComboOptions {
  /** Restrict memories (default: matrix, vector, mlp). */
  memories?: string[];
  /** Include block.mlstmNormalizer combos (default true). */
  mlstm?: boolean;
}

/** Random parameters for one entry, in ranges where the recurrence stays tame on small random inputs. */
function randomParams(rng: Rng, axis: string, kind: string): Record<string, number | string | boolean> {
  const p: Record<string, number | string | boolean> = {};
  if (axis === 'memory' && kind === 'mlp') {
    p.layers = pick(rng, [1, 2, 2, 3]);
    p.expansion = pick(rng, [1, 2]);
    p.activation = pick(rng, ['gelu', 'silu', 'gelu']);
    p.residual = true;
    p.layerNorm = rng.next() < 0.8;
  }
  if (axis === 'memory' && kind === 'attention') p.window = pick(rng, [0, 2, 5]);
  if (axis === 'bias') {
    if (kind === 'lp') p.p = pick(rng, [1.5, 2.5, 3]);
    if (kind === 'l1') p.sharpness = pick(rng, [2, 10]);
    if (kind === 'huber') {
      p.variant = pick(rng, ['coordinate', 'norm', 'switch']);
      p.delta = pick(rng, ['fixed', 'data']);
      p.deltaValue = pick(rng, [0.3, 1]);
    }
    if (kind === 'robust') p.shift = pick(rng, [0.05, 0.3]);
  }
  if (axis === 'retention') {
    if (kind === 'constant') p.schedule = pick(rng, ['retnet', 'fixed']);
    if (kind === 'l2') p.coupled = rng.next() < 0.5;
    if (kind === 'elastic') {
      p.threshold = pick(rng, [0.02, 0.05]);
      p.surrogate = pick(rng, ['exact', 'smooth']);
    }
    if (kind === 'lq') {
      p.q = pick(rng, [3, 4]);
      p.form = pick(rng, ['aryateja', 'mlm', 'mirror']);
      p.eps = 1e-3;
    }
    if (kind === 'kl') p.axis = pick(rng, ['key', 'value', 'all']);
  }
  if (axis === 'learner') {
    if (kind === 'multistep') p.steps = pick(rng, [2, 3]);
    if (kind === 'chunk') {
      p.chunkSize = pick(rng, [1, 2, 3, 4]);
      p.lagToken = rng.next() < 0.5;
    }
  }
  return p;
}

/** A random combination that passes validateCombo (retries until one does). */
export function randomCombo(rng: Rng, opts: RandomComboOptions = {}): Combo {
  const memories = opts.memories ?? ['matrix', 'vector', 'mlp'];
  for (let attempt = 0; attempt < 1000; attempt++) {
    const memory = pick(rng, memories);
    // The softmax-attention memory admits one kind per axis: draw from those (other memories from the whole axis).
    const fixed = memory === 'attention' ? compatibleKinds('memory', memory) : null;
    const choose = (axis: 'bias' | 'retention' | 'learner') => {
      const kind = pick(rng, fixed ? fixed[axis] : CATALOG[axis].map((e) => e.kind));
      return { kind, params: randomParams(rng, axis, kind) };
    };
    const input: ComboInput = {
      memory: { kind: memory, params: randomParams(rng, 'memory', memory) },
      bias: choose('bias'),
      retention: choose('retention'),
      learner: choose('learner'),
      block: {},
    };
    const block: Record<string, string | boolean | number> = {};
    if (memory === 'mlp') block.memoryInit = 'learned';
    else if (input.retention.kind === 'kl') block.memoryInit = 'uniform';
    block.betaPerChannel = (memory === 'matrix' || memory === 'vector') && rng.next() < 0.25;
    block.queryScale = pick(rng, ['none', 'inv-sqrt-dk']);
    if ((opts.mlstm ?? true) && memory === 'matrix' && input.bias.kind === 'dot' && input.learner.kind === 'gd' && ['none', 'constant', 'scalar'].includes(input.retention.kind) && rng.next() < 0.5) {
      block.mlstmNormalizer = true;
      block.betaActivation = 'exp';
      block.betaPerChannel = false;
    }
    input.block = block;
    if (validateCombo(input).length === 0) return resolveCombo(input);
  }
  throw new Error('randomCombo: no valid combination found in 1000 attempts');
}

/**
 * Random inputs for every tensor the combination reads: unit-norm keys, β ∈ (0.1, 0.9), log-decays
 * with α ∈ (0.7, 1), positive δ, a positive initial memory where the retention needs one.
 */
export function randomScanInputs(c: Combo, s: ScanShape, rng: Rng): ScanArrays {
  const out: ScanArrays = {};
  for (const d of scanInputDecls(c, s)) {
    const n = d.shape.reduce((a, b) => a * b, 1);
    const x = new Float64Array(n);
    switch (d.name) {
      case 'q':
        for (let i = 0; i < n; i++) x[i] = normal(rng) / Math.sqrt(s.dk);
        break;
      case 'k': {
        for (let i = 0; i < n; i += s.dk) {
          let norm = 0;
          for (let j = 0; j < s.dk; j++) norm += (x[i + j] = normal(rng)) ** 2;
          for (let j = 0; j < s.dk; j++) x[i + j] /= Math.sqrt(norm);
        }
        break;
      }
      case 'v':
        for (let i = 0; i < n; i++) x[i] = normal(rng);
        break;
      case 'beta': {
        // Super-quadratic biases (ℓp, p > 2) diverge with large steps on O(1) errors: keep their steps small.
        const hi = c.bias.kind === 'lp' && (c.bias.params.p as number) > 2 ? 0.1 : 0.9;
        for (let i = 0; i < n; i++) x[i] = uniform(rng, 0.05, hi);
        break;
      }
        break;
      case 'g':
        for (let i = 0; i < n; i++) x[i] = Math.log(uniform(rng, 0.7, 0.99));
        break;
      case 'eta':
        for (let i = 0; i < n; i++) x[i] = uniform(rng, 0.3, 0.9);
        break;
      case 'delta':
        for (let i = 0; i < n; i++) x[i] = uniform(rng, 0.3, 1.5);
        break;
      case 'i':
        for (let i = 0; i < n; i++) x[i] = normal(rng);
        break;
      case 'initialState': {
        if (!d.required && c.retention.kind !== 'kl' && rng.next() < 0.5) continue; // sometimes exercise the zero default
        const layout = stateLayout(c, s.dk, s.dv);
        for (let bh = 0; bh < s.batch * s.heads; bh++) {
          for (const seg of layout.segments) {
            for (let j = 0; j < seg.size; j++) {
              const idx = bh * layout.size + seg.offset + j;
              if (c.retention.kind === 'kl' && !seg.name.startsWith('mom.')) x[idx] = uniform(rng, 0.5, 1.5) / seg.shape[seg.shape.length === 2 ? 1 : 0];
              else if (seg.name === 'm') x[idx] = 0;
              else if (seg.name.startsWith('W')) x[idx] = normal(rng) / Math.sqrt(seg.shape[1]);
              else x[idx] = 0.1 * normal(rng);
            }
          }
        }
        break;
      }
      default:
        for (let i = 0; i < n; i++) x[i] = normal(rng);
    }
    out[d.name] = x;
  }
  return out;
}
