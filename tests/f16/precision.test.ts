/**
 * The chunk scans' precision option without a GPU: 'f32' (and no option) generate the WGSL they always did,
 * 'f16' is refused on a device without shader-f16 (the error names the feature), the provider never drops
 * 'f16' silently, and the f16 kernels keep gates, states and reductions in f32 while operand tiles take half
 * the workgroup memory.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_CAPS } from '@/engine/plan/kernel';
import { planChunkScan } from '@/engine/miras/chunk/chunk';
import { chunkProvider } from '@/engine/miras/chunk/provider';
import { halveAccesses } from '@/engine/miras/chunk/wgsl';
import type { ChunkScanConfig } from '@/engine/miras/chunk/types';
import { getPreset } from '@/engine/presets';
import type { MirasMixer } from '@/engine/spec';
import { CHUNK_FORMS, H200_CAPS } from '../chunk/harness';

const FORMS = CHUNK_FORMS;
const H200 = H200_CAPS;
const F16 = { ...H200, shaderF16: true };
const shape = { B: 2, T: 300, H: 2, K: 64, V: 64 };
const all = (p: ReturnType<typeof planChunkScan>) => [...p.forward, ...p.backward];

describe("chunk scan precision 'f32' | 'f16'", () => {
  it("'f32' and no option give the same WGSL, with no f16 in it", () => {
    for (const f of FORMS)
      for (const caps of [DEFAULT_CAPS, F16]) {
        const cfg = { ...f, scale: 0.125, initialState: true };
        const a = planChunkScan(cfg, shape, caps);
        const b = planChunkScan(cfg, shape, caps, { precision: 'f32' });
        expect(all(b).map((k) => k.wgsl)).toEqual(all(a).map((k) => k.wgsl));
        expect(b.tiling).toEqual(a.tiling);
        for (const k of all(a)) expect(k.wgsl).not.toMatch(/f16/);
      }
  });

  it("'f16' without shader-f16 is an error naming the feature, never a silent f32 run", () => {
    const cfg: ChunkScanConfig = { rule: 'linear', gate: 'vector', scale: 0.125, initialState: false };
    expect(() => planChunkScan(cfg, shape, H200, { precision: 'f16' })).toThrow(/precision 'f16' needs the WebGPU feature 'shader-f16'/);
    expect(() => planChunkScan(cfg, shape, H200, { precision: 'bf16' as never })).toThrow(/precision must be 'f32' or 'f16'/);
  });

  it("the provider refuses 'f16' where the chunk form does not run, saying why", () => {
    const m = getPreset('gated-deltanet').build({ vocabSize: 32, dModel: 128, nLayers: 1 }).layers[0].mixer as MirasMixer;
    const s = { batch: 1, time: 4096, heads: m.heads, dk: m.headDimK, dv: m.headDimV };
    // no shader-f16: the chooser cannot plan the chunk form, and the recurrent kernel has no f16 mode
    expect(() => chunkProvider(m, { precision: 'f16' }).kernels(H200, s)).toThrow(/'f16' is implemented by the chunk kernels only.*shader-f16/);
    // a short sequence would run the fused recurrent kernel
    expect(() => chunkProvider(m, { precision: 'f16' }).kernels(F16, { ...s, time: 64 })).toThrow(/chunk kernels only.*T = 64/);
    const k = chunkProvider(m, { precision: 'f16' }).kernels(F16, s);
    expect(k.forward.some((x) => x.wgsl.startsWith('enable f16;'))).toBe(true);
  });

  it("'f16' stages operand tiles as f16 in less workgroup memory; gates, states and reductions stay f32", () => {
    for (const f of FORMS) {
      const cfg = { ...f, scale: 0.125, initialState: true };
      for (const chunk of [16, 32]) {
        const a = planChunkScan(cfg, shape, F16, { chunk });
        const b = planChunkScan(cfg, shape, F16, { chunk, precision: 'f16' });
        expect(b.tiling.precision).toBe('f16');
        for (const k of all(b)) {
          const decl = (n: string) => new RegExp(`var<workgroup> ${n}: array<(\\w+)`).exec(k.wgsl)?.[1];
          if (k.wgsl.includes('f16')) expect(k.wgsl.startsWith('enable f16;\n')).toBe(true);
          for (const n of ['sB', 'sH', 'sP', 'sE', 'stHH', 'stDH', 'stDV2', 'stDW', 'sT', 'sM', 'sD']) {
            const ty = decl(n);
            if (ty) expect(ty, `${k.name} ${n}`).toBe('f32');
          }
          for (const n of ['stQ', 'stKK', 'stVV', 'stDO', 'stVNd']) {
            const ty = decl(n);
            if (ty) expect(ty, `${k.name} ${n}`).toBe('f16');
          }
        }
        // every operand tile is f16: at least as many tiles fit, in no more memory per tile
        const staged = (p: typeof a, name: string) => (all(p).find((k) => k.name === name)?.wgsl.match(/var<workgroup> st\w+/g) ?? []).length;
        for (const k of all(a)) expect(staged(b, k.name)).toBeGreaterThanOrEqual(staged(a, k.name));
      }
    }
  });

  it('halveAccesses converts reads, stores and compound stores of the f16 arrays only', () => {
    const arrays = new Map([['sA', 'f16'], ['sX', 'vec4<f16>']]);
    expect(halveAccesses('let a = sA[i * C + j] * sAB[i];', arrays)).toBe('let a = f32(sA[i * C + j]) * sAB[i];');
    expect(halveAccesses('sA[e] = select(0.0, v, j <= i);', arrays)).toBe('sA[e] = f16(select(0.0, v, j <= i));');
    expect(halveAccesses('sA[e] += sA[e + 1u] * 2.0;', arrays)).toBe('sA[e] = f16(f32(sA[e]) + (f32(sA[e + 1u]) * 2.0));');
    expect(halveAccesses('let xv = sX[i * KQ + k4]; sX[e] = xv; if (sA[e] == 0.0) {}', arrays))
      .toBe('let xv = vec4f(sX[i * KQ + k4]); sX[e] = vec4<f16>(xv); if (f32(sA[e]) == 0.0) {}');
    expect(() => halveAccesses('let a = sA[u32(sA[0])];', arrays)).toThrow(/nested/);
  });
});
