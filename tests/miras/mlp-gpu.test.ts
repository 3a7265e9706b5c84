/**
 * The deep MLP memory WGSL scan (engine/miras/mlp) on a real WebGPU adapter (SwiftShader in CI) against the
 * float64 tape oracle (engine/miras/reference): o, finalState and the gradient of every input, per option.
 */
import { describe, expect, it } from 'vitest';
import { testGpu } from '../helpers/gpu';
import { DEFAULT_CAPS } from '@/engine/plan/kernel';
import { mlpKernels } from '@/engine/miras/mlp/wgsl';
import { runScanKernels } from '@/engine/miras/recurrent/run';
import { MLP_CASES, errors, fmtErrors, mlpMixer, oracleCase } from './mlp-helpers';

const TOL = 2e-4;

describe('deep MLP memory WGSL scan vs float64', () => {
  for (const [name, args] of MLP_CASES) {
    it(name, async () => {
      const { device } = await testGpu();
      const m = mlpMixer(...args);
      const s = { batch: 2, time: 7, heads: m.heads, dk: 8, dv: 8 };
      const c = oracleCase(m, s, 11);
      const k = mlpKernels(c.mc, s, DEFAULT_CAPS, { checkpoint: 3 });
      const got = await runScanKernels(device, k, { inputs: c.oracle.inputs(s), outputs: c.oracle.outputs(s) }, c.x, { o: c.go, finalState: c.gf });
      const errs = errors(got, c);
      console.log(`${name}: ${fmtErrors(errs)}`);
      for (const [n, e] of Object.entries(errs)) expect(e, n).toBeLessThan(TOL);
    });
  }
});
