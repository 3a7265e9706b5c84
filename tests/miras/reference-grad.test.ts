/**
 * The reference's tape gradients against central finite differences, over random valid combinations
 * (every memory/bias/retention/learner mix the validator accepts) on tiny shapes.
 */
import { describe, expect, it } from 'vitest';
import { referenceScan, referenceScanGrad, type ScanArrays } from '@/engine/miras/reference';
import { Rng, normal, randomCombo, randomScanInputs } from '@/engine/miras/reference/random';
import type { Combo } from '@/engine/miras/catalog';

function describeCombo(c: Combo): string {
  const p = (x: { kind: string; params: object }) => `${x.kind}${Object.keys(x.params).length ? JSON.stringify(x.params) : ''}`;
  return `${p(c.memory)} / ${p(c.bias)} / ${p(c.retention)} / ${p(c.learner)}${c.block.mlstmNormalizer ? ' +mLSTM' : ''}${c.block.betaPerChannel ? ' +β/ch' : ''}`;
}

function checkGradients(c: Combo, shape: { batch: number; time: number; heads: number; dk: number; dv: number }, x: ScanArrays, rng: Rng) {
  const f = referenceScan(c, shape, x);
  expect(f.o.every(Number.isFinite), `non-finite output for ${describeCombo(c)}`).toBe(true);
  const dO = f.o.map(() => normal(rng));
  const dS = f.finalState.map(() => normal(rng));
  const r = referenceScanGrad(c, shape, x, { o: dO, finalState: dS });
  // the tape forward is the same computation as the plain forward
  expect(Array.from(r.o)).toEqual(Array.from(f.o));
  const loss = () => {
    const y = referenceScan(c, shape, x);
    let s = 0;
    y.o.forEach((v, i) => (s += v * dO[i]));
    y.finalState.forEach((v, i) => (s += v * dS[i]));
    return s;
  };
  for (const [name, arr] of Object.entries(x)) {
    for (let trial = 0; trial < 3; trial++) {
      const i = Math.floor(rng.next() * arr.length);
      // Two estimates: a fourth-order stencil (truncation-limited) and a tiny-step central difference
      // (roundoff-limited); the smooth surrogates make some combinations sharply curved, so the closer counts.
      const save = arr[i];
      const at = (d: number) => {
        arr[i] = save + d;
        const l = loss();
        arr[i] = save;
        return l;
      };
      const h = 1e-5;
      const fd4 = (-at(2 * h) + 8 * at(h) - 8 * at(-h) + at(-2 * h)) / (12 * h);
      const fd2 = (at(1e-7) - at(-1e-7)) / 2e-7;
      const an = r.grads[name][i];
      const fd = Math.abs(fd4 - an) <= Math.abs(fd2 - an) ? fd4 : fd2;
      expect(Math.abs(fd - an), `${describeCombo(c)}: d/d${name}[${i}] fd ${fd} vs tape ${an}`).toBeLessThan(1e-5 * Math.max(1, Math.abs(fd)));
    }
  }
}

describe('reference gradients = finite differences', () => {
  for (const memory of ['matrix', 'vector', 'mlp']) {
    it(`random valid combinations with ${memory} memory`, () => {
      const rng = new Rng(1234 + memory.length);
      for (let n = 0; n < 14; n++) {
        const c = randomCombo(rng, { memories: [memory] });
        const d = memory === 'mlp' ? 4 : 4 + Math.floor(rng.next() * 3);
        const shape = { batch: 1, time: 6 + Math.floor(rng.next() * 5), heads: 2, dk: d, dv: memory === 'mlp' ? d : 4 + Math.floor(rng.next() * 3) };
        checkGradients(c, shape, randomScanInputs(c, shape, rng), rng);
      }
    });
  }
  it('softmax attention (full and windowed)', () => {
    const rng = new Rng(7);
    for (const window of [0, 3]) {
      const c = randomCombo(rng, { memories: ['attention'] });
      c.memory.params.window = window;
      const shape = { batch: 2, time: 7, heads: 1, dk: 4, dv: 3 };
      checkGradients(c, shape, randomScanInputs(c, shape, rng), rng);
    }
  });
});
