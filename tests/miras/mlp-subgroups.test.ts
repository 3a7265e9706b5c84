/**
 * The `subgroups` path of the deep MLP memory kernel (engine/miras/mlp/wgsl.ts, wg_sum): workgroup sums (LayerNorm
 * statistics, the gradients of β, α, η, δ, the ℓq norm) add their partials with subgroupAdd instead of a tree, used
 * only where caps have `subgroups` and the run-time check (subgroupCheck(1): every subgroup full) passes; otherwise
 * the same kernel takes the tree. SwiftShader has subgroups of 4, so these cases run the subgroup path; caps without
 * subgroups (tests/miras/mlp-gpu.test.ts, DEFAULT_CAPS) run the tree and emit no subgroup code. Outputs and every
 * gradient against the float64 oracle.
 */
import { describe, expect, it } from 'vitest';
import { testGpu } from '../helpers/gpu';
import { DEFAULT_CAPS, type DeviceCaps } from '@/engine/plan/kernel';
import { mlpKernels } from '@/engine/miras/mlp/wgsl';
import { runScanKernels } from '@/engine/miras/recurrent/run';
import { MLP_CASES, errors, fmtErrors, mlpMixer, oracleCase } from './mlp-helpers';

const SG: DeviceCaps = { ...DEFAULT_CAPS, subgroups: true };
const TOL = 2e-4;
const s = { batch: 2, time: 7, heads: 1, dk: 8, dv: 8 };

describe('deep MLP memory kernel: subgroups used when present, never assumed', () => {
  it('emits subgroup code only when caps have subgroups, behind the run-time check', () => {
    const c = oracleCase(mlpMixer(...MLP_CASES[1][1]), s, 1);
    for (const k of [...mlpKernels(c.mc, s, DEFAULT_CAPS).forward, ...mlpKernels(c.mc, s, DEFAULT_CAPS).backward]) expect(k.wgsl, k.name).not.toMatch(/subgroup/);
    const on = mlpKernels(c.mc, s, SG);
    for (const k of [on.forward[1], on.backward[0]]) {
      expect(k.wgsl.startsWith('enable subgroups;'), k.name).toBe(true);
      expect(k.wgsl).toContain('subgroupAdd(s)');
      expect(k.wgsl).toContain('let sgok = sg_ok();');
      expect(k.wgsl).toContain('workgroupUniformLoad(&sgflag)');
    }
  });

  // ttt-linear (chunk), titans (momentum, LN sums, β/α/η gradients), moneta (ℓq norm sums), yaad (δ sums), memora (KL)
  for (const [name, args] of MLP_CASES.slice(0, 5)) {
    it(`${name}: subgroup path matches the oracle`, async () => {
      const { device, description } = await testGpu();
      expect(description.features, 'this adapter offers subgroups (SwiftShader does)').toContain('subgroups');
      const m = mlpMixer(...args);
      const c = oracleCase(m, s, 13);
      const k = mlpKernels(c.mc, s, SG, { checkpoint: 3 });
      const got = await runScanKernels(device, k, { inputs: c.oracle.inputs(s), outputs: c.oracle.outputs(s) }, c.x, { o: c.go, finalState: c.gf });
      const errs = errors(got, c);
      console.log(`[mlp-subgroups] ${name}: ${fmtErrors(errs)}`);
      for (const [n, e] of Object.entries(errs)) expect(e, n).toBeLessThan(TOL);
    }, 300_000);
  }
});
