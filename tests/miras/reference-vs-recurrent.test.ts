/**
 * Two independent float64 implementations must agree: B1's tape reference (engine/miras/reference)
 * and B2's hand-written mirror of the fused kernel (engine/miras/recurrent/f64.ts), over random valid
 * combinations the fused kernel covers, forward and backward.
 */
import { describe, expect, it } from 'vitest';
import { referenceScanGrad } from '@/engine/miras/reference';
import { Rng, normal, randomCombo, randomScanInputs } from '@/engine/miras/reference/random';
import { recurrentUnsupported, resolveCombo as recurrentCombo, comboInputs } from '@/engine/miras/math/combo';
import { f64Backward, f64Forward } from '@/engine/miras/recurrent/f64';

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
};

describe('reference scan = fused-kernel float64 mirror', () => {
  it('agrees on random valid matrix/vector combinations (outputs, final state, gradients)', () => {
    const rng = new Rng(2024);
    let compared = 0;
    for (let n = 0; n < 150 && compared < 60; n++) {
      const c = randomCombo(rng, { memories: ['matrix', 'vector'] });
      if (recurrentUnsupported(c)) continue; // the fused kernel's provider refuses these (e.g. KL, ℓq, mLSTM)
      const s = { batch: 1, time: 7, heads: 2, dk: 4, dv: 3 };
      const mixer = { type: 'miras' as const, heads: s.heads, headDimK: s.dk, headDimV: s.dv, memory: c.memory, bias: c.bias, retention: c.retention, learner: c.learner, block: c.block };
      const rc = recurrentCombo(mixer);
      const x = randomScanInputs(c, s, rng);
      delete x.initialState;
      if (c.block.memoryInit === 'learned') continue;
      const names = comboInputs(rc, s).map((d) => d.name);
      const feed = Object.fromEntries(names.map((nm) => [nm, x[nm]]));
      const dO = new Float64Array(s.batch * s.time * s.heads * s.dv).map(() => normal(rng));
      const mine = referenceScanGrad(c, s, feed, { o: dO });
      const theirs = f64Forward(rc, s, feed);
      const label = `${c.memory.kind}/${c.bias.kind}/${c.retention.kind}/${c.learner.kind}`;
      expect(maxDiff(mine.o, theirs.o), `${label}: o`).toBeLessThan(1e-10);
      const tg = f64Backward(rc, s, feed, { o: dO });
      for (const nm of names) expect(maxDiff(mine.grads[nm], tg[nm]), `${label}: d${nm}`).toBeLessThan(1e-9);
      compared++;
    }
    expect(compared).toBeGreaterThan(30);
  });
});
