/**
 * The float64 references of the chunk scans: the chunk algorithm (what the WGSL kernels do) equals
 * the token recurrence to rounding, the token backward matches finite differences, and the token
 * recurrence means what B1's oracle (engine/miras/reference) means for each preset combination.
 */
import { describe, expect, it } from 'vitest';
import { chunkBackward, chunkForward, recurrentBackward, recurrentForward } from '@/engine/miras/chunk/naive';
import type { ChunkScanConfig, ChunkScanInputs } from '@/engine/miras/chunk/types';
import { gradNames } from '@/engine/miras/chunk/types';
import { chunkConfigFor } from '@/engine/miras/chunk/provider';
import { resolveCombo } from '@/engine/miras/catalog';
import { referenceProviderFor } from '@/engine/miras/reference/provider';
import { getPreset } from '@/engine/presets';
import type { MirasMixer } from '@/engine/spec';
import { randomInputs, relErr } from './harness';

type F = Float64Array;
const CONFIGS: [string, Omit<ChunkScanConfig, 'scale' | 'initialState'>][] = [
  ['linear attention', { rule: 'linear', gate: 'none' }],
  ['RetNet', { rule: 'linear', gate: 'const', logDecay: [Math.log(0.97), Math.log(0.9)] }],
  ['Mamba2 (β = Δ)', { rule: 'linear', gate: 'scalar', beta: true }],
  ['simple GLA', { rule: 'linear', gate: 'scalar' }],
  ['GLA', { rule: 'linear', gate: 'vector' }],
  ['DeltaNet', { rule: 'delta', gate: 'none' }],
  ['DeltaNet + RetNet decay', { rule: 'delta', gate: 'const', logDecay: [Math.log(0.97), Math.log(0.9)] }],
  ['Gated DeltaNet', { rule: 'delta', gate: 'scalar' }],
];

describe('chunk algorithm (float64) equals the token recurrence', () => {
  for (const [label, c] of CONFIGS) {
    it(`${label}: o, final state and every gradient agree to 1e-12 (T=37, C=16 and C=4)`, () => {
      const s = { B: 1, T: 37, H: 2, K: 5, V: 3 };
      const cfg: ChunkScanConfig = { ...c, scale: 0.4, initialState: true };
      const { x, dO, dht } = randomInputs(cfg, s, 3);
      const xi = x as unknown as ChunkScanInputs<F>;
      const r = recurrentForward(cfg, s, xi);
      const gr = recurrentBackward(cfg, s, xi, { do: dO, dht }) as unknown as Record<string, F>;
      let worst = 0;
      for (const C of [16, 4]) {
        const f = chunkForward(cfg, s, xi, C);
        const g = chunkBackward(cfg, s, xi, { do: dO, dht }, C) as unknown as Record<string, F>;
        worst = Math.max(worst, relErr(f.o, r.o), relErr(f.ht, r.ht));
        for (const n of gradNames(cfg)) worst = Math.max(worst, relErr(g[n], gr[n]));
      }
      console.log(`[chunk f64] ${label}: max rel err ${worst.toExponential(1)}`);
      expect(worst).toBeLessThan(1e-12);
    });
  }
});

describe('token backward matches central finite differences', () => {
  for (const [label, c] of CONFIGS) {
    it(label, () => {
      const s = { B: 1, T: 9, H: 2, K: 3, V: 2 };
      const cfg: ChunkScanConfig = { ...c, scale: 0.7, initialState: true };
      const { x, dO, dht } = randomInputs(cfg, s, 8);
      const loss = (xx: Record<string, F>) => {
        const f = recurrentForward(cfg, s, xx as unknown as ChunkScanInputs<F>);
        let L = 0;
        f.o.forEach((v, i) => (L += v * dO[i]));
        f.ht.forEach((v, i) => (L += v * dht[i]));
        return L;
      };
      const g = recurrentBackward(cfg, s, x as unknown as ChunkScanInputs<F>, { do: dO, dht }) as unknown as Record<string, F>;
      const of: Record<string, string> = { dq: 'q', dk: 'k', dv: 'v', dg: 'g', dbeta: 'beta', dh0: 'h0' };
      let worst = 0;
      for (const n of gradNames(cfg)) {
        const arr = x[of[n]];
        for (const i of [0, Math.floor(arr.length / 2), arr.length - 1]) {
          const e = 1e-6;
          const p = { ...x, [of[n]]: arr.slice() };
          const m = { ...x, [of[n]]: arr.slice() };
          p[of[n]][i] += e;
          m[of[n]][i] -= e;
          worst = Math.max(worst, Math.abs((loss(p) - loss(m)) / (2 * e) - g[n][i]));
        }
      }
      expect(worst).toBeLessThan(1e-6);
    });
  }
});

describe("the chunk configuration of each preset means what B1's oracle means", () => {
  for (const name of ['linear-attention', 'retnet', 'mamba2', 'gla', 'hgrn2', 'deltanet', 'gated-deltanet']) {
    it(name, () => {
      const spec = getPreset(name).build({ vocabSize: 32, dModel: 32, nLayers: 1 });
      const mixer = spec.layers[0].mixer as MirasMixer;
      const combo = resolveCombo(mixer);
      const cc = chunkConfigFor(combo, mixer.heads, mixer.headDimK);
      if ('why' in cc) throw new Error(`${name} has no chunk form: ${cc.why}`);
      const shape = { batch: 1, time: 11, heads: mixer.heads, dk: mixer.headDimK, dv: mixer.headDimV };
      const oracle = referenceProviderFor(combo);
      const decls = oracle.inputs(shape);
      const s = { B: 1, T: 11, H: mixer.heads, K: mixer.headDimK, V: mixer.headDimV };
      const { x, dO, dht } = randomInputs({ ...cc.config, initialState: false }, s, 21);
      for (const d of decls) if (!x[d.name]) throw new Error(`${name}: the oracle reads "${d.name}", the chunk form does not provide it`);
      const mine = recurrentForward(cc.config, s, x as unknown as ChunkScanInputs<F>);
      const theirs = oracle.referenceForward(x, shape);
      const gm = recurrentBackward(cc.config, s, x as unknown as ChunkScanInputs<F>, { do: dO, dht }) as unknown as Record<string, F>;
      const gt = oracle.referenceBackward(x, { o: dO, finalState: dht }, shape);
      const errs = [relErr(mine.o, theirs.o), relErr(mine.ht, theirs.finalState)];
      for (const d of decls) errs.push(relErr(gm[`d${d.name}`], gt[d.name]));
      expect(Math.max(...errs)).toBeLessThan(1e-10);
    });
  }
});
