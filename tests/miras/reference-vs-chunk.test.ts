/**
 * The chunk-parallel algorithm (helper C, engine/miras/chunk/naive.ts: fla's chunk form in float64)
 * equals the token-recurrent oracle (engine/miras/reference) for every combination with an exact chunk
 * form, forward and backward, with T not a multiple of the chunk size.
 */
import { describe, expect, it } from 'vitest';
import { providerInputs, referenceScanGrad } from '@/engine/miras/reference';
import { Rng, normal, randomScanInputs } from '@/engine/miras/reference/random';
import { resolveCombo, type ComboInput } from '@/engine/miras/catalog';
import { chunkConfigFor } from '@/engine/miras/chunk/provider';
import { chunkBackward, chunkForward } from '@/engine/miras/chunk/naive';
import { MIRAS_PRESETS } from '@/engine/presets/miras';

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
};

const presetCombos: [string, ComboInput][] = MIRAS_PRESETS.flatMap((p) => {
  const m = p.build({ vocabSize: 8, dModel: 64, nLayers: 1 }).layers[0].mixer;
  return m.type === 'miras' ? [[p.name, m] as [string, ComboInput]] : [];
});

describe('chunk-parallel form = token-recurrent oracle where the math says so', () => {
  const covered = presetCombos.filter(([, m]) => 'config' in chunkConfigFor(resolveCombo(m), 2, 4));
  it('covers the linear family presets', () => {
    expect(covered.map(([n]) => n)).toEqual(expect.arrayContaining(['linear-attention', 'retnet', 'gla', 'mamba2', 'deltanet', 'gated-deltanet']));
  });
  it.each(covered.map(([n, m]) => [n, m] as const))('%s', (_name, m) => {
    const c = resolveCombo(m);
    const s = { batch: 2, time: 11, heads: 2, dk: 4, dv: 3 };
    const cfg = chunkConfigFor(c, s.heads, s.dk);
    if (!('config' in cfg)) throw new Error(cfg.why);
    const rng = new Rng(17);
    const all = randomScanInputs(c, s, rng);
    // exactly the tensors the block feeds this combination (no β for a constant write strength)
    const x = Object.fromEntries(providerInputs(c, s).map((d) => [d.name, all[d.name]]));
    const dO = new Float64Array(s.batch * s.time * s.heads * s.dv).map(() => normal(rng));
    const mine = referenceScanGrad(c, s, x, { o: dO });
    const cs = { B: s.batch, T: s.time, H: s.heads, K: s.dk, V: s.dv };
    const inputs = { q: x.q, k: x.k, v: x.v, ...(x.g ? { g: x.g } : {}), ...(cfg.config.rule === 'delta' || cfg.config.beta ? { beta: x.beta } : {}) };
    for (const C of [4, 8]) {
      const f = chunkForward(cfg.config, cs, inputs, C);
      expect(maxDiff(f.o, mine.o), `o, C=${C}`).toBeLessThan(1e-12);
      expect(maxDiff(f.ht, mine.finalState), `final state, C=${C}`).toBeLessThan(1e-12);
      const g = chunkBackward(cfg.config, cs, inputs, { do: dO }, C);
      for (const [name, ours] of [['dq', 'q'], ['dk', 'k'], ['dv', 'v'], ['dg', 'g'], ['dbeta', 'beta']] as const) {
        const theirs = (g as unknown as Record<string, Float64Array | undefined>)[name];
        if (!theirs || !(ours in inputs)) continue;
        expect(maxDiff(theirs, mine.grads[ours]), `${name}, C=${C}`).toBeLessThan(1e-11);
      }
    }
  });
});
