/**
 * Whole models on the real-GPU kernel paths (`tiled`: register-blocked and split GEMMs, lane norms,
 * column-sum weight gradients, blocked attention) against the float64 reference: logits and every gradient.
 * Small (d 32, 2 × 64 tokens): the split GEMM reductions are covered by the op tests (ops, gemm).
 */
import { describe, expect, it } from 'vitest';
import { createBackend } from '@/engine/train/backend';
import { capsFromDescription } from '@/engine/gpu/describe';
import { getPreset } from '@/engine/presets';
import { relError } from '@/engine/reference/compare';
import { Rng } from '@/engine/tasks/rng';
import { testGpu } from '../helpers/gpu';

describe('tiled kernel paths vs float64 reference on whole models', () => {
  for (const name of ['transformer', 'gla', 'gated-deltanet']) {
    it(`${name}: logits within 1e-4, every gradient within 1e-3`, async () => {
      const gpu = await testGpu();
      const common = { spec: getPreset(name).build({ vocabSize: 37, dModel: 32, nLayers: 1 }), batch: 2, seqLen: 64, seed: 0 };
      const ref = await createBackend({ ...common, kind: 'reference' });
      const gb = await createBackend({ ...common, kind: 'webgpu', device: gpu.device, caps: capsFromDescription(gpu.description), tiled: true });
      const r = new Rng(4);
      const b = { inputs: Int32Array.from({ length: 128 }, () => r.int(0, 37)), targets: Int32Array.from({ length: 128 }, () => r.int(0, 37)) };
      try {
        expect(relError((await gb.forward(b)).logits, (await ref.forward(b)).logits)).toBeLessThan(1e-4);
        const [rg, gg] = [await ref.gradients(b), await gb.gradients(b)];
        for (const k of Object.keys(rg.grads)) expect(relError(gg.grads[k], rg.grads[k]), k).toBeLessThan(1e-3);
      } finally {
        gb.destroy();
      }
    });
  }
});
