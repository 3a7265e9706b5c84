/**
 * The `subgroups` path of the fast recurrent backward (engine/miras/recurrent/fast.ts): each step's row sums over
 * the tile's TV value columns (∂q, ∂k, channel ∂λ, scalar gate partials) by subgroupShuffleXor reduce-scatter
 * instead of workgroup memory, taken only where caps offer `subgroups` and the run-time check (codegen.ts
 * subgroupCheck(TV)) proves that the TV invocations of a row group share a full subgroup. SwiftShader has subgroups
 * of 4 with consecutive invocations (kernel-subgroups.test.ts shows subgroupCheck(4) passing there), so d_v = 4
 * (TV = 4) runs the subgroup path and d_v = 16 (TV = 16 > 4) the in-kernel fallback. On the subgroup path the column sums
 * that only leave the kernel (∂v, ∂β per channel) are deferred to once per sub-segment (no barrier per step) unless the
 * chain needs them (matrix ℓ2 family, implicit learner with β). Outputs and every gradient
 * against the float64 oracle, on both paths; caps without subgroups give no subgroup builtins.
 */
import { describe, expect, it } from 'vitest';
import { testGpu } from '../helpers/gpu';
import { DEFAULT_CAPS, type DeviceCaps } from '@/engine/plan/kernel';
import { comboInputs, comboOutputs, resolveCombo } from '@/engine/miras/math/combo';
import { recurrentKernels, type RecurrentOptions } from '@/engine/miras/recurrent/codegen';
import { runScanKernels } from '@/engine/miras/recurrent/run';
import { mixer, oracleCase, relErr } from './kernel-helpers';

const SG: DeviceCaps = { ...DEFAULT_CAPS, subgroups: true };
type Args = Parameters<typeof mixer>;
const GLA: Args = ['matrix', ['dot'], ['channel'], ['gd']];
const GDN: Args = ['matrix', ['l2'], ['scalar'], ['gd']];
const HUBER: Args = ['vector', ['huber', { variant: 'coordinate', delta: 'data' }], ['channel'], ['gd']];
const LONGHORN: Args = ['matrix', ['l2'], ['none'], ['implicit'], 2, 16, 16, { betaPerChannel: true }];
const MAMBA2: Args = ['matrix', ['dot'], ['scalar', { parametrization: 'mamba2' }], ['gd']];
const HEBB_BC: Args = ['matrix', ['dot'], ['constant'], ['gd'], 2, 16, 16, { betaPerChannel: true }];
const VEC_L2: Args = ['vector', ['l2'], ['scalar'], ['gd']];

const bwdOf = (k: { backward: { name: string; wgsl: string }[] }) => k.backward.find((x) => x.name === 'miras_recurrent_bwd_fast')!.wgsl;

describe('fast recurrent backward: subgroup row sums when present, never assumed', () => {
  it('emits subgroup builtins only when caps have subgroups', () => {
    const s = { batch: 1, time: 9, heads: 2, dk: 16, dv: 16 };
    const c = resolveCombo(mixer(...GLA));
    const on = bwdOf(recurrentKernels(c, s, SG, { checkpoint: 4 }));
    expect(on.startsWith('enable subgroups;')).toBe(true);
    expect(on).toContain('subgroupShuffleXor');
    expect(on).toContain('workgroupUniformLoad(&sgflag)');
    expect(bwdOf(recurrentKernels(c, s, DEFAULT_CAPS, { checkpoint: 4 }))).not.toMatch(/subgroup/);
  });

  const cases: [string, Args, number, number, RecurrentOptions['tune']][] = [
    // [name, mixer, d_k, d_v (= TV), tune]
    ['gla (rows k, q, channel λ), TV = 4: subgroup path', GLA, 8, 4, { backward: { P: 2, LP: 3 } }],
    ['gla, TV = 4, R = 1 (fewer values than lanes)', GLA, 8, 4, { backward: { P: 8, LP: 2 } }],
    ['gated deltanet (scalar gates, β), TV = 4: subgroup path', GDN, 8, 4, { backward: { P: 2, LP: 3 } }],
    ['vector Huber with data δ, TV = 4: subgroup path', HUBER, 8, 4, { backward: { P: 4, LP: 2 } }],
    ['longhorn-like (implicit, β per channel), TV = 4: subgroup path', LONGHORN, 8, 4, { backward: { P: 2, LP: 2 } }],
    ['mamba2 (β per head), TV = 4: subgroup path, deferred ∂v', MAMBA2, 8, 4, { backward: { P: 2, LP: 3 } }],
    ['Hebbian with β per channel, TV = 4: deferred ∂v and ∂β', HEBB_BC, 8, 4, { backward: { P: 4, LP: 4 } }],
    ['vector ℓ2, scalar decay, TV = 4: deferred ∂v', VEC_L2, 8, 4, { backward: { P: 2, LP: 2 } }],
    ['mamba2, TV = 16: in-kernel fallback', MAMBA2, 16, 16, { backward: { P: 2, LP: 3 } }],
    ['gated deltanet, TV = 16: in-kernel fallback', GDN, 16, 16, { backward: { P: 4, LP: 2 } }],
  ];
  for (const [name, args, dk, dv, tune] of cases) {
    it(name, async () => {
      const { device } = await testGpu();
      const m = mixer(args[0], args[1], args[2], args[3], 2, dk, dv, args[7] ?? {});
      const c = resolveCombo(m);
      const s = { batch: 2, time: 11, heads: 2, dk, dv };
      const { x, want, up, wantG } = oracleCase(c, s, 17, 19);
      const k = recurrentKernels(c, s, SG, { checkpoint: 5, tune });
      expect(bwdOf(k)).toContain('subgroupShuffleXor');
      const got = await runScanKernels(device, k, { inputs: comboInputs(c, s), outputs: comboOutputs(c, s) }, x, up);
      const eg = Object.fromEntries(Object.keys(wantG).map((n) => [n, relErr(got.grads![n], wantG[n])]));
      console.log(`[fast-subgroups] ${name}: ${Object.entries(eg).map(([n, e]) => `${n} ${e.toExponential(2)}`).join(' ')}`);
      expect(relErr(got.o, want.o)).toBeLessThan(1e-4);
      for (const [n, e] of Object.entries(eg)) expect(e, `grad ${n}`).toBeLessThan(1e-3);
    });
  }
});
