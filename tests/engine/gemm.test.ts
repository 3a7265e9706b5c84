/**
 * The GEMM kernels behind matmul, run directly on odd shapes against the float64 reference:
 * every register-blocked tile shape, split reductions (partial sums + sum kernel), transposed and
 * batched strides, accumulation into existing values; and the shape-based choice at model sizes.
 */
import { describe, expect, it } from 'vitest';
import { chooseGemm, gemmKernels, gemmReference, gemmScratchBytes, type Gemm, type GemmChoice, type GemmTile } from '@/engine/ops/matmul';
import { GpuExecutor } from '@/engine/runtime/executor';
import type { ExecutionPlan } from '@/engine/runtime/plan';
import { capsFromDescription } from '@/engine/gpu/describe';
import { DEFAULT_CAPS } from '@/engine/plan/kernel';
import { relError } from '@/engine/reference/compare';
import { Rng } from '@/engine/tasks/rng';
import { testGpu } from '../helpers/gpu';

const T = (BM: number, BN: number, TM: number, TN: number): GemmTile => ({ BM, BN, TM, TN, BK: 16 });

/** Row-major [batch, R, C] strides over (b, row, col), optionally read transposed. */
const view = (R: number, C: number, trans: boolean, batched: boolean): [number, number, number] => (trans ? [batched ? R * C : 0, 1, C] : [batched ? R * C : 0, C, 1]);

function gemm(batch: number, I: number, J: number, R: number, tx: boolean, ty: boolean, accumulate: boolean): Gemm {
  return { batch, I, J, R, x: view(tx ? R : I, tx ? I : R, tx, batch > 1), y: view(ty ? J : R, ty ? R : J, ty, batch > 1), o: [batch > 1 ? I * J : 0, J, 1], accumulate };
}

async function runGemm(g: Gemm, choice: GemmChoice) {
  const gpu = await testGpu();
  const caps = capsFromDescription(gpu.description);
  const rng = new Rng(5);
  const nx = g.batch * g.I * g.R;
  const ny = g.batch * g.R * g.J;
  const no = g.batch * g.I * g.J;
  const X = Float64Array.from({ length: nx }, () => Math.fround(rng.next() * 2 - 1));
  const Y = Float64Array.from({ length: ny }, () => Math.fround(rng.next() * 2 - 1));
  const O0 = Float64Array.from({ length: no }, () => Math.fround(rng.next() * 2 - 1));
  const want = Float64Array.from(O0);
  gemmReference(X, Y, want, g);
  const split = choice.kind === 'blocked' ? choice.split : 1;
  const sizes: [string, number][] = [
    ['X', nx * 4],
    ['Y', ny * 4],
    ['O', no * 4],
    ['P', Math.max(4, split * no * 4)],
  ];
  const plan: ExecutionPlan = {
    forward: gemmKernels('gemm[test]', 'X', 'Y', 'O', g, caps, true, 'P', choice),
    backward: [],
    optimizer: [],
    buffers: new Map(sizes.map(([name, bytes], slot) => [name, { name, bytes, role: 'input' as const, slot }])),
    slots: sizes.map(([, bytes]) => ({ bytes: Math.ceil(bytes / 16) * 16, usage: 'storage' as const })),
    peakBytes: 0,
    unpooledBytes: 0,
    params: [],
  };
  const ex = await GpuExecutor.create(gpu.device, plan);
  try {
    ex.write('X', Float32Array.from(X));
    ex.write('Y', Float32Array.from(Y));
    ex.write('O', Float32Array.from(O0));
    const got = (await ex.run(['forward'], ['O'])).O;
    return { err: relError(got, want), kernels: plan.forward.length };
  } finally {
    ex.destroy();
  }
}

describe('GEMM kernels vs float64 (WebGPU)', () => {
  const cases: [string, Gemm, GemmChoice][] = [
    ['64×64 tile, 4×4 each, partial tiles 67×70·70×66', gemm(1, 67, 66, 70, false, false, false), { kind: 'blocked', tile: T(64, 64, 4, 4), split: 1, chunk: 70 }],
    ['128×128 tile, 8×8 each, 130×140, R=37', gemm(1, 130, 140, 37, false, false, true), { kind: 'blocked', tile: T(128, 128, 8, 8), split: 1, chunk: 37 }],
    ['narrow columns 64×16, Xᵀ (dB layout) 70×5, R=300, split 3', gemm(1, 70, 5, 300, true, false, true), { kind: 'blocked', tile: T(64, 16, 4, 1), split: 3, chunk: 112 }],
    ['narrow rows 16×64, Yᵀ, 9×80, R=45', gemm(1, 9, 80, 45, false, true, false), { kind: 'blocked', tile: T(16, 64, 1, 4), split: 1, chunk: 45 }],
    ['batched 2×, Xᵀ and Yᵀ, 33×31, R=50, split 2 (chunk 32)', gemm(2, 33, 31, 50, true, true, true), { kind: 'blocked', tile: T(64, 64, 4, 4), split: 2, chunk: 32 }],
    ['simple path 5×7, R=3', gemm(1, 5, 7, 3, false, false, true), { kind: 'simple' }],
  ];
  for (const [name, g, choice] of cases) {
    it(name, async () => {
      const r = await runGemm(g, choice);
      expect(r.kernels).toBe(choice.kind === 'blocked' && choice.split > 1 ? 2 : 1);
      expect(r.err).toBeLessThan(1e-5);
    });
  }
});

describe('GEMM choice by shape (training-step sizes, DEFAULT_CAPS)', () => {
  it('projections take 64×64 tiles; weight gradients split the 4096-long reduction; gates take narrow tiles', () => {
    const fwd = chooseGemm(gemm(1, 4096, 256, 256, false, false, false), DEFAULT_CAPS, true);
    expect(fwd).toMatchObject({ kind: 'blocked', tile: { BM: 64, BN: 64 }, split: 1 });
    const dB = chooseGemm(gemm(1, 256, 688, 4096, true, false, true), DEFAULT_CAPS, true);
    expect(dB.kind === 'blocked' && dB.split).toBeGreaterThan(1);
    const gateDB = chooseGemm(gemm(1, 256, 4, 4096, true, false, true), DEFAULT_CAPS, true);
    expect(gateDB).toMatchObject({ kind: 'blocked', tile: { BN: 16 } });
    expect(gateDB.kind === 'blocked' && gateDB.split).toBeGreaterThan(8);
    expect(gemmScratchBytes(gemm(1, 256, 4, 4096, true, false, true), DEFAULT_CAPS, true)).toBeGreaterThan(0);
    expect(chooseGemm(gemm(1, 4096, 256, 256, false, false, false), DEFAULT_CAPS, false)).toEqual({ kind: 'simple' });
    // Every blocked choice fits the WebGPU defaults.
    for (const [I, J, R] of [[4096, 4096, 4096], [8192, 8192, 64], [300, 7, 9000]]) {
      const c = chooseGemm(gemm(1, I, J, R, false, false, false), DEFAULT_CAPS, true);
      if (c.kind === 'blocked') {
        expect((c.tile.BM / c.tile.TM) * (c.tile.BN / c.tile.TN)).toBeLessThanOrEqual(256);
        expect(c.tile.BK * (c.tile.BM + c.tile.BN) * 4).toBeLessThanOrEqual(16384);
        expect(c.split * c.chunk).toBeGreaterThanOrEqual(R);
      }
    }
  });
});
