/**
 * A valid combination that no WebGPU kernel takes still builds (it trains on the float64 reference backend), and
 * compiling it for WebGPU says why in words a researcher can act on.
 */
import { describe, expect, it } from 'vitest';
import '@/engine/model/mixers';
import { findScanProvider } from '@/engine/ir/scan';
import { DEFAULT_CAPS } from '@/engine/plan/kernel';
import { mirasReferenceProvider } from '@/engine/miras/reference';
import { validateCombo } from '@/engine/miras/validate';
import type { MirasMixer } from '@/engine/spec';

const mixer = (headDimV: number): MirasMixer =>
  ({
    type: 'miras',
    heads: 2,
    headDimK: 16,
    headDimV,
    memory: { kind: 'mlp', params: { layers: 2, expansion: 2, residual: false, layerNorm: true } },
    bias: { kind: 'l2' },
    retention: { kind: 'none' },
    learner: { kind: 'gd' },
    block: { memoryInit: 'learned' },
  }) as unknown as MirasMixer;

describe('a valid combination without a WebGPU kernel', () => {
  it('is valid, has no kernel provider, and its compile error names the restriction and the fix', () => {
    const m = mixer(8);
    expect(validateCombo(m, { headDimK: 16, headDimV: 8 })).toEqual([]);
    expect(findScanProvider(m)).toBeNull();
    const shape = { batch: 1, time: 4, heads: 2, dk: 16, dv: 8 };
    expect(() => mirasReferenceProvider(m).kernels(DEFAULT_CAPS, shape)).toThrow(
      /no WebGPU scan kernel is registered for this combination yet: the deep-MLP-memory kernel needs d_k = d_v \(got d_k = 16, d_v = 8\); set the head dimensions equal/,
    );
  });

  it('the same memory with equal head dimensions has the MLP kernel', () => {
    expect(findScanProvider(mixer(16))?.id).toMatch(/mlp/);
  });
});
