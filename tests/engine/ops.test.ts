/**
 * Every op, forward and backward, WebGPU (f32) against the float64 reference on odd shapes,
 * and the reference's gradients against central finite differences.
 */
import { describe, expect, it } from 'vitest';
import type { Graph } from '@/engine/ir/graph';
import * as op from '@/engine/ops';
import { UNARY, type UnaryName } from '@/engine/ops/unary';
import { scan } from '@/engine/ir/scan';
import { runOpCase, type OpCase } from './harness';

const FWD_TOL = 1e-4;
const GRAD_TOL = 1e-3;
const FD_TOL = 1e-5;

const cases: OpCase[] = [
  { name: 'matmul [2,5,7]·[7,3] (shared weight)', build: (g) => [op.matmul(g.param('a', [2, 5, 7], N), g.param('w', [7, 3], N))] },
  { name: 'matmul batched Aᵀ·B', build: (g) => [op.matmul(g.param('a', [3, 7, 5], N), g.param('b', [3, 7, 6], N), { transA: true })] },
  { name: 'matmul A·Bᵀ (tied head)', build: (g) => [op.matmul(g.param('a', [2, 3, 5], N), g.param('e', [11, 5], N), { transB: true })] },
  // Big enough that forward, dA and dB all take the register-blocked path (odd sizes: partial tiles).
  { name: 'matmul tiled 67×70·70×66', tiled: true, build: (g) => [op.matmul(g.param('a', [67, 70], N), g.param('b', [70, 66], N))] },
  // dB reduces over 300 rows into a 20×6 output: split in two slices (scratch partial sums + a sum kernel).
  { name: 'matmul tiled, split reduction [300,20]·[20,6]', tiled: true, build: (g) => [op.matmul(g.param('a', [300, 20], N), g.param('w', [20, 6], N))] },
  { name: 'matmul tiled batched Aᵀ·B', tiled: true, build: (g) => [op.matmul(g.param('a', [2, 70, 67], N), g.param('b', [2, 70, 66], N), { transA: true })] },
  ...(Object.keys(UNARY) as UnaryName[]).map((fn) => ({ name: `unary ${fn}`, build: (g: Graph) => [op.unary(fn, g.param('x', [3, 7, 5], N))] })),
  { name: 'add broadcast [3,1,5]+[4,1]', build: (g) => [op.add(g.param('a', [3, 1, 5], N), g.param('b', [4, 1], N))] },
  { name: 'sub broadcast [2,3,5]-[5]', build: (g) => [op.sub(g.param('a', [2, 3, 5], N), g.param('b', [5], N))] },
  // Leading-dims broadcasts over ≥ 64 rows: the broadcast side's gradient is a parallel column sum.
  { name: 'add bias [3,40,70]+[70] (column-sum gradient)', build: (g) => [op.add(g.param('a', [3, 40, 70], N), g.param('b', [70], N))] },
  { name: 'mul [2,50,3]*[50,3] (column-sum gradient)', build: (g) => [op.mul(g.param('a', [2, 50, 3], N), g.param('b', [50, 3], N))] },
  { name: 'mul broadcast [2,3,5]*[2,1,5]', build: (g) => [op.mul(g.param('a', [2, 3, 5], N), g.param('b', [2, 1, 5], N))] },
  { name: 'div [3,5]/[3,1]', build: (g) => [op.div(g.param('a', [3, 5], N), g.param('b', [3, 1], { kind: 'uniform', lo: 1, hi: 2 }))] },
  { name: 'sum axis 1 of [3,5,7]', build: (g) => [op.sum(g.param('x', [3, 5, 7], N), 1)] },
  { name: 'mean axis -1 of [3,5,7]', build: (g) => [op.mean(g.param('x', [3, 5, 7], N), -1)] },
  {
    name: 'embedding gather [13,5] by [2,7] (repeated ids)',
    build: (g) => [op.embedding(g.param('table', [13, 5], N), g.input('ids', [2, 7]))],
    feeds: () => ({ ids: [0, 3, 3, 12, 5, 0, 7, 1, 3, 9, 9, 9, 2, 4] }),
  },
  { name: 'rmsnorm [3,5,7]', build: (g) => [op.rmsnorm(g.param('x', [3, 5, 7], N), g.param('w', [7], N), 1e-5)] },
  { name: 'layernorm [3,5,7]', build: (g) => [op.layernorm(g.param('x', [3, 5, 7], N), g.param('w', [7], N), g.param('b', [7], N), 1e-5)] },
  { name: 'groupnorm per head [2,5,3·4]', build: (g) => [op.groupnorm(g.param('x', [2, 5, 12], N), 3, g.param('w', [12], N), g.param('b', [12], N), 1e-5)] },
  { name: 'l2 normalise per head [2,5,3·4]', build: (g) => [op.l2normalize(g.param('x', [2, 5, 12], N), 3)] },
  // Enough rows and channels that the weight-gradient column sums split into row blocks and 64-channel tiles.
  { name: 'layernorm, split column sums [2,100,70]', build: (g) => [op.layernorm(g.param('x', [2, 100, 70], N), g.param('w', [70], N), g.param('b', [70], N), 1e-5)] },
  // Lane kernels (32 invocations per group) for the forward and dx on real GPUs; D above and below 32.
  { name: 'tiled layernorm [2,9,70]', tiled: true, build: (g) => [op.layernorm(g.param('x', [2, 9, 70], N), g.param('w', [70], N), g.param('b', [70], N), 1e-5)] },
  { name: 'tiled rmsnorm per head [3,5,4·12]', tiled: true, build: (g) => [op.rmsnormGroups(g.param('x', [3, 5, 48], N), 4, g.param('w', [48], N), 1e-5)] },
  { name: 'tiled l2 normalise per head [2,5,3·4]', tiled: true, build: (g) => [op.l2normalize(g.param('x', [2, 5, 12], N), 3)] },
  { name: 'short conv k=4, split column sums [3,70,66]', build: (g) => [op.shortConv(g.param('x', [3, 70, 66], N), g.param('w', [66, 4], N))] },
  { name: 'short conv k=4 [2,9,5]', build: (g) => [op.shortConv(g.param('x', [2, 9, 5], N), g.param('w', [5, 4], N))] },
  {
    name: 'softmax cross-entropy [7,11] with ignored targets',
    build: (g) => [op.crossEntropy(g.param('logits', [7, 11], { kind: 'normal', std: 2 }), g.input('targets', [7])).loss],
    feeds: () => ({ targets: [3, -1, 10, 0, -1, 5, 5] }),
  },
  {
    name: 'causal attention [2,9,2·5]',
    build: (g) => [op.attention(g.param('q', [2, 9, 10], N), g.param('k', [2, 9, 10], N), g.param('v', [2, 9, 10], N), { heads: 2, window: null })],
  },
  {
    name: 'sliding-window attention w=3 [2,9,2·5]',
    build: (g) => [op.attention(g.param('q', [2, 9, 10], N), g.param('k', [2, 9, 10], N), g.param('v', [2, 9, 10], N), { heads: 2, window: 3 })],
  },
  {
    name: 'sliding-window attention w=4, d_k 5 ≠ d_v 3 [2,9,2·5→2·3]',
    build: (g) => [op.attention(g.param('q', [2, 9, 10], N), g.param('k', [2, 9, 10], N), g.param('v', [2, 9, 6], N), { heads: 2, window: 4 })],
  },
  // The blocked (flash) kernels: T not a multiple of the 32-row blocks, a window crossing blocks, Dv ≠ Dk.
  {
    name: 'tiled causal attention [2,70,2·8], Dv 16',
    tiled: true,
    build: (g) => [op.attention(g.param('q', [2, 70, 16], N), g.param('k', [2, 70, 16], N), g.param('v', [2, 70, 32], N), { heads: 2, window: null })],
  },
  {
    name: 'tiled sliding-window attention w=40 [1,75,3·8]',
    tiled: true,
    build: (g) => [op.attention(g.param('q', [1, 75, 24], N), g.param('k', [1, 75, 24], N), g.param('v', [1, 75, 24], N), { heads: 3, window: 40 })],
  },
  {
    name: 'scan: linear attention [2,7,3,5→3]',
    build: (g) => {
      const s = { batch: 2, time: 7, heads: 3, dk: 5, dv: 3 };
      return [scan(op.linearAttentionProvider, s, [g.param('q', [2, 7, 3, 5], N), g.param('k', [2, 7, 3, 5], N), g.param('v', [2, 7, 3, 3], N)]).o];
    },
  },
];
const N = { kind: 'normal', std: 1 } as const;

describe('ops: WebGPU vs float64 reference, reference vs finite differences', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const r = await runOpCase(c, { tiled: c.tiled });
      for (const [k, e] of Object.entries(r.forward)) expect(e, `forward ${k}`).toBeLessThan(FWD_TOL);
      for (const [k, e] of Object.entries(r.grads)) expect(e, `grad ${k}`).toBeLessThan(GRAD_TOL);
      for (const [k, e] of Object.entries(r.fd)) expect(e, `finite differences ${k}`).toBeLessThan(FD_TOL);
    });
  }
});
