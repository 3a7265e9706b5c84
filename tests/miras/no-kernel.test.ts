/**
 * Every valid combination with a recurrent memory (matrix, vector, deep MLP) has a WebGPU scan kernel at any head
 * dimensions, d_k ≠ d_v included (a seeded sweep of random valid combinations). A scan provider asked for a
 * combination no kernel takes (the softmax-attention memory, which the block runs as the attention op) still says
 * why in words a researcher can act on.
 */
import { describe, expect, it } from 'vitest';
import '@/engine/model/mixers';
import { findScanProvider } from '@/engine/ir/scan';
import { DEFAULT_CAPS } from '@/engine/plan/kernel';
import { mirasReferenceProvider } from '@/engine/miras/reference';
import { randomCombo, Rng } from '@/engine/miras/reference/random';
import { validateCombo } from '@/engine/miras/validate';
import type { MirasMixer } from '@/engine/spec';

const mixer = (headDimV: number, residual = false): MirasMixer =>
  ({
    type: 'miras',
    heads: 2,
    headDimK: 16,
    headDimV,
    memory: { kind: 'mlp', params: { layers: 2, expansion: 2, residual, layerNorm: true } },
    bias: { kind: 'l2' },
    retention: { kind: 'none' },
    learner: { kind: 'gd' },
    block: { memoryInit: 'learned' },
  }) as unknown as MirasMixer;

describe('WebGPU scan kernel coverage', () => {
  it('the MLP memory without residual and d_k ≠ d_v has the MLP kernel', () => {
    const m = mixer(8);
    expect(validateCombo(m, { headDimK: 16, headDimV: 8 })).toEqual([]);
    expect(findScanProvider(m)?.id).toMatch(/^miras:mlp\//);
    expect(findScanProvider({ ...m, headDimK: 8, headDimV: 16 })?.id).toMatch(/^miras:mlp\//);
    expect(findScanProvider(mixer(16))?.id).toMatch(/^miras:mlp\//);
  });

  it('the residual MLP memory with d_k ≠ d_v is refused by validation, with the fix', () => {
    const errs = validateCombo(mixer(8, true), { headDimK: 16, headDimV: 8 });
    expect(errs.map((e) => e.message).join(' ')).toMatch(/d_k must equal d_v \(got d_k = 16, d_v = 8\)/);
  });

  it('every valid matrix / vector / MLP combination in a seeded sweep has a kernel, at equal and unequal head dims', () => {
    const rng = new Rng(20261129);
    const dims = [[8, 8], [8, 4], [4, 8]];
    const missing: string[] = [];
    let checked = 0;
    let unequalMlp = 0;
    for (let i = 0; i < 600; i++) {
      const c = randomCombo(rng);
      const [dk, dv] = dims[i % dims.length];
      // randomCombo draws the MLP memory with its residual; drop it on every other draw so d_k ≠ d_v MLPs are valid.
      const memory = c.memory.kind === 'mlp' ? { ...c.memory, params: { ...c.memory.params, residual: i % 2 === 0 } } : c.memory;
      const m = { type: 'miras', heads: 2, headDimK: dk, headDimV: dv, memory, bias: c.bias, retention: c.retention, learner: c.learner, block: c.block } as unknown as MirasMixer;
      if (validateCombo(m, { headDimK: dk, headDimV: dv }).length) continue;
      checked++;
      if (memory.kind === 'mlp' && dk !== dv) unequalMlp++;
      if (!findScanProvider(m)) missing.push(`${c.memory.kind}/${c.bias.kind}/${c.retention.kind}/${c.learner.kind} d_k=${dk} d_v=${dv}`);
    }
    expect(checked).toBeGreaterThan(400);
    expect(unequalMlp).toBeGreaterThan(30);
    expect(missing).toEqual([]);
  });

  it('a scan of the softmax-attention memory has no kernel and says why', () => {
    const m = {
      type: 'miras', heads: 2, headDimK: 8, headDimV: 8,
      memory: { kind: 'attention', params: {} }, bias: { kind: 'l2' }, retention: { kind: 'none' }, learner: { kind: 'closed-form' }, block: {},
    } as unknown as MirasMixer;
    expect(findScanProvider(m)).toBeNull();
    expect(() => mirasReferenceProvider(m).kernels(DEFAULT_CAPS, { batch: 1, time: 4, heads: 2, dk: 8, dv: 8 })).toThrow(
      /no WebGPU scan kernel is registered for this combination \(d_k = 8, d_v = 8\) yet: the softmax-attention memory has no recurrent state to scan/,
    );
  });
});
