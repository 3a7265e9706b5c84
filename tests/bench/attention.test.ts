/**
 * bench/scan-attention.ts's pieces: the attention op's kernels driven over named buffers match the op's float64
 * reference (outputs, lse, every input gradient) on the blocked (FlashAttention-2) path the GPU timing uses and on
 * the per-row path; the causal/windowed FLOP count matches a brute-force count; the PyTorch case file is current.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { testGpu } from '../helpers/gpu';
import { capsFromDescription } from '@/engine/gpu/describe';
import { attentionCost, attentionPresetWindows, checkAttention, visiblePairs } from '@/bench/gpu/attention';
import { attentionCases } from '@/bench/pytorch/attention-case';

describe('attention benchmark', () => {
  it('counts the visible (query, key) pairs of causal and windowed attention', () => {
    for (const [T, W] of [[1, null], [9, null], [9, 3], [77, 19], [77, 200], [64, 64], [65, 64]] as [number, number | null][]) {
      let n = 0;
      for (let t = 0; t < T; t++) for (let s = 0; s <= t; s++) if (W === null || t - s < W) n++;
      expect(visiblePairs(T, W)).toBe(n);
    }
    // issue #4's shape, causal: 4·64 FLOPs per pair forward, B·H·T(T+1)/2 pairs
    const c = attentionCost({ B: 2, T: 4096, H: 16, D: 64, Dv: 64, window: null });
    expect(c.fwdFlops).toBe(32 * ((4096 * 4097) / 2) * 256);
    expect(c.bwdFlops / c.fwdFlops).toBe(2.5);
  });

  it('times the softmax-attention layers of the transformer, sliding-window and hybrid presets', () => {
    expect(attentionPresetWindows()).toEqual([
      { preset: 'transformer', window: null, headDim: 64 },
      { preset: 'sliding-window-attention', window: 64, headDim: 64 },
      { preset: 'gated-deltanet-swa-hybrid', window: 256, headDim: 64 },
    ]);
  });

  it('has a current case file for the PyTorch self-check', () => {
    const committed = JSON.parse(readFileSync('bench/pytorch/attention_case.json', 'utf8'));
    expect(committed).toEqual(JSON.parse(JSON.stringify(attentionCases())));
  });

  for (const tiled of [true, false]) {
    it(`matches the float64 reference on the device (${tiled ? 'blocked' : 'per-row'} kernels)`, async () => {
      const { device, description } = await testGpu();
      const caps = capsFromDescription(description);
      // T = 37: a partial 32-row block; windows shorter than, equal to and beyond a block; unequal Dv
      for (const window of [null, 5, 32]) {
        const errs = await checkAttention(device, { B: 1, T: 37, H: 2, D: 16, Dv: 8, window }, caps, tiled);
        for (const [name, e] of Object.entries(errs)) expect(e, `${name}, window ${window}`).toBeLessThan(2e-6);
      }
    });
  }
});
