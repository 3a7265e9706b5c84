/**
 * The deep MLP memory without the residual maps d_k-wide keys to d_v-wide values (first layer reads d_k, last writes
 * d_v; engine/miras/cost.ts mlpLayerShapes). Its kernel against the float64 tape oracle for d_k ≠ d_v: the float64
 * mirror of the step programs (engine/miras/mlp/f64.ts) and the WGSL scan on a real adapter (SwiftShader in CI):
 * o, finalState and the gradient of every input.
 */
import { describe, expect, it } from 'vitest';
import { testGpu } from '../helpers/gpu';
import '@/engine/model/mixers';
import { findScanProvider } from '@/engine/ir/scan';
import { DEFAULT_CAPS } from '@/engine/plan/kernel';
import { mlpScanF64 } from '@/engine/miras/mlp/f64';
import { resolveMlpCombo } from '@/engine/miras/mlp/program';
import { resolveCombo } from '@/engine/miras/catalog';
import { runScanKernels } from '@/engine/miras/recurrent/run';
import type { MirasMixer } from '@/engine/spec';
import { Graph } from '@/engine/ir/graph';
import { initParams } from '@/engine/model/init';
import { referenceForward } from '@/engine/reference/interpreter';
import { buildMirasMixer } from '@/engine/miras/block';
import { MIRAS_PRESETS } from '@/engine/presets/miras';
import { errors, fmtErrors, mlpMixer, oracleCase } from './mlp-helpers';

const TOL = 2e-4;

/** [name, mixer args, d_k, d_v] — T = 7 throughout, so the chunk learners end on a partial chunk. */
const CASES: [string, Parameters<typeof mlpMixer>, number, number][] = [
  ['d_k > d_v, 2 layers LN, l2, no retention, gd', [{ layers: 2, expansion: 2, residual: false }, ['l2'], ['none'], ['gd']], 8, 4],
  ['d_k < d_v, 1 layer no LN, huber norm data δ, scalar decay, momentum', [{ layers: 1, residual: false, layerNorm: false }, ['huber', { variant: 'norm', delta: 'data' }], ['scalar'], ['momentum']], 4, 8],
  ['d_k > d_v, 1 layer LN, robust, elastic, chunk 3', [{ layers: 1, residual: false }, ['robust', { shift: 0.3 }], ['elastic', { surrogate: 'smooth', threshold: 0.02 }], ['chunk', { chunkSize: 3 }]], 6, 4],
  ['d_k < d_v, 2 layers no LN silu, lp, lq, chunk 2 + lag token', [{ layers: 2, expansion: 1, activation: 'silu', residual: false, layerNorm: false }, ['lp', { p: 3 }], ['lq', { q: 4, eps: 1e-3 }], ['chunk', { chunkSize: 2, lagToken: true }]], 4, 6],
  ['d_k > d_v, 2 layers LN, l2, kl key, gd', [{ layers: 2, expansion: 1, residual: false }, ['l2'], ['kl', { axis: 'key' }], ['gd']], 8, 4],
  ['d_k < d_v, 2 layers LN, dot, constant decay, 2 heads, q scale', [{ layers: 2, expansion: 2, residual: false }, ['dot'], ['constant'], ['gd'], 2, 8, { queryScale: 'inv-sqrt-dk' }], 4, 8],
  ['d_k > d_v, 2 layers no LN relu, l2, l2 retention decayed, momentum', [{ layers: 2, expansion: 1, activation: 'relu', residual: false, layerNorm: false }, ['l2'], ['l2', { gradientAt: 'decayed' }], ['momentum']], 8, 4],
];

const mixerOf = (args: Parameters<typeof mlpMixer>, dk: number, dv: number): MirasMixer => ({ ...mlpMixer(...args), headDimK: dk, headDimV: dv });

describe('MLP memory kernel with d_k ≠ d_v (no residual)', () => {
  for (const [name, args, dk, dv] of CASES) {
    it(`float64 mirror: ${name}`, () => {
      const m = mixerOf(args, dk, dv);
      const s = { batch: 2, time: 7, heads: m.heads, dk, dv };
      const c = oracleCase(m, s, 5);
      expect(c.mc.shapes[0][1]).toBe(dk);
      expect(c.mc.shapes[c.mc.shapes.length - 1][0]).toBe(dv);
      // no vacuous comparison: every gradient the oracle gives is non-zero
      for (const [n, g] of Object.entries(c.wantG)) expect(Math.max(...Array.from(g, Math.abs)), `d${n}`).toBeGreaterThan(0);
      const got = mlpScanF64(c.mc, s, c.x, { o: c.go, finalState: c.gf });
      for (const [n, e] of Object.entries(errors(got, c))) expect(e, n).toBeLessThan(n.startsWith('d') ? 1e-9 : 1e-10);
    });

    it(`WebGPU: ${name}`, async () => {
      const { device } = await testGpu();
      const m = mixerOf(args, dk, dv);
      // through the registry, as the engine compiles it (checkpoints every ⌈√7⌉ = 3 tokens)
      const provider = findScanProvider(m)!;
      expect(provider.id).toMatch(/^miras:mlp\//);
      const s = { batch: 2, time: 7, heads: m.heads, dk, dv };
      const c = oracleCase(m, s, 5);
      const k = provider.kernels(DEFAULT_CAPS, s);
      expect(k.forward.map((x) => x.name)).toContain('mlp_fwd[C=3]');
      const got = await runScanKernels(device, k, { inputs: c.oracle.inputs(s), outputs: c.oracle.outputs(s) }, c.x, { o: c.go, finalState: c.gf });
      const errs = errors(got, c);
      console.log(`d_k ${dk} d_v ${dv} ${name}: ${fmtErrors(errs)}`);
      for (const [n, e] of Object.entries(errs)) expect(e, n).toBeLessThan(TOL);
    });
  }

  it('a Titans block without the residual at d_k = 8, d_v = 4 builds and runs (learned W_0 sized d_k → h → d_v)', () => {
    const spec = MIRAS_PRESETS.find((p) => p.name === 'titans')!.build({ vocabSize: 16, dModel: 16, nLayers: 2 });
    const m0 = spec.layers[0].mixer as MirasMixer;
    const mixer: MirasMixer = { ...m0, heads: 2, headDimK: 8, headDimV: 4, memory: { ...m0.memory, params: { ...m0.memory.params, expansion: 2, residual: false } } };
    expect(findScanProvider(mixer)?.id).toMatch(/^miras:mlp\//);
    const g = new Graph();
    const x = g.input('x', [1, 5, 16], 'f32');
    const y = g.scoped('mixer', () => buildMirasMixer(x, mixer, { layer: 1, nLayers: 2, normEps: 1e-5 }));
    const feeds = initParams(g, 3);
    feeds.set(x.id, Float64Array.from({ length: 80 }, (_, i) => Math.sin(i)));
    const out = referenceForward(g, feeds).get(y.id)!;
    expect(y.shape).toEqual([1, 5, 16]);
    expect(out.every(Number.isFinite)).toBe(true);
    expect(Math.max(...out.map(Math.abs))).toBeGreaterThan(0);
  });

  it('the residual memory still needs d_k = d_v, and says so', () => {
    const m = mixerOf([{ layers: 2, residual: true }, ['l2'], ['none'], ['gd']], 8, 4);
    expect(findScanProvider(m)).toBeNull();
    expect(() => resolveMlpCombo(resolveCombo(m), 1, 8, 4, [])).toThrow(/residual MLP memory .* d_k must equal d_v \(got d_k = 8, d_v = 4\)/);
  });
});
