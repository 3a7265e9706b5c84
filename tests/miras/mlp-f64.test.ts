/**
 * The MLP memory kernel's float64 mirror (engine/miras/mlp/f64.ts: the token-step programs the WGSL is generated
 * from, interpreted in float64) against the tape oracle (engine/miras/reference) and finite differences.
 */
import { describe, expect, it } from 'vitest';
import { mlpScanF64 } from '@/engine/miras/mlp/f64';
import { MLP_CASES, errors, gauss, mlpCase, mlpInputs, mlpMixer, oracleCase, relErr, rng } from './mlp-helpers';


describe('MLP memory step programs (float64) vs the tape oracle', () => {
  for (const [name, args] of MLP_CASES) {
    it(name, () => {
      const m = mlpMixer(...args);
      const c = oracleCase(m, { batch: 2, time: 7, heads: m.heads, dk: 8, dv: 8 }, 11);
      const got = mlpScanF64(c.mc, { batch: 2, time: 7, heads: m.heads, dk: 8, dv: 8 }, c.x, { o: c.go, finalState: c.gf });
      for (const [n, e] of Object.entries(errors(got, c))) expect(e, n).toBeLessThan(n.startsWith('d') ? 1e-9 : 1e-10);
    });
  }

  it('the f32 emulation (ideal float32 storage and sums) sits at float32 distance from the oracle', () => {
    const m = mlpMixer({ layers: 2, expansion: 2 }, ['l2'], ['l2'], ['momentum']);
    const s = { batch: 1, time: 6, heads: 1, dk: 8, dv: 8 };
    const c = oracleCase(m, s, 4);
    const e = relErr(mlpScanF64(c.mc, s, c.x, undefined, { f32: true }).o, c.want.o);
    expect(e).toBeGreaterThan(1e-9);
    expect(e).toBeLessThan(1e-5);
  });

  it('gradients match finite differences (titans-like, 2 layers gelu)', () => {
    const m = mlpMixer({ layers: 2, expansion: 2 }, ['lp', { p: 3 }], ['l2'], ['momentum']);
    const s = { batch: 1, time: 5, heads: 1, dk: 4, dv: 4 };
    const { cat, mc } = mlpCase(m, s);
    const x = mlpInputs(cat, mc, s, 3);
    const r = rng(9);
    const base = mlpScanF64(mc, s, x);
    const go = Float64Array.from(base.o, () => gauss(r));
    const loss = (y: Record<string, Float64Array>) => mlpScanF64(mc, s, y).o.reduce((a, o, i) => a + o * go[i], 0);
    const g = mlpScanF64(mc, s, x, { o: go }).grads!;
    for (const n of Object.keys(x)) {
      for (const i of [0, Math.floor(x[n].length / 2), x[n].length - 1]) {
        const h = 1e-6;
        const xp = { ...x, [n]: Float64Array.from(x[n]) };
        const xm = { ...x, [n]: Float64Array.from(x[n]) };
        xp[n][i] += h;
        xm[n][i] -= h;
        const fd = (loss(xp) - loss(xm)) / (2 * h);
        expect(Math.abs(fd - g[n][i]), `d${n}[${i}]`).toBeLessThan(1e-6 * Math.max(1, Math.abs(fd)));
      }
    }
  });
});
