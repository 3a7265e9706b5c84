/**
 * Whole models through the scan slot: Miras presets whose mixer runs on the fused recurrent kernel
 * (engine/miras/recurrent/provider.ts, registered with findScanProvider), WebGPU against the float64
 * reference backend on logits and on every parameter gradient.
 */
import { describe, expect, it } from 'vitest';
import { relError } from '@/engine/reference/compare';
import { createBackend } from '@/engine/train/backend';
import { capsFromDescription } from '@/engine/gpu/describe';
import { getPreset } from '@/engine/presets';
import { findScanProvider } from '@/engine/ir/scan';
import { Rng } from '@/engine/tasks/rng';
import type { MirasMixer } from '@/engine/spec';
import { testGpu } from '../helpers/gpu';

function batchFor(V: number, B: number, T: number, seed = 3) {
  const r = new Rng(seed);
  return {
    inputs: Int32Array.from({ length: B * T }, () => r.int(0, V)),
    targets: Int32Array.from({ length: B * T }, (_, i) => (i % 4 === 2 ? -1 : r.int(0, V))),
  };
}

describe('whole Miras models on the fused recurrent kernel: WebGPU vs float64', () => {
  // Presets the chunk-parallel kernels do not take (they serve the linear family), plus an editor-style
  // combination: Gated DeltaNet's block with the ℓp bias and elastic-net retention.
  const cases: [string, string, ((m: MirasMixer) => void) | null][] = [
    ['mlstm', 'mlstm', null],
    ['longhorn', 'longhorn', null],
    ['deltaproduct', 'deltaproduct', null],
    [
      'gated-deltanet block with ℓp bias and elastic retention',
      'gated-deltanet',
      (m) => {
        m.bias = { kind: 'lp', params: { p: 3 } };
        m.retention = { kind: 'elastic', params: { threshold: 0.01, surrogate: 'smooth' } };
      },
    ],
  ];
  for (const [label, name, edit] of cases) {
    it(`${label}: logits within 1e-4, every gradient within 1e-3`, async () => {
      const gpu = await testGpu();
      const spec = getPreset(name).build({ vocabSize: 29, dModel: 32, nLayers: 1 });
      const mixer = spec.layers[0].mixer;
      if (mixer.type !== 'miras') throw new Error(`${name} is expected to have a Miras mixer`);
      edit?.(mixer);
      const provider = findScanProvider(mixer);
      expect(provider?.id, 'the fused recurrent provider serves this mixer').toMatch(/^miras:[a-z0-9/]+$/);
      const common = { spec, batch: 2, seqLen: 7, seed: 0 };
      const ref = await createBackend({ ...common, kind: 'reference' });
      const gb = await createBackend({ ...common, kind: 'webgpu', device: gpu.device, caps: capsFromDescription(gpu.description) });
      const b = batchFor(29, 2, 7);
      const eLogits = relError((await gb.forward(b)).logits, (await ref.forward(b)).logits);
      const [rg, gg] = [await ref.gradients(b), await gb.gradients(b)];
      const errs = Object.keys(rg.grads).map((k) => [k, relError(gg.grads[k], rg.grads[k])] as const);
      console.log(`[kernel] model ${label} (${provider!.id}): logits ${eLogits.toExponential(2)}, max grad ${Math.max(...errs.map((e) => e[1])).toExponential(2)}`);
      expect(eLogits).toBeLessThan(1e-4);
      for (const [k, e] of errs) expect(e, k).toBeLessThan(1e-3);
      gb.destroy();
    });
  }
});
