/** Sum or mean over one axis (the axis is removed). Backward broadcasts the gradient back. */
import { numel, shapeStr, type Tensor } from '../ir/graph';
import type { OpDef, TensorType } from '../ir/op';
import { threadKernel, u, f, rd, rw } from './wgsl';

export interface ReduceAttrs {
  kind: 'sum' | 'mean';
  axis: number;
}

function split(t: TensorType, axis: number) {
  const ax = axis < 0 ? t.shape.length + axis : axis;
  if (ax < 0 || ax >= t.shape.length) throw new Error(`axis ${axis} out of range for ${shapeStr(t.shape)}`);
  const outer = numel(t.shape.slice(0, ax));
  const n = t.shape[ax];
  const inner = numel(t.shape.slice(ax + 1));
  const out = t.shape.filter((_, i) => i !== ax);
  return { outer, n, inner, out: out.length ? out : [1] };
}

export const reduceOp: OpDef<ReduceAttrs> = {
  name: 'reduce',
  infer(ins, a) {
    if (ins[0].dtype !== 'f32') throw new Error('reduce takes an f32 tensor');
    if (a.kind !== 'sum' && a.kind !== 'mean') throw new Error(`unknown reduction "${a.kind}"`);
    return [{ shape: split(ins[0], a.axis).out, dtype: 'f32' }];
  },
  forward([x], c) {
    const { outer, n, inner } = split(c.ins[0], c.attrs.axis);
    const y = new Float64Array(outer * inner);
    const s = c.attrs.kind === 'mean' ? 1 / n : 1;
    for (let o = 0; o < outer; o++)
      for (let k = 0; k < n; k++) for (let i = 0; i < inner; i++) y[o * inner + i] += s * x[(o * n + k) * inner + i];
    return [y];
  },
  backward([x], _y, [g], c) {
    const { n, inner } = split(c.ins[0], c.attrs.axis);
    const s = c.attrs.kind === 'mean' ? 1 / n : 1;
    const gx = new Float64Array(x.length);
    if (g) for (let j = 0; j < x.length; j++) gx[j] = s * g[Math.floor(j / (n * inner)) * inner + (j % inner)];
    return [gx];
  },
  kernels: {
    forward(c) {
      const { outer, n, inner } = split(c.ins[0], c.attrs.axis);
      const s = c.attrs.kind === 'mean' ? 1 / n : 1;
      return [
        threadKernel({
          name: `${c.label}:fwd`,
          caps: c.caps,
          binds: [
            rd('x', c.in[0]),
            rw('y', c.out[0]),
          ],
          total: outer * inner,
          body: `  let o = i / ${u(inner)}; let k0 = i % ${u(inner)};
  var acc = 0.0;
  for (var k = 0u; k < ${u(n)}; k++) { acc += x[(o * ${u(n)} + k) * ${u(inner)} + k0]; }
  y[i] = ${f(s)} * acc;`,
        }),
      ];
    },
    backward(c) {
      if (!c.gin[0]) return [];
      const { n, inner } = split(c.ins[0], c.attrs.axis);
      const s = c.attrs.kind === 'mean' ? 1 / n : 1;
      return [
        threadKernel({
          name: `${c.label}:bwd`,
          caps: c.caps,
          binds: [
            rd('gy', c.gout[0]!),
            rw('gx', c.gin[0]),
          ],
          total: numel(c.ins[0].shape),
          body: `  gx[i] += ${f(s)} * gy[(i / ${u(n * inner)}) * ${u(inner)} + i % ${u(inner)}];`,
        }),
      ];
    },
  },
};

export const sum = (x: Tensor, axis: number, name?: string) => x.graph.apply(reduceOp, [x], { kind: 'sum', axis }, name ?? 'sum')[0];
export const mean = (x: Tensor, axis: number, name?: string) => x.graph.apply(reduceOp, [x], { kind: 'mean', axis }, name ?? 'mean')[0];
