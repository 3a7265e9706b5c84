/**
 * Embedding gather: out[..., :] = table[ids[...], :]. Backward is a deterministic scatter-add:
 * one thread per table element sums the gradient rows of the tokens that picked its row, in
 * token order (no atomics, so both backends add in the same order).
 */
import { numel, shapeStr, type Tensor } from '../ir/graph';
import type { OpDef } from '../ir/op';
import { threadKernel, u, rd, rw } from './wgsl';

export const embeddingOp: OpDef<Record<string, never>> = {
  name: 'embedding',
  infer([table, ids]) {
    if (table.dtype !== 'f32' || table.shape.length !== 2) throw new Error(`table must be f32 [vocab, dim], got ${shapeStr(table.shape)}`);
    if (ids.dtype !== 'i32') throw new Error('ids must be an i32 tensor');
    return [{ shape: [...ids.shape, table.shape[1]], dtype: 'f32' }];
  },
  forward([table, ids], c) {
    const [V, D] = c.ins[0].shape;
    const y = new Float64Array(ids.length * D);
    ids.forEach((id, n) => {
      if (!(id >= 0 && id < V)) throw new Error(`embedding: token id ${id} at position ${n} is outside the vocabulary [0, ${V})`);
      y.set(table.subarray(id * D, id * D + D), n * D);
    });
    return [y];
  },
  backward([table, ids], _y, [g], c) {
    const D = c.ins[0].shape[1];
    const gt = new Float64Array(table.length);
    if (g) ids.forEach((id, n) => { for (let j = 0; j < D; j++) gt[id * D + j] += g[n * D + j]; });
    return [gt, null];
  },
  kernels: {
    forward(c) {
      const [V, D] = c.ins[0].shape;
      return [
        threadKernel({
          name: `${c.label}:fwd`,
          caps: c.caps,
          binds: [
            rd('table', c.in[0]),
            { name: 'ids', buffer: c.in[1], access: 'read', type: 'i32' },
            rw('y', c.out[0]),
          ],
          total: numel(c.outs[0].shape),
          // Ids are validated on upload; the clamp only keeps a bad id from reading out of bounds.
          body: `  let id = u32(clamp(ids[i / ${u(D)}], 0, ${V - 1}));
  y[i] = table[id * ${u(D)} + i % ${u(D)}];`,
        }),
      ];
    },
    backward(c) {
      if (!c.gin[0]) return [];
      const [V, D] = c.ins[0].shape;
      const N = numel(c.ins[1].shape);
      return [
        threadKernel({
          name: `${c.label}:bwd`,
          caps: c.caps,
          binds: [
            { name: 'ids', buffer: c.in[1], access: 'read', type: 'i32' },
            rd('gy', c.gout[0]!),
            rw('gt', c.gin[0]),
          ],
          total: V * D,
          body: `  let v = i32(i / ${u(D)}); let j = i % ${u(D)};
  var acc = 0.0;
  for (var n = 0u; n < ${u(N)}; n++) { if (ids[n] == v) { acc += gy[n * ${u(D)} + j]; } }
  gt[i] += acc;`,
        }),
      ];
    },
  },
};

export const embedding = (table: Tensor, ids: Tensor, name?: string) => table.graph.apply(embeddingOp, [table, ids], {}, name ?? 'embedding')[0];
