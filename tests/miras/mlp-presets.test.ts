/**
 * The five deep-MLP-memory presets (ttt-linear, titans, moneta, yaad, memora): the scan registry picks the MLP
 * kernel (`miras-mlp`) for their mixers, and the kernel matches the float64 oracle on o, finalState and every
 * input gradient at shrunk shapes (heads 2, d = 16, T = 9, not a multiple of the chunk; d = 64 at T = 3);
 * plus a seeded random sweep over valid MLP-memory combinations.
 */
import { describe, expect, it } from 'vitest';
import { testGpu } from '../helpers/gpu';
import { DEFAULT_CAPS } from '@/engine/plan/kernel';
import { findScanProvider, type ScanShape } from '@/engine/ir/scan';
import { getPreset } from '@/engine/presets';
import type { MirasMixer } from '@/engine/spec';
import '@/engine/model/mixers';
import { buildModel } from '@/engine/model/build';
import { compilePlan } from '@/engine/runtime/plan';
import { mlpProvider } from '@/engine/miras/mlp/provider';
import { mlpUnsupported } from '@/engine/miras/mlp/program';
import { runScanKernels } from '@/engine/miras/recurrent/run';
import { Rng, randomCombo } from '@/engine/miras/reference/random';
import { errors, fmtErrors, oracleCase } from './mlp-helpers';

const TOL = 5e-4;

async function compare(m: MirasMixer, s: ScanShape, seed: number, checkpoint?: number): Promise<Record<string, number>> {
  const { device } = await testGpu();
  const c = oracleCase(m, s, seed);
  const provider = mlpProvider(m, { checkpoint });
  const got = await runScanKernels(device, provider.kernels(DEFAULT_CAPS, s), { inputs: provider.inputs(s), outputs: provider.outputs(s) }, c.x, { o: c.go, finalState: c.gf });
  return errors(got, c);
}

const fmt = fmtErrors;

const MLP_PRESETS = ['ttt-linear', 'titans', 'moneta', 'yaad', 'memora'];

function presetMixer(name: string, d: number, heads: number): MirasMixer {
  const spec = getPreset(name).build({ vocabSize: 16, dModel: 64, nLayers: 1 });
  const mixer = spec.layers[0].mixer as MirasMixer;
  return { ...mixer, heads, headDimK: d, headDimV: d };
}

describe('deep MLP memory presets on WebGPU vs float64', () => {
  for (const name of MLP_PRESETS) {
    it(`${name}: the registry picks the MLP kernel, which matches the oracle (H=2, d=16, T=9)`, async () => {
      const m = presetMixer(name, 16, 2);
      expect(findScanProvider(m)?.id).toMatch(/^miras:mlp\//);
      const errs = await compare(m, { batch: 2, time: 9, heads: 2, dk: 16, dv: 16 }, 7, 4);
      console.log(`${name}: ${fmt(errs)}`);
      for (const [n, e] of Object.entries(errs)) expect(e, n).toBeLessThan(TOL);
    });
  }
  for (const name of ['titans', 'memora']) {
    it(`${name} at head dim 64 (hidden 256, T=3)`, async () => {
      const m = presetMixer(name, 64, 1);
      const errs = await compare(m, { batch: 1, time: 3, heads: 1, dk: 64, dv: 64 }, 3);
      console.log(`${name} d=64: ${fmt(errs)}`);
      for (const [n, e] of Object.entries(errs)) expect(e, n).toBeLessThan(TOL);
    });
  }
});

describe('deep MLP memory presets compile at the editor check shape', () => {
  it('every MLP kernel of the five presets (d_model 128, batch 8, T 128) is valid WGSL within DEFAULT_CAPS', async () => {
    const { device } = await testGpu();
    for (const name of MLP_PRESETS) {
      const spec = getPreset(name).build({ vocabSize: 256, dModel: 128, nLayers: 1 });
      const model = buildModel(spec, { batch: 8, seqLen: 128 });
      const plan = compilePlan(model.graph, { caps: DEFAULT_CAPS, loss: model.loss, keep: [model.metrics, model.logits], optimizer: true });
      const kernels = [...plan.forward, ...plan.backward].filter((k) => k.name.includes('mlp_'));
      expect(kernels.length, name).toBeGreaterThanOrEqual(5);
      for (const s of plan.slots) expect(s.bytes, `${name} buffer`).toBeLessThanOrEqual(DEFAULT_CAPS.maxStorageBufferBindingSize);
      for (const k of kernels) {
        expect(k.bindings.length, k.name).toBeLessThanOrEqual(DEFAULT_CAPS.maxStorageBuffersPerShaderStage);
        const shader = device.createShaderModule({ code: k.wgsl });
        const info = await shader.getCompilationInfo();
        expect(info.messages.filter((m) => m.type === 'error').map((m) => m.message), `${name} ${k.name}`).toEqual([]);
        device.pushErrorScope('validation');
        await device.createComputePipelineAsync({ layout: 'auto', compute: { module: shader, entryPoint: k.entryPoint } });
        expect(await device.popErrorScope(), `${name} ${k.name}`).toBeNull();
      }
    }
  }, 300_000);
});

describe('seeded random sweep over MLP-memory combinations', () => {
  const r = new Rng(2024);
  const cases: { label: string; m: MirasMixer; s: ScanShape }[] = [];
  while (cases.length < 8) {
    const c = randomCombo(r, { memories: ['mlp'], mlstm: false });
    if (mlpUnsupported(c)) continue;
    const heads = 1 + Math.floor(r.next() * 2);
    const d = [8, 12, 16][Math.floor(r.next() * 3)];
    const s = { batch: 1 + Math.floor(r.next() * 2), time: 5 + Math.floor(r.next() * 8), heads, dk: d, dv: d };
    const m: MirasMixer = { type: 'miras', heads, headDimK: d, headDimV: d, memory: c.memory, bias: c.bias, retention: c.retention, learner: c.learner, block: c.block };
    const p = c.memory.params;
    cases.push({ label: `#${cases.length} L${p.layers}×${p.expansion} ${p.activation}${p.layerNorm ? '+LN' : ''} ${c.bias.kind}/${c.retention.kind}/${c.learner.kind} B${s.batch} T${s.time} H${heads} d${d}`, m, s });
  }
  for (const [i, cs] of cases.entries()) {
    it(cs.label, async () => {
      const errs = await compare(cs.m, cs.s, 100 + i, 3);
      console.log(`${cs.label}: ${fmt(errs)}`);
      for (const [n, e] of Object.entries(errs)) expect(e, n).toBeLessThan(TOL);
    });
  }
});
