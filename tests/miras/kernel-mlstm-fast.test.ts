/**
 * The mLSTM backward kernels (engine/miras/recurrent/mlstm-fast.ts: column split, two-level recompute, deferred ∂m
 * chain; mlstm.ts: the general one-invocation-per-column kernel kept where the fast one does not fit) against B1's
 * float64 oracle: output, final state and every gradient (q, k, v, i, g, initialState). Tiny shapes with T not a
 * multiple of the checkpoint interval, several sub-segments per segment (the last one short), 2-8 invocations per
 * column, the row sums in 1-4 chunks, both branches of the max(|nᵀq'|, e^{−m}) denominator, d = 32 on the fast path and d = 64 on the general one (the fast
 * path at d = 64 needs 512 invocations, more than SwiftShader offers); the subgroup row sums (sgLanes = 4 on SwiftShader's
 * subgroups of 4) and their in-kernel fallback (more lanes than the subgroup holds).
 */
import { describe, expect, it } from 'vitest';
import { testGpu } from '../helpers/gpu';
import { DEFAULT_CAPS, type DeviceCaps, type KernelSpec } from '@/engine/plan/kernel';
import { comboInputs, comboOutputs, resolveCombo } from '@/engine/miras/math/combo';
import { layout, recurrentKernels, type RecurrentKernels } from '@/engine/miras/recurrent/codegen';
import { mlstmGeneralBackwardKernel } from '@/engine/miras/recurrent/mlstm';
import { mlstmFastBackwardKernel, mlstmFastConfig, type MlstmFastConfig } from '@/engine/miras/recurrent/mlstm-fast';
import { runScanKernels } from '@/engine/miras/recurrent/run';
import { mixer, oracleCase, relErr } from './kernel-helpers';

/** SwiftShader's limits (256 invocations, 32 KiB of workgroup memory). */
const SWS: DeviceCaps = { ...DEFAULT_CAPS, maxComputeWorkgroupStorageSize: 32768 };
/** SwiftShader offers subgroups of 4: sgLanes = 4 takes the subgroup path, more lanes the in-kernel fallback. */
const SGC: DeviceCaps = { ...DEFAULT_CAPS, subgroups: true };
const BLOCK = { mlstmNormalizer: true, betaActivation: 'exp' };
const SIGMOID: ['scalar', object] = ['scalar', { parametrization: 'sigmoid' }];

interface Case {
  name: string;
  retention: [string, object?];
  block?: object;
  T: number;
  ck: number;
  d?: number;
  B?: number;
  H?: number;
  caps?: DeviceCaps;
  /** force a launch shape of the fast kernel, or 'general' for mlstm.ts's kernel; default: what recurrentKernels picks */
  path?: MlstmFastConfig | 'general';
  /** expected backward kernel when the path is not forced */
  want?: 'fast' | 'general';
  /** multiply q (small q: the e^{−m} branch of the denominator) */
  qScale?: number;
}

const CASES: Case[] = [
  { name: 'scalar decay, picked by recurrentKernels', retention: SIGMOID, T: 11, ck: 6, want: 'fast' },
  { name: 'P = 2, sub-segments of 4 (10-step segments, last 3)', retention: SIGMOID, T: 23, ck: 10, path: { P: 2, LP: 4, NCH: 1 } },
  { name: 'P = 2, LP = 3, row sums in 4 chunks, constant decay, learned init', retention: ['constant'], block: { memoryInit: 'learned' }, T: 13, ck: 5, path: { P: 2, LP: 3, NCH: 4 } },
  { name: 'P = 8, LP = 16 over 37 steps, learned init', retention: SIGMOID, block: { memoryInit: 'learned' }, T: 37, ck: 16, path: { P: 8, LP: 16, NCH: 1 } },
  { name: 'e^{−m} branch of the denominator (small q), P = 4, LP = 2', retention: SIGMOID, T: 9, ck: 4, path: { P: 4, LP: 2, NCH: 2 }, qScale: 1e-3 },
  { name: 'general kernel, tiny', retention: SIGMOID, block: { memoryInit: 'learned' }, T: 11, ck: 6, path: 'general' },
  { name: 'general kernel, e^{−m} branch', retention: SIGMOID, T: 9, ck: 4, path: 'general', qScale: 1e-3 },
  { name: 'd = 32 fast, R = 8 rows per invocation, row sums in 2 chunks', retention: SIGMOID, block: { memoryInit: 'learned' }, T: 21, ck: 8, d: 32, B: 1, H: 2, caps: SWS, path: { P: 4, LP: 5, NCH: 2 } },
  // d = 64 within SwiftShader's 256 invocations would need R = 16 rows per invocation, which the config refuses
  { name: 'd = 64 on SwiftShader limits picks the general kernel', retention: SIGMOID, T: 12, ck: 5, d: 64, B: 1, H: 1, caps: SWS, want: 'general' },
  { name: 'subgroup path: row sums over 4 columns by shuffles, 4 groups through workgroup memory, learned init', retention: SIGMOID, block: { memoryInit: 'learned' }, T: 13, ck: 5, caps: SGC, path: { P: 2, LP: 3, NCH: 1, sgLanes: 4 } },
  { name: 'subgroup path, e^{−m} branch of the denominator, P = 4', retention: SIGMOID, T: 9, ck: 4, caps: SGC, path: { P: 4, LP: 2, NCH: 2, sgLanes: 4 }, qScale: 1e-3 },
  { name: 'subgroup path, d = 32, R = 8, constant decay', retention: ['constant'], T: 21, ck: 8, d: 32, B: 1, H: 2, caps: { ...SWS, subgroups: true }, path: { P: 4, LP: 5, NCH: 2, sgLanes: 4 } },
  { name: 'subgroups offered, 16 lanes > the subgroup: in-kernel fallback', retention: SIGMOID, T: 11, ck: 6, caps: SGC, path: { P: 2, LP: 4, NCH: 1 } },
  { name: 'd = 64 general kernel', retention: SIGMOID, block: { memoryInit: 'learned' }, T: 21, ck: 8, d: 64, B: 1, H: 1, path: 'general' },
];

function replaceBackward(k: RecurrentKernels, kernel: KernelSpec): RecurrentKernels {
  return { ...k, backward: k.backward.map((x) => (x.name.startsWith('miras_recurrent_mlstm_bwd') ? kernel : x)) };
}

describe('mLSTM backward kernels vs float64', () => {
  for (const o of CASES) {
    it(o.name, async () => {
      const { device } = await testGpu();
      const d = o.d ?? 16;
      const H = o.H ?? 2;
      const c = resolveCombo(mixer('matrix', ['dot'], o.retention, ['gd'], H, d, d, { ...BLOCK, ...(o.block ?? {}) }));
      const s = { batch: o.B ?? 2, time: o.T, heads: H, dk: d, dv: d };
      const caps = o.caps ?? DEFAULT_CAPS;
      const { x, want, up, wantG } = oracleCase(c, s, 17, 19, (x) => {
        if (o.qScale) x.q = x.q.map((v) => v * o.qScale!);
      });
      let k = recurrentKernels(c, s, caps, { checkpoint: o.ck });
      const L = layout(c, s, { checkpoint: o.ck });
      if (o.path === 'general') k = replaceBackward(k, mlstmGeneralBackwardKernel(c, s, L, caps));
      else if (o.path) {
        const kernel = mlstmFastBackwardKernel(c, s, L, caps, o.path);
        expect(kernel.wgsl.includes('subgroupShuffleXor'), 'subgroup code exactly when caps offer subgroups').toBe(!!caps.subgroups);
        k = replaceBackward(k, kernel);
      }
      else {
        const names = k.backward.map((kk) => kk.name);
        expect(names).toContain(o.want === 'fast' ? 'miras_recurrent_mlstm_bwd_fast' : 'miras_recurrent_mlstm_bwd');
        expect(mlstmFastConfig(c, L, caps) !== null).toBe(o.want === 'fast');
      }
      const got = await runScanKernels(device, k, { inputs: comboInputs(c, s), outputs: comboOutputs(c, s) }, x, up);
      const eo = relErr(got.o, want.o);
      const ef = relErr(got.finalState, want.finalState);
      const eg = Object.fromEntries(Object.keys(wantG).map((n) => [n, relErr(got.grads![n], wantG[n])]));
      console.log(`[kernel-mlstm] ${o.name}: o ${eo.toExponential(2)} S ${ef.toExponential(2)} grads ${Object.entries(eg).map(([n, e]) => `${n} ${e.toExponential(2)}`).join(' ')}`);
      expect(Object.keys(eg).sort()).toEqual(['i', 'k', 'q', 'v', ...(o.retention[0] === 'scalar' ? ['g'] : []), ...(o.block && 'memoryInit' in o.block ? ['initialState'] : [])].sort());
      expect(eo).toBeLessThan(1e-4);
      expect(ef).toBeLessThan(1e-4);
      for (const [n, e] of Object.entries(eg)) expect(e, `grad ${n}`).toBeLessThan(1e-3);
    });
  }
});
