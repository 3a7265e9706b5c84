/**
 * Planning the chunk scans: every form and head dimension 16..128 fits the WebGPU defaults
 * (16 KiB workgroup memory, 8 storage buffers), larger caps buy longer chunks, and the chooser
 * between the chunked and the fused recurrent form decides by shape and device.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_CAPS } from '@/engine/plan/kernel';
import { planChunkScan } from '@/engine/miras/chunk/chunk';
import { chooseScanForm, chunkProvider } from '@/engine/miras/chunk/provider';
import { resolveCombo } from '@/engine/miras/catalog';
import { findScanProvider } from '@/engine/ir/scan';
import { getPreset } from '@/engine/presets';
import type { MirasMixer } from '@/engine/spec';
import { CHUNK_FORMS, H200_CAPS } from './harness';

const FORMS = CHUNK_FORMS;
const H200 = H200_CAPS;
const mixerOf = (name: string) => getPreset(name).build({ vocabSize: 32, dModel: 128, nLayers: 1 }).layers[0].mixer as MirasMixer;

describe('chunk scan planning', () => {
  it('every form fits DEFAULT_CAPS for head dims 16..128 with ≤ 8 storage buffers and ≤ 16 KiB', () => {
    for (const f of FORMS)
      for (const d of [16, 24, 32, 48, 64, 96, 128]) {
        const plan = planChunkScan({ ...f, scale: 1, initialState: true }, { B: 2, T: 100, H: 2, K: d, V: d }, DEFAULT_CAPS);
        expect(plan.smemBytes).toBeLessThanOrEqual(16384);
        for (const k of [...plan.forward, ...plan.backward]) expect(k.bindings.length).toBeLessThanOrEqual(8);
        expect([16, 32, 64]).toContain(plan.tiling.C);
      }
  });

  it('prefers the chunk measured fastest at 48 KiB (32; 16 for the channel-wise gate) and 64 when the device offers 64 KiB', () => {
    const big = { ...H200, maxComputeWorkgroupStorageSize: 65536 };
    for (const f of FORMS.filter((x) => x.gate !== 'vector')) {
      const logDecay = f.logDecay ? Array.from({ length: 16 }, () => -0.02) : undefined;
      const shape = { B: 2, T: 4096, H: 16, K: 64, V: 64 };
      expect(planChunkScan({ ...f, logDecay, scale: 1, initialState: false }, shape, H200).tiling.C).toBe(32);
      expect(planChunkScan({ ...f, logDecay, scale: 1, initialState: false }, shape, big).tiling.C).toBe(64);
    }
    const gla = { rule: 'linear', gate: 'vector', scale: 1, initialState: false } as const;
    expect(planChunkScan(gla, { B: 2, T: 4096, H: 16, K: 64, V: 64 }, H200).tiling.C).toBe(16);
  });

  it('every bound buffer is read or written by its kernel (layout "auto" drops unused bindings)', () => {
    for (const f of FORMS)
      for (const caps of [DEFAULT_CAPS, H200])
        for (const d of [16, 64]) {
          const logDecay = f.logDecay ? [-0.03, -0.01] : undefined;
          const plan = planChunkScan({ ...f, logDecay, scale: 1, initialState: true }, { B: 1, T: 100, H: 2, K: d, V: d }, caps);
          for (const k of [...plan.forward, ...plan.backward]) {
            const names = [...k.wgsl.matchAll(/@binding\((\d+)\) var<storage, \w+> (\w+)/g)].map((m) => m[2]);
            expect(names.length, k.name).toBe(k.bindings.length);
            for (const n of names) expect(k.wgsl.includes(`${n}[`), `${k.name} binds ${n} without using it`).toBe(true);
          }
        }
  });

  it('refuses what it does not implement, saying why', () => {
    expect(() => planChunkScan({ rule: 'delta', gate: 'vector', scale: 1, initialState: false }, { B: 1, T: 8, H: 1, K: 16, V: 16 }, DEFAULT_CAPS)).toThrow(/channel-wise gate with the delta rule/);
    expect(() => planChunkScan({ rule: 'linear', gate: 'const', scale: 1, initialState: false }, { B: 1, T: 8, H: 2, K: 16, V: 16 }, DEFAULT_CAPS)).toThrow(/logDecay/);
    expect(() => planChunkScan({ rule: 'linear', gate: 'none', scale: 1, initialState: false }, { B: 1, T: 8, H: 1, K: 16, V: 16 }, DEFAULT_CAPS, { chunk: 48 })).toThrow(/16, 32 or 64/);
  });
});

describe('chooser: chunked or fused recurrent', () => {
  it('picks the chunk form for long sequences and the recurrent kernel for short ones', () => {
    const combo = resolveCombo(mixerOf('gated-deltanet'));
    const long = chooseScanForm(combo, { batch: 2, time: 4096, heads: 2, dk: 64, dv: 64 }, H200);
    expect(long.form).toBe('chunked');
    expect(long.chunk).toBe(32);
    expect(chooseScanForm(combo, { batch: 2, time: 40, heads: 2, dk: 64, dv: 64 }, H200).form).toBe('recurrent');
  });

  it('sends combinations without a chunk form to the recurrent kernel with the reason', () => {
    const c = chooseScanForm(resolveCombo(mixerOf('longhorn')), { batch: 1, time: 4096, heads: 2, dk: 64, dv: 64 }, H200);
    expect(c.form).toBe('recurrent');
    expect(c.why).toMatch(/memory "vector"/);
  });

  it('is registered for the linear-family presets and emits chunk kernels under their input names', () => {
    for (const name of ['linear-attention', 'retnet', 'mamba2', 'gla', 'hgrn2', 'deltanet', 'gated-deltanet']) {
      const m = mixerOf(name);
      const p = chunkProvider(m, { form: 'chunked' });
      const shape = { batch: 1, time: 256, heads: m.heads, dk: m.headDimK, dv: m.headDimV };
      const names = new Set(p.inputs(shape).map((d) => d.name));
      const ks = p.kernels(DEFAULT_CAPS, shape);
      for (const k of [...ks.forward, ...ks.backward])
        for (const b of k.bindings) {
          const base = b.buffer.replace(/^grad\./, '');
          const ok = names.has(base) || base === 'o' || base === 'finalState' || ks.scratch.some((s) => `scratch.${s.name}` === b.buffer);
          expect(ok, `${name}: ${k.name} binds ${b.buffer}`).toBe(true);
        }
      // through the registry: long sequences get the chunk kernels, short ones B2's recurrent kernels
      const viaRegistry = findScanProvider(m)!;
      const long = { batch: 1, time: 512, heads: m.heads, dk: m.headDimK, dv: m.headDimV };
      expect(viaRegistry.kernels(H200, long).forward.map((k) => k.name).join(' ')).toMatch(/\[C=\d+\]/);
      expect(viaRegistry.kernels(H200, { ...long, time: 64 }).forward.map((k) => k.name).join(' ')).not.toMatch(/\[C=\d+\]/);
    }
  });
});
