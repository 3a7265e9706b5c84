/**
 * Audit of issue #4's "head dimensions from 16 to 128": the largest head dimension runs on a real
 * device (SwiftShader in CI: 256 invocations, 32 KiB of workgroup memory) with the WebGPU default caps
 * (DEFAULT_CAPS: 16 KiB, 256 invocations, 8 storage buffers), for both scan forms, outputs and every
 * gradient against float64:
 *  - the fused recurrent kernel on a d_k = d_v = 128 matrix memory (the property sweep in
 *    kernel-presets.test.ts reaches 128 only on vector memories and with the other dim ≤ 32);
 *  - the chunk-parallel delta rule (WY/UT) and GLA forms at K = V = 128 (tests/chunk/gpu.test.ts stops at 64;
 *    tests/chunk/plan.test.ts checks only that 128 plans within the caps);
 *  - the deep MLP memory kernel at d_k = d_v = 128 (Titans-style: 2 layers, expansion 2, residual + LayerNorm,
 *    ℓ2 retention, momentum, learned initial memory; the MLP GPU tests run d = 8 and the whole-model checks d = 32).
 * T is not a multiple of the checkpoint interval (√T) or the chunk. One head, one batch row: SwiftShader is slow.
 */
import { describe, expect, it } from 'vitest';
import { testGpu } from '../helpers/gpu';
import { DEFAULT_CAPS } from '@/engine/plan/kernel';
import { recurrentBackward, recurrentForward } from '@/engine/miras/chunk/naive';
import { gradNames, type ChunkScanConfig, type ChunkScanInputs } from '@/engine/miras/chunk/types';
import { relErr } from './kernel-helpers';
import { randomInputs as chunkInputs, runChunkOnGpu } from '../chunk/harness';
import type { ComboInput } from '@/engine/miras/catalog';
import { kernelVsOracle } from './audit-helpers';

describe('head dimension 128 on the device, within DEFAULT_CAPS', () => {
  it('fused recurrent: Gated DeltaNet matrix memory, d_k = d_v = 128, T = 7 (checkpoint √T = 3)', async () => {
    const gdn: ComboInput = { memory: { kind: 'matrix' }, bias: { kind: 'l2' }, retention: { kind: 'scalar' }, learner: { kind: 'gd' }, block: { queryScale: 'inv-sqrt-dk' } };
    await kernelVsOracle('recurrent d128', gdn, { batch: 1, time: 7, heads: 1, dk: 128, dv: 128 }, { kernel: /^miras:matrix/ });
  });

  const CHUNK: [string, Omit<ChunkScanConfig, 'scale' | 'initialState'>][] = [
    ['Gated DeltaNet (WY/UT)', { rule: 'delta', gate: 'scalar' }],
    ['GLA (channel-wise gate, secondary chunking)', { rule: 'linear', gate: 'vector' }],
  ];
  for (const [label, c] of CHUNK) {
    it(`chunk-parallel ${label}: K = V = 128, T = 19, C = 16`, async () => {
      const { device } = await testGpu();
      const s = { B: 1, T: 19, H: 1, K: 128, V: 128 };
      const cfg: ChunkScanConfig = { ...c, scale: 1 / Math.sqrt(s.K), initialState: true };
      const { x, dO, dht } = chunkInputs(cfg, s, 2019);
      const out = await runChunkOnGpu(device, cfg, s, x, dO, dht, DEFAULT_CAPS, { chunk: 16 });
      const xi = x as unknown as ChunkScanInputs<Float64Array>;
      const ref = recurrentForward(cfg, s, xi);
      const gref = recurrentBackward(cfg, s, xi, { do: dO, dht }) as unknown as Record<string, Float64Array>;
      const fwd = Math.max(relErr(out.o, ref.o), relErr(out.ht, ref.ht));
      const errs = gradNames(cfg).map((n) => [n, relErr(out.grads[n], gref[n])] as const);
      console.log(`[audit d128] chunk ${label}: C=${out.chunk} fwd ${fwd.toExponential(2)}; ${errs.map(([n, e]) => `${n} ${e.toExponential(1)}`).join(', ')}`);
      expect(out.chunk).toBe(16);
      expect(fwd).toBeLessThan(1e-4);
      for (const [n, e] of errs) expect(e, `grad ${n}`).toBeLessThan(1e-3);
    });
  }

  it('deep MLP memory kernel: d_k = d_v = 128, 2 layers × expansion 2, momentum, T = 5', async () => {
    const titans: ComboInput = { memory: { kind: 'mlp', params: { layers: 2, expansion: 2 } }, bias: { kind: 'l2' }, retention: { kind: 'l2' }, learner: { kind: 'momentum' }, block: { memoryInit: 'learned' } };
    await kernelVsOracle('MLP memory d128', titans, { batch: 1, time: 5, heads: 1, dk: 128, dv: 128 }, { kernel: /mlp/ });
  });
});
