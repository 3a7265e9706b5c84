/**
 * The deep MLP memory WGSL scan (engine/miras/mlp) on a real WebGPU adapter (SwiftShader in CI) against the
 * float64 tape oracle (engine/miras/reference): o, finalState and the gradient of every input, per option.
 */
import { describe, expect, it } from 'vitest';
import { testGpu } from '../helpers/gpu';
import { DEFAULT_CAPS } from '@/engine/plan/kernel';
import { mlpKernels } from '@/engine/miras/mlp/wgsl';
import { runScanKernels } from '@/engine/miras/recurrent/run';
import { referenceProviderFor } from '@/engine/miras/reference/provider';
import { MLP_CASES, gauss, mlpCase, mlpInputs, mlpMixer, relErr, rng } from './mlp-helpers';

const TOL = 2e-4;

describe('deep MLP memory WGSL scan vs float64', () => {
  for (const [name, args] of MLP_CASES) {
    it(name, async () => {
      const { device } = await testGpu();
      const m = mlpMixer(...args);
      const s = { batch: 2, time: 7, heads: m.heads, dk: 8, dv: 8 };
      const { cat, mc } = mlpCase(m, s);
      const x = mlpInputs(cat, mc, s, 11);
      const oracle = referenceProviderFor(cat);
      const want = oracle.referenceForward(x, s);
      const r = rng(5);
      const go = Float64Array.from(want.o, () => gauss(r));
      const gf = Float64Array.from(want.finalState, () => gauss(r));
      const wantG = oracle.referenceBackward(x, { o: go, finalState: gf }, s);
      const k = mlpKernels(mc, s, DEFAULT_CAPS, { checkpoint: 3 });
      const got = await runScanKernels(device, k, { inputs: oracle.inputs(s), outputs: oracle.outputs(s) }, x, { o: go, finalState: gf });
      const errs: Record<string, number> = { o: relErr(got.o, want.o), finalState: relErr(got.finalState, want.finalState) };
      for (const n of Object.keys(x)) errs[`d${n}`] = relErr(got.grads![n], wantG[n]);
      console.log(`${name}: ${Object.entries(errs).map(([n, e]) => `${n} ${e.toExponential(1)}`).join('  ')}`);
      for (const [n, e] of Object.entries(errs)) expect(e, n).toBeLessThan(TOL);
    });
  }
});
