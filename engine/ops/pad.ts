/**
 * Zero padding at the end of the last axis: [..., n] → [..., n + after], y[..., j] = x[..., j] for j < n, else 0.
 * Backward passes the gradient of the first n columns through. (The Miras block uses it to start Titans'
 * momentum at zero after a learned initial memory: the scan's initial state is [memory | momentum].)
 */
import { numel, shapeStr, type Tensor } from '../ir/graph';
import type { OpDef } from '../ir/op';
import { threadKernel, u, rd, rw } from './wgsl';

export interface PadAttrs {
  /** Zeros appended to the last axis. */
  after: number;
}

/** Row width before (n) and after (m = n + after) padding. */
function widths(c: { ins: { shape: number[] }[]; attrs: PadAttrs }): { n: number; m: number } {
  const n = c.ins[0].shape[c.ins[0].shape.length - 1];
  return { n, m: n + c.attrs.after };
}

export const padOp: OpDef<PadAttrs> = {
  name: 'pad',
  infer(ins, a) {
    const x = ins[0];
    if (x.dtype !== 'f32') throw new Error('pad takes an f32 tensor');
    if (x.shape.length < 1) throw new Error(`pad needs at least one axis, got ${shapeStr(x.shape)}`);
    if (!Number.isInteger(a.after) || a.after < 0) throw new Error(`pad: "after" must be a non-negative integer, got ${a.after}`);
    return [{ shape: [...x.shape.slice(0, -1), x.shape[x.shape.length - 1] + a.after], dtype: 'f32' }];
  },
  forward([x], c) {
    const { n, m } = widths(c);
    const y = new Float64Array((x.length / n) * m);
    for (let r = 0; r < x.length / n; r++) y.set(x.subarray(r * n, (r + 1) * n), r * m);
    return [y];
  },
  backward([x], _y, [g], c) {
    const { n, m } = widths(c);
    const gx = new Float64Array(x.length);
    if (g) for (let r = 0; r < x.length / n; r++) gx.set(g.subarray(r * m, r * m + n), r * n);
    return [gx];
  },
  kernels: {
    forward(c) {
      const { n, m } = widths(c);
      return [
        threadKernel({
          name: `${c.label}:fwd`,
          caps: c.caps,
          binds: [rd('x', c.in[0]), rw('y', c.out[0])],
          total: numel(c.outs[0].shape),
          body: `  let j = i % ${u(m)};
  y[i] = select(0.0, x[(i / ${u(m)}) * ${u(n)} + min(j, ${u(n - 1)})], j < ${u(n)});`,
        }),
      ];
    },
    backward(c) {
      if (!c.gin[0]) return [];
      const { n, m } = widths(c);
      return [
        threadKernel({
          name: `${c.label}:bwd`,
          caps: c.caps,
          binds: [rd('gy', c.gout[0]!), rw('gx', c.gin[0])],
          total: numel(c.ins[0].shape),
          body: `  gx[i] += gy[(i / ${u(n)}) * ${u(m)} + i % ${u(n)}];`,
        }),
      ];
    },
  },
};

/** x [..., n] → [..., n + after] with zeros appended on the last axis. */
export function pad(x: Tensor, after: number, name = 'pad'): Tensor {
  return x.graph.apply(padOp, [x], { after }, name)[0];
}
