/**
 * The fast recurrent kernels (block-staged forward with deferred read-out; column-split backward with two-level
 * recomputation, engine/miras/recurrent/fast.ts) against B1's float64 oracle, forward and every gradient, under
 * launch shapes that exercise each code path on tiny problems: several staged blocks and sub-segments per
 * checkpoint segment (including a short last one), 1, 2, 4 and 8 invocations per column, narrow column tiles,
 * and the H200-sized launch (d_k = d_v = 64, 48 KiB of workgroup memory) at a short T.
 */
import { describe, expect, it } from 'vitest';
import { testGpu } from '../helpers/gpu';
import { DEFAULT_CAPS, type DeviceCaps } from '@/engine/plan/kernel';
import { comboInputs, comboOutputs, resolveCombo } from '@/engine/miras/math/combo';
import { recurrentKernels, type RecurrentOptions } from '@/engine/miras/recurrent/codegen';
import { fastBackwardCovers } from '@/engine/miras/recurrent/fast';
import { runScanKernels } from '@/engine/miras/recurrent/run';
import { referenceProviderFor } from '@/engine/miras/reference/provider';
import { gauss, mixer, randomInputs, relErr, rng } from './kernel-helpers';

const BIG: DeviceCaps = { ...DEFAULT_CAPS, maxComputeWorkgroupStorageSize: 49152, maxComputeInvocationsPerWorkgroup: 1024, maxComputeWorkgroupSizeX: 1024 };

type Case = [string, Parameters<typeof mixer>, RecurrentOptions['tune'], { T?: number; ck?: number; dk?: number; dv?: number; caps?: DeviceCaps; B?: number; H?: number; general?: boolean }?];

const CASES: Case[] = [
  ['gated deltanet, blocks of 2', ['matrix', ['l2'], ['scalar'], ['gd']], { forward: { LP: 2 }, backward: { LP: 2 } }],
  ['deltaproduct, P = 2 backward, P = 1 forward', ['matrix', ['l2'], ['scalar'], ['multistep', { steps: 2 }]], { forward: { P: 1, LP: 3 }, backward: { P: 2, LP: 3 } }],
  ['gla, P = 4, 8-column forward tiles', ['matrix', ['dot'], ['channel'], ['gd']], { forward: { TV: 8, LP: 2 }, backward: { P: 4, LP: 2 } }],
  ['longhorn (vector, implicit, β per channel)', ['matrix', ['l2'], ['none'], ['implicit'], 2, 16, 16, { betaPerChannel: true, queryScale: 'inv-sqrt-dk' }], { forward: { LP: 2 }, backward: { LP: 2 } }],
  ['vector implicit, β per head, P = 1', ['vector', ['l2'], ['none'], ['implicit']], { forward: { P: 1, LP: 4 }, backward: { P: 1, LP: 4 } }],
  ['coupled ℓ2 retention', ['matrix', ['l2'], ['l2', { coupled: true }], ['gd']], { backward: { LP: 2 } }],
  ['vector Huber (data δ), channel decay, learned init', ['vector', ['huber', { variant: 'coordinate', delta: 'data' }], ['channel'], ['gd'], 2, 16, 16, { memoryInit: 'learned' }], { forward: { LP: 3 }, backward: { LP: 2, P: 4 } }],
  ['coordinate Huber, constant decay, 3 sub-steps, uniform init', ['matrix', ['huber', { variant: 'coordinate' }], ['constant'], ['multistep', { steps: 3 }], 2, 16, 16, { memoryInit: 'uniform' }], { forward: { LP: 4 }, backward: { LP: 3 } }, { ck: 9 }],
  ['ℓ2, β per channel (gd)', ['matrix', ['l2'], ['none'], ['gd'], 2, 16, 16, { betaPerChannel: true }], { backward: { LP: 2 } }],
  ['mamba2 at d = 64 with 48 KiB (H200 launch)', ['matrix', ['dot'], ['scalar', { parametrization: 'mamba2' }], ['gd'], 1, 64, 64], undefined, { T: 21, ck: 8, dk: 64, dv: 64, caps: BIG, B: 1, H: 1 }],
  ['gated deltanet at d = 64 with 48 KiB (H200 launch)', ['matrix', ['l2'], ['scalar'], ['gd'], 1, 64, 64], undefined, { T: 21, ck: 8, dk: 64, dv: 64, caps: BIG, B: 1, H: 1 }],
  // straight-line full blocks: checkpoints hoisted to block starts (CK a multiple of LP), constant sub-step index
  // (n_h = 2 divides LP), vec4 row loads, a partial last block on the rolled loop
  ['gla, vec4 rows, full blocks, hoisted checkpoints', ['matrix', ['dot'], ['channel'], ['gd']], { forward: { P: 4, LP: 4, vec4: true }, backward: { LP: 2 } }, { T: 22, ck: 8 }],
  ['deltaproduct, vec4, n_h = 2 constant within unrolled blocks', ['matrix', ['l2'], ['scalar'], ['multistep', { steps: 2 }]], { forward: { P: 2, LP: 4, vec4: true }, backward: { LP: 3 } }, { T: 13, ck: 8 }],
  ['longhorn, vec4 (implicit ‖k‖² read from the vec4 staging)', ['matrix', ['l2'], ['none'], ['implicit'], 2, 16, 16, { betaPerChannel: true, queryScale: 'inv-sqrt-dk' }], { forward: { P: 2, LP: 4, vec4: true }, backward: { LP: 2 } }, { T: 13, ck: 4 }],
  ['gated deltanet, P = 16 (R = 1), checkpoint not a multiple of LP', ['matrix', ['l2'], ['scalar'], ['gd']], { forward: { P: 16, TV: 8, LP: 4 }, backward: { LP: 2 } }, { T: 19, ck: 6 }],
  ['mLSTM forward P = 4, 8-column tiles, full blocks, learned init', ['matrix', ['dot'], ['scalar', { parametrization: 'sigmoid' }], ['gd'], 2, 16, 16, { mlstmNormalizer: true, betaActivation: 'exp', memoryInit: 'learned' }], { forward: { P: 4, TV: 8, LP: 4 } }, { T: 21, ck: 8, B: 1, general: true }],
  ['mLSTM forward P = 1, checkpoint not a multiple of LP', ['matrix', ['dot'], ['scalar', { parametrization: 'sigmoid' }], ['gd'], 2, 16, 16, { mlstmNormalizer: true, betaActivation: 'exp' }], { forward: { P: 1, LP: 4 } }, { T: 15, ck: 6, B: 1, general: true }],
  // the column-tiled Hebbian forward (fwd-hebbian.ts): CW value columns per invocation
  ['gla, column-tiled forward (CW = 2, P = 4), full blocks', ['matrix', ['dot'], ['channel'], ['gd']], { forward: { CW: 2, P: 4, TV: 8, LP: 4 }, backward: { LP: 2 } }, { T: 22, ck: 8 }],
  ['mamba2, column-tiled forward (CW = 4, vec4), checkpoint not a multiple of LP', ['matrix', ['dot'], ['scalar', { parametrization: 'mamba2' }], ['gd']], { forward: { CW: 4, P: 4, LP: 4, vec4: true }, backward: { LP: 2 } }, { T: 19, ck: 6 }],
  ['retnet-like (constant decay), column-tiled forward, learned init, P = 1', ['matrix', ['dot'], ['constant'], ['gd'], 2, 16, 16, { memoryInit: 'learned' }], { forward: { CW: 2, P: 1, LP: 3 }, backward: { LP: 2 } }, { T: 13, ck: 6 }],
  // the mLSTM forward stages blocks of 16 steps: 3 blocks, the last one partial (its backward is the general kind)
  ['mLSTM staged forward over 3 blocks', ['matrix', ['dot'], ['scalar', { parametrization: 'sigmoid' }], ['gd'], 2, 16, 16, { mlstmNormalizer: true, betaActivation: 'exp' }], undefined, { T: 37, ck: 8, B: 1, general: true }],
];

describe('fast recurrent kernels vs float64', () => {
  for (const [name, args, tune, o = {}] of CASES) {
    it(name, async () => {
      const { device } = await testGpu();
      const dk = o.dk ?? 16;
      const dv = o.dv ?? 16;
      const H = o.H ?? 2;
      const m = mixer(args[0], args[1], args[2], args[3], H, dk, dv, args[7] ?? {});
      const c = resolveCombo(m);
      expect(fastBackwardCovers(c), `${name}: covered by the fast backward`).toBe(!o.general);
      const s = { batch: o.B ?? 2, time: o.T ?? 11, heads: H, dk, dv };
      const x = randomInputs(c, s, 11);
      const r = rng(13);
      const oracle = referenceProviderFor(c.catalog);
      const want = oracle.referenceForward(x, s);
      const go = Float64Array.from(want.o, () => gauss(r));
      const gf = Float64Array.from(want.finalState, () => gauss(r));
      const wantG = oracle.referenceBackward(x, { o: go, finalState: gf }, s);
      const k = recurrentKernels(c, s, o.caps ?? DEFAULT_CAPS, { checkpoint: o.ck ?? 6, tune });
      if (tune?.forward?.CW) expect(k.forward.at(-1)!.wgsl, `${name}: the column-tiled Hebbian forward`).toContain('column-tiled');
      if (!o.general) expect(k.backward.map((kk) => kk.name)).toContain('miras_recurrent_bwd_fast');
      const got = await runScanKernels(device, k, { inputs: comboInputs(c, s), outputs: comboOutputs(c, s) }, x, { o: go, finalState: gf });
      const eo = relErr(got.o, want.o);
      const ef = relErr(got.finalState, want.finalState);
      const eg = Object.fromEntries(Object.keys(wantG).map((n) => [n, relErr(got.grads![n], wantG[n])]));
      console.log(`[kernel-fast] ${name}: o ${eo.toExponential(2)} S ${ef.toExponential(2)} grads ${Object.entries(eg).map(([n, e]) => `${n} ${e.toExponential(2)}`).join(' ')}`);
      expect(eo).toBeLessThan(1e-4);
      expect(ef).toBeLessThan(1e-4);
      for (const [n, e] of Object.entries(eg)) expect(e, `grad ${n}`).toBeLessThan(1e-3);
    });
  }
});

describe('default forward launch (chosen from the H200 sweep)', () => {
  const H200: DeviceCaps = { ...BIG, subgroups: true };
  const fwdOf = (args: Parameters<typeof mixer>, caps: DeviceCaps) => {
    const s = { batch: 2, time: 4096, heads: 16, dk: 64, dv: 64 };
    return recurrentKernels(resolveCombo(mixer(args[0], args[1], args[2], args[3], 16, 64, 64, args[7] ?? {})), s, caps).forward.at(-1)!;
  };
  it('Hebbian combinations take the column-tiled kernel (2 columns per invocation), within DEFAULT_CAPS too', () => {
    for (const caps of [H200, DEFAULT_CAPS]) {
      for (const decay of ['none', 'constant', 'scalar', 'channel'] as const) {
        const k = fwdOf(['matrix', ['dot'], [decay], ['gd']], caps);
        expect(k.wgsl, decay).toContain('column-tiled');
        expect(k.wgsl).toContain('2 columns per invocation');
        const wg = Number(/@workgroup_size\((\d+)\)/.exec(k.wgsl)![1]);
        expect(wg).toBeLessThanOrEqual(caps.maxComputeInvocationsPerWorkgroup);
      }
    }
    // β per channel is not covered by the tiled kernel: the general forward
    expect(fwdOf(['matrix', ['dot'], ['scalar'], ['gd'], 16, 64, 64, { betaPerChannel: true }], H200).wgsl).not.toContain('column-tiled');
  });
  it('the delta rule keeps 8 invocations per column and the barrier path even where the device has subgroups', () => {
    const k = fwdOf(['matrix', ['l2'], ['scalar'], ['gd']], H200);
    expect(k.wgsl).toContain('8 invocations per column');
    expect(k.wgsl).not.toMatch(/subgroup/);
  });
});
