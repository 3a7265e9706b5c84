/**
 * Fused recurrent WGSL scan on WebGPU (SwiftShader in CI) against B1's float64 oracle (engine/miras/reference): forward o and final
 * state, and backward gradients of every input, for the preset combinations and every bias/retention/learner.
 */
import { describe, expect, it } from 'vitest';
import { testGpu } from '../helpers/gpu';
import { DEFAULT_CAPS } from '@/engine/plan/kernel';
import { comboInputs, comboOutputs, resolveCombo } from '@/engine/miras/math/combo';
import { recurrentKernels } from '@/engine/miras/recurrent/codegen';
import { runScanKernels } from '@/engine/miras/recurrent/run';
import { referenceProviderFor } from '@/engine/miras/reference/provider';
import { gauss, mixer, randomInputs, relErr, rng } from './kernel-helpers';

export const GPU_CASES: [string, Parameters<typeof mixer>][] = [
  ['linear attention', ['matrix', ['dot'], ['none'], ['gd']]],
  ['retnet', ['matrix', ['dot'], ['constant'], ['gd']]],
  ['mamba2', ['matrix', ['dot'], ['scalar', { parametrization: 'mamba2' }], ['gd']]],
  ['gla', ['matrix', ['dot'], ['channel'], ['gd']]],
  ['deltanet', ['matrix', ['l2'], ['none'], ['gd']]],
  ['gated deltanet', ['matrix', ['l2'], ['scalar'], ['gd']]],
  ['deltaproduct', ['matrix', ['l2'], ['scalar'], ['multistep', { steps: 2 }]]],
  ['longhorn', ['vector', ['l2'], ['none'], ['implicit']]],
  ['titans (momentum)', ['matrix', ['l2'], ['l2'], ['momentum']]],
  ['ttt-linear (chunked)', ['matrix', ['l2'], ['none'], ['chunk', { chunkSize: 4 }]]],
  ['moneta-like lp', ['matrix', ['lp', { p: 3 }], ['scalar'], ['gd']]],
  ['yaad-like huber switch', ['matrix', ['huber', { variant: 'switch', delta: 'data' }], ['l2'], ['gd']]],
  ['huber norm, vector', ['vector', ['huber', { variant: 'norm', delta: 'data' }], ['channel'], ['gd']]],
  ['robust', ['matrix', ['robust', { shift: 0.3 }], ['none'], ['gd']]],
  ['l1 + elastic', ['matrix', ['l1', { sharpness: 5 }], ['elastic', { surrogate: 'smooth', threshold: 0.02 }], ['gd']]],
  ['chunk + lag token, channel decay', ['matrix', ['l2'], ['channel'], ['chunk', { chunkSize: 3, lagToken: true }]]],
  ['longhorn, β per channel, q scale', ['matrix', ['l2'], ['none'], ['implicit'], 2, 16, 16, { betaPerChannel: true, queryScale: 'inv-sqrt-dk' }]],
  ['learned initial state + momentum', ['vector', ['robust', { shift: 0.2 }], ['scalar', { gradientAt: 'previous' }], ['momentum'], 2, 16, 16, { memoryInit: 'learned' }]],
  ['moneta-like lq (aryateja)', ['matrix', ['lp', { p: 3 }], ['lq', { q: 4, eps: 1e-3 }], ['gd']]],
  ['lq mirror, chunk + lag, learned init', ['matrix', ['l2'], ['lq', { q: 4, form: 'mirror', eps: 1e-3 }], ['chunk', { chunkSize: 2, lagToken: true }], 2, 16, 16, { memoryInit: 'learned' }]],
  ['lq mlm, vector, momentum', ['vector', ['l2'], ['lq', { q: 3, form: 'mlm', eps: 1e-3 }], ['momentum']]],
  ['memora-like kl (key), uniform init', ['matrix', ['l2'], ['kl', { axis: 'key' }], ['gd'], 2, 16, 16, { memoryInit: 'uniform' }]],
  ['kl value, momentum, learned init', ['matrix', ['l2'], ['kl', { axis: 'value', scale: 2 }], ['momentum'], 2, 16, 16, { memoryInit: 'learned' }]],
  ['kl all, vector, multistep', ['vector', ['huber', { variant: 'coordinate', delta: 'data' }], ['kl', { axis: 'all' }], ['multistep', { steps: 2 }], 2, 16, 16, { memoryInit: 'uniform' }]],
  ['mlstm (normaliser + stabiliser)', ['matrix', ['dot'], ['scalar', { parametrization: 'sigmoid' }], ['gd'], 2, 16, 16, { mlstmNormalizer: true, betaActivation: 'exp' }]],
  ['mlstm constant decay, learned init', ['matrix', ['dot'], ['constant'], ['gd'], 2, 16, 16, { mlstmNormalizer: true, betaActivation: 'exp', memoryInit: 'learned' }]],
  ['uniform init, multistep elastic', ['matrix', ['huber', { variant: 'coordinate', delta: 'data' }], ['elastic', { threshold: 0.01 }], ['multistep', { steps: 3 }], 2, 16, 16, { memoryInit: 'uniform' }]],
];

describe('fused recurrent WGSL scan vs float64', () => {
  for (const [name, args] of GPU_CASES) {
    it(name, async () => {
      const { device } = await testGpu();
      const m = mixer(args[0], args[1], args[2], args[3], 2, 16, 16, args[7] ?? {});
      const c = resolveCombo(m);
      const s = { batch: 2, time: 7, heads: 2, dk: 16, dv: 16 };
      const x = randomInputs(c, s, 3);
      const r = rng(5);
      const oracle = referenceProviderFor(c.catalog);
      const want = oracle.referenceForward(x, s);
      const go = Float64Array.from(want.o, () => gauss(r));
      const gf = Float64Array.from(want.finalState, () => gauss(r));
      const wantG = oracle.referenceBackward(x, { o: go, finalState: gf }, s);
      const k = recurrentKernels(c, s, DEFAULT_CAPS, { checkpoint: 3 });
      const got = await runScanKernels(device, k, { inputs: comboInputs(c, s), outputs: comboOutputs(c, s) }, x, { o: go, finalState: gf });
      const eo = relErr(got.o, want.o);
      const ef = relErr(got.finalState, want.finalState);
      const eg = Object.fromEntries(Object.keys(wantG).map((n) => [n, relErr(got.grads![n], wantG[n])]));
      console.log(`[kernel] ${name}: o ${eo.toExponential(2)} S ${ef.toExponential(2)} grads ${Object.entries(eg).map(([n, e]) => `${n} ${e.toExponential(2)}`).join(' ')}`);
      expect(eo).toBeLessThan(1e-4);
      expect(ef).toBeLessThan(1e-4);
      for (const [n, e] of Object.entries(eg)) expect(e, `grad ${n}`).toBeLessThan(1e-3);
    });
  }
});
