/**
 * The float64 mirror of the fused recurrent kernel (engine/miras/recurrent/f64.ts): its hand-written
 * backward against central finite differences of its own forward, for every bias, retention and learner
 * the kernel generates, on both memories. This pins the VJPs the WGSL backward is generated from.
 */
import { describe, expect, it } from 'vitest';
import { resolveCombo } from '@/engine/miras/math/combo';
import { f64Backward, f64Forward } from '@/engine/miras/recurrent/f64';
import { referenceProviderFor } from '@/engine/miras/reference/provider';
import { recurrentKernels } from '@/engine/miras/recurrent/codegen';
import { DEFAULT_CAPS } from '@/engine/plan/kernel';
import { gauss, mixer, randomInputs, relErr, rng } from './kernel-helpers';

const CASES: [string, Parameters<typeof mixer>][] = [
  ['linear attention', ['matrix', ['dot'], ['none'], ['gd']]],
  ['mamba2 (dot + beta + scalar)', ['matrix', ['dot'], ['scalar', { parametrization: 'mamba2' }], ['gd']]],
  ['gla (channel)', ['matrix', ['dot'], ['channel'], ['gd']]],
  ['retnet (constant)', ['matrix', ['dot'], ['constant'], ['gd']]],
  ['deltanet', ['matrix', ['l2'], ['none'], ['gd']]],
  ['gdn', ['matrix', ['l2'], ['scalar'], ['gd']]],
  ['deltaproduct', ['matrix', ['l2'], ['scalar'], ['multistep', { steps: 2 }]]],
  ['longhorn matrix', ['matrix', ['l2'], ['none'], ['implicit']]],
  ['longhorn vector', ['vector', ['l2'], ['channel'], ['implicit']]],
  ['titans momentum', ['matrix', ['l2'], ['l2'], ['momentum']]],
  ['chunk gd', ['matrix', ['l2'], ['scalar'], ['chunk', { chunkSize: 3 }]]],
  ['lp', ['matrix', ['lp', { p: 3 }], ['scalar'], ['gd']]],
  ['l1', ['vector', ['l1', { sharpness: 3 }], ['none'], ['gd']]],
  ['huber coordinate data', ['matrix', ['huber', { variant: 'coordinate', delta: 'data' }], ['scalar'], ['gd']]],
  ['huber norm data', ['matrix', ['huber', { variant: 'norm', delta: 'data' }], ['scalar'], ['gd']]],
  ['huber norm vector', ['vector', ['huber', { variant: 'norm', delta: 'data' }], ['none'], ['gd']]],
  ['huber switch', ['matrix', ['huber', { variant: 'switch', delta: 'fixed', deltaValue: 0.7 }], ['l2', { coupled: true }], ['gd']]],
  ['robust', ['matrix', ['robust', { shift: 0.3 }], ['channel'], ['gd']]],
  ['elastic smooth', ['matrix', ['l2'], ['elastic', { surrogate: 'smooth', threshold: 0.05 }], ['gd']]],
  ['elastic exact', ['vector', ['l2'], ['elastic', { threshold: 0.01 }], ['momentum']]],
  ['gdn, gradient at the previous memory', ['matrix', ['l2'], ['scalar', { gradientAt: 'previous' }], ['gd']]],
  ['chunk with lag token', ['matrix', ['lp', { p: 2.5 }], ['channel'], ['chunk', { chunkSize: 2, lagToken: true }]]],
  ['chunk without lag token', ['matrix', ['l2'], ['scalar'], ['chunk', { chunkSize: 2, lagToken: false }]]],
  ['beta per channel, implicit', ['matrix', ['l2'], ['scalar'], ['implicit'], 2, 3, 4, { betaPerChannel: true }]],
  ['learned initial state, momentum', ['matrix', ['huber', { variant: 'norm', delta: 'fixed', deltaValue: 0.5 }], ['scalar'], ['momentum'], 2, 3, 4, { memoryInit: 'learned' }]],
  ['uniform init, q scale', ['vector', ['l2'], ['none'], ['gd'], 2, 3, 4, { memoryInit: 'uniform', queryScale: 'inv-sqrt-dk' }]],
  ['lq aryateja', ['matrix', ['lp', { p: 3 }], ['lq', { q: 4, eps: 1e-3 }], ['gd']]],
  ['lq mlm, vector, momentum', ['vector', ['l2'], ['lq', { q: 3, form: 'mlm', eps: 1e-3 }], ['momentum']]],
  ['lq mirror, chunk + lag', ['matrix', ['l2'], ['lq', { q: 4, form: 'mirror', eps: 1e-3 }], ['chunk', { chunkSize: 2, lagToken: true }]]],
  ['lq, chunk without lag, learned init', ['matrix', ['huber', { variant: 'norm', delta: 'data' }], ['lq', { q: 3, eps: 1e-3, decay: false }], ['chunk', { chunkSize: 3, lagToken: false }], 2, 3, 4, { memoryInit: 'learned' }]],
  ['lq multistep', ['matrix', ['l2'], ['lq', { q: 4, eps: 1e-3 }], ['multistep', { steps: 2 }]]],
  ['kl key (Memora-like), uniform init', ['matrix', ['l2'], ['kl', { axis: 'key' }], ['gd'], 2, 3, 4, { memoryInit: 'uniform' }]],
  ['kl value, momentum, learned init', ['matrix', ['l2'], ['kl', { axis: 'value', scale: 2 }], ['momentum'], 2, 3, 4, { memoryInit: 'learned' }]],
  ['kl all, vector, multistep', ['vector', ['huber', { variant: 'coordinate', delta: 'data' }], ['kl', { axis: 'all' }], ['multistep', { steps: 2 }], 2, 3, 4, { memoryInit: 'uniform' }]],
  ['kl key, chunk + lag, no decay', ['matrix', ['lp', { p: 3 }], ['kl', { axis: 'key', decay: false }], ['chunk', { chunkSize: 2, lagToken: true }], 2, 3, 4, { memoryInit: 'uniform' }]],
  ['mlstm (scalar forget gate)', ['matrix', ['dot'], ['scalar', { parametrization: 'sigmoid' }], ['gd'], 2, 3, 4, { mlstmNormalizer: true, betaActivation: 'exp' }]],
  ['mlstm constant, learned init', ['matrix', ['dot'], ['constant'], ['gd'], 2, 3, 4, { mlstmNormalizer: true, betaActivation: 'exp', memoryInit: 'learned' }]],
  ['multistep elastic', ['matrix', ['l2'], ['elastic', { surrogate: 'smooth', threshold: 0.05 }], ['multistep', { steps: 3 }]]],
];

describe('float64 mirror: backward = finite differences of forward', () => {
  for (const [name, args] of CASES) {
    it(name, () => {
      const m = mixer(args[0], args[1], args[2], args[3], 2, 3, 4, args[7] ?? {});
      {
        const c = resolveCombo(m);
        const gradAt = c.gradAt;
        const s = { batch: 1, time: 5, heads: 2, dk: 3, dv: 4 };
        const x = randomInputs(c, s, 7);
        const r = rng(99);
        const y = f64Forward(c, s, x);
        const wo = Float64Array.from(y.o, () => gauss(r));
        const wf = Float64Array.from(y.finalState, () => gauss(r));
        const loss = (xx: Record<string, Float64Array>) => {
          const z = f64Forward(c, s, xx);
          let l = 0;
          z.o.forEach((v, i) => (l += v * wo[i]));
          z.finalState.forEach((v, i) => (l += v * wf[i]));
          return l;
        };
        const g = f64Backward(c, s, x, { o: wo, finalState: wf });
        for (const name of Object.keys(x)) {
          const dir = Float64Array.from(x[name], () => gauss(r));
          const h = 1e-6;
          const plus = { ...x, [name]: x[name].map((v, i) => v + h * dir[i]) };
          const minus = { ...x, [name]: x[name].map((v, i) => v - h * dir[i]) };
          const fd = (loss(plus) - loss(minus)) / (2 * h);
          let an = 0;
          g[name].forEach((v, i) => (an += v * dir[i]));
          expect(Math.abs(fd - an), `${name} d${name} (${gradAt}): fd ${fd} vs ${an}`).toBeLessThan(1e-5 * (1 + Math.abs(fd)));
        }
      }
    });
  }
});

describe('float64 mirror = B1 float64 oracle (engine/miras/reference)', () => {
  for (const [name, args] of CASES) {
    it(name, () => {
      const m = mixer(args[0], args[1], args[2], args[3], 2, 3, 4, args[7] ?? {});
      const c = resolveCombo(m);
      const s = { batch: 2, time: 5, heads: 2, dk: 3, dv: 4 };
      const x = randomInputs(c, s, 11);
      const oracle = referenceProviderFor(c.catalog);
      const r = rng(3);
      const want = oracle.referenceForward(x, s);
      const got = f64Forward(c, s, x);
      expect(relErr(got.o, want.o), 'o').toBeLessThan(1e-12);
      expect(relErr(got.finalState, want.finalState), 'finalState').toBeLessThan(1e-12);
      const go = Float64Array.from(got.o, () => gauss(r));
      const gf = Float64Array.from(got.finalState, () => gauss(r));
      const wantG = oracle.referenceBackward(x, { o: go, finalState: gf }, s);
      const gotG = f64Backward(c, s, x, { o: go, finalState: gf });
      for (const n of Object.keys(x)) expect(relErr(gotG[n], wantG[n]), `grad ${n}`).toBeLessThan(1e-10);
    });
  }
});

describe('fused recurrent kernel: clear refusals', () => {
  it('names what it does not support and the limits it would break', () => {
    expect(() => resolveCombo(mixer('mlp', ['l2'], ['none'], ['gd']))).toThrow(/does not support memory "mlp"/);
    const c = resolveCombo(mixer('matrix', ['l2'], ['none'], ['gd'], 1, 16, 512));
    expect(() => recurrentKernels(c, { batch: 1, time: 4, heads: 1, dk: 16, dv: 512 }, DEFAULT_CAPS)).toThrow(/d_v = 512 exceeds 256 invocations/);
    const big = resolveCombo(mixer('matrix', ['l2'], ['none'], ['gd'], 64, 16, 16));
    expect(() => recurrentKernels(big, { batch: 2048, time: 4, heads: 64, dk: 16, dv: 16 }, DEFAULT_CAPS)).toThrow(/batch·heads = 131072 exceeds 65535/);
  });

  it('stays within DEFAULT_CAPS: ≤ 8 storage buffers and ≤ 16 KiB workgroup memory per kernel', () => {
    const c = resolveCombo(mixer('matrix', ['huber', { variant: 'norm', delta: 'data' }], ['channel'], ['momentum'], 2, 128, 128, { memoryInit: 'learned' }));
    const k = recurrentKernels(c, { batch: 1, time: 9, heads: 2, dk: 128, dv: 128 }, DEFAULT_CAPS);
    for (const kern of [...k.forward, ...k.backward]) {
      expect(kern.bindings.length, kern.name).toBeLessThanOrEqual(8);
      const wg = [...kern.wgsl.matchAll(/var<workgroup> \w+: array<f32, (\d+)>/g)].reduce((a, m) => a + 4 * Number(m[1]), 0);
      expect(wg, kern.name).toBeLessThanOrEqual(16384);
    }
  });
});
