/** Reshape: same elements, new static shape. A copy kernel keeps buffer lifetimes simple. */
import { numel, shapeStr, type Tensor } from '../ir/graph';
import type { OpDef } from '../ir/op';
import { threadKernel, rd, rw } from './wgsl';

export interface ReshapeAttrs {
  shape: number[];
}

export const reshapeOp: OpDef<ReshapeAttrs> = {
  name: 'reshape',
  infer(ins, a) {
    if (numel(a.shape) !== numel(ins[0].shape) || a.shape.some((d) => !Number.isInteger(d) || d < 1)) {
      throw new Error(`cannot reshape ${shapeStr(ins[0].shape)} (${numel(ins[0].shape)} elements) to ${shapeStr(a.shape)}`);
    }
    return [{ shape: a.shape, dtype: ins[0].dtype }];
  },
  forward: ([x]) => [x.slice()],
  backward: ([x], _y, [g], c) => [c.ins[0].dtype === 'i32' ? null : g ? g.slice() : new Float64Array(x.length)],
  kernels: {
    forward: (c) => [
      threadKernel({
        name: `${c.label}:fwd`,
        caps: c.caps,
        binds: [
          { name: 'x', buffer: c.in[0], access: 'read', type: c.ins[0].dtype },
          { name: 'y', buffer: c.out[0], access: 'read_write', type: c.ins[0].dtype },
        ],
        total: numel(c.ins[0].shape),
        body: '  y[i] = x[i];',
      }),
    ],
    backward: (c) =>
      c.gin[0]
        ? [
            threadKernel({
              name: `${c.label}:bwd`,
              caps: c.caps,
              binds: [
                rd('gy', c.gout[0]!),
                rw('gx', c.gin[0]),
              ],
              total: numel(c.ins[0].shape),
              body: '  gx[i] += gy[i];',
            }),
          ]
        : [],
  },
};

export const reshape = (x: Tensor, shape: number[], name?: string) => x.graph.apply(reshapeOp, [x], { shape }, name ?? 'reshape')[0];
