/** Shared fixtures of the fused-recurrent-kernel tests: seeded mixers, inputs and error metrics. */
import type { MirasMixer } from '../../engine/spec';
import { comboInputs, type Combo, type ScanDims } from '../../engine/miras/math/combo';
import { referenceProviderFor } from '../../engine/miras/reference/provider';

/** mulberry32, shared with the chunk-kernel tests. */
export { rng } from '../../engine/miras/chunk/random';
import { rng } from '../../engine/miras/chunk/random';

export function gauss(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

export function mixer(
  memory: string,
  bias: [string, object?],
  retention: [string, object?],
  learner: [string, object?],
  heads = 2,
  dk = 16,
  dv = 16,
  block: object = {},
): MirasMixer {
  return {
    type: 'miras',
    heads,
    headDimK: dk,
    headDimV: dv,
    memory: { kind: memory, params: {} },
    bias: { kind: bias[0], params: (bias[1] ?? {}) as Record<string, number> },
    retention: { kind: retention[0], params: (retention[1] ?? {}) as Record<string, number> },
    learner: { kind: learner[0], params: (learner[1] ?? {}) as Record<string, number> },
    block: block as Record<string, number>,
  };
}

/** Inputs in the ranges the blocks produce: L2-normalised k rows, β ∈ (0,1), log decays near 0, δ ∈ (0.3, 1.3). */
export function randomInputs(c: Combo, s: ScanDims, seed: number): Record<string, Float64Array> {
  const r = rng(seed);
  const out: Record<string, Float64Array> = {};
  for (const d of comboInputs(c, s)) {
    const n = d.shape.reduce((a, b) => a * b, 1);
    const x = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      if (d.name === 'beta') x[i] = 0.1 + 0.8 * r();
      else if (d.name === 'g') x[i] = Math.log(0.75 + 0.24 * r());
      else if (d.name === 'delta') x[i] = 0.3 + r();
      else if (d.name === 'eta') x[i] = 0.5 + 0.45 * r();
      else if (d.name === 'i') x[i] = gauss(r); // mLSTM log input gate
      else if (d.name === 'initialState') x[i] = c.retention.simplex ? 0.05 + 0.2 * r() : 0.3 * gauss(r); // KL needs W > 0
      else x[i] = gauss(r);
    }
    if (d.name === 'k') {
      const D = d.shape[3];
      for (let row = 0; row < n / D; row++) {
        let nn = 0;
        for (let i = 0; i < D; i++) nn += x[row * D + i] ** 2;
        nn = Math.sqrt(nn);
        for (let i = 0; i < D; i++) x[row * D + i] /= nn;
      }
    }
    out[d.name] = x;
  }
  return out;
}

/** max |a − b| / (max |b| + tiny): error relative to the tensor's scale. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / (den + 1e-30);
}

/**
 * One oracle case of a fused recurrent combination: seeded inputs (`edit` may rescale them), seeded Gaussian upstream
 * gradients of o and the final state, and the float64 oracle's outputs and input gradients.
 */
export function oracleCase(c: Combo, s: ScanDims, seed: number, gradSeed: number, edit?: (x: Record<string, Float64Array>) => void) {
  const x = randomInputs(c, s, seed);
  edit?.(x);
  const r = rng(gradSeed);
  const oracle = referenceProviderFor(c.catalog);
  const want = oracle.referenceForward(x, s);
  const up = { o: Float64Array.from(want.o, () => gauss(r)), finalState: Float64Array.from(want.finalState, () => gauss(r)) };
  const wantG = oracle.referenceBackward(x, up, s);
  return { x, want, up, wantG };
}
