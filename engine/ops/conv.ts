/**
 * Causal depthwise short convolution (fla ShortConvolution without its activation):
 *   y[b, t, c] = Σ_{j<K} w[c, j] · x[b, t − K + 1 + j, c]     (x = 0 before t = 0)
 * Backward: dx[b, s, c] = Σ_j w[c, j] g[b, s + K − 1 − j, c];  dw[c, j] = Σ_{b,t} g[b, t, c] x[b, t − K + 1 + j, c].
 */
import { shapeStr, type Tensor } from '../ir/graph';
import type { OpDef } from '../ir/op';
import type { KernelSpec } from '../plan/kernel';
import { threadKernel, u, rd, rw } from './wgsl';
import { columnSumKernels, columnSumScratchBytes } from './reduce';

export const shortConvOp: OpDef<Record<string, never>> = {
  name: 'short_conv',
  infer([x, w]) {
    if (x.dtype !== 'f32' || w.dtype !== 'f32') throw new Error('short_conv takes f32 tensors');
    if (x.shape.length !== 3) throw new Error(`x must be [batch, time, channels], got ${shapeStr(x.shape)}`);
    if (w.shape.length !== 2 || w.shape[0] !== x.shape[2]) throw new Error(`weight must be [${x.shape[2]}, kernel], got ${shapeStr(w.shape)}`);
    return [{ shape: x.shape, dtype: 'f32' }];
  },
  // Partial sums of dw over rows (batch × time).
  scratch(c) {
    const [B, T, C] = c.ins[0].shape;
    return [{ name: 'partials_dw', bytes: columnSumScratchBytes(B * T, C, c.ins[1].shape[1]) }];
  },
  forward([x, w], c) {
    const [B, T, C] = c.ins[0].shape;
    const K = c.ins[1].shape[1];
    const y = new Float64Array(x.length);
    for (let b = 0; b < B; b++)
      for (let t = 0; t < T; t++)
        for (let ch = 0; ch < C; ch++) {
          let acc = 0;
          for (let j = 0; j < K; j++) {
            const s = t - K + 1 + j;
            if (s >= 0) acc += w[ch * K + j] * x[(b * T + s) * C + ch];
          }
          y[(b * T + t) * C + ch] = acc;
        }
    return [y];
  },
  backward([x, w], _y, [g], c) {
    const [B, T, C] = c.ins[0].shape;
    const K = c.ins[1].shape[1];
    const gx = new Float64Array(x.length);
    const gw = new Float64Array(w.length);
    if (g)
      for (let b = 0; b < B; b++)
        for (let t = 0; t < T; t++)
          for (let ch = 0; ch < C; ch++)
            for (let j = 0; j < K; j++) {
              const s = t - K + 1 + j;
              if (s < 0) continue;
              gx[(b * T + s) * C + ch] += w[ch * K + j] * g[(b * T + t) * C + ch];
              gw[ch * K + j] += g[(b * T + t) * C + ch] * x[(b * T + s) * C + ch];
            }
    return [gx, gw];
  },
  kernels: {
    forward(c) {
      const [B, T, C] = c.ins[0].shape;
      const K = c.ins[1].shape[1];
      return [
        threadKernel({
          name: `${c.label}:fwd`,
          caps: c.caps,
          binds: [
            rd('x', c.in[0]),
            rd('w', c.in[1]),
            rw('y', c.out[0]),
          ],
          total: B * T * C,
          body: `  let ch = i % ${u(C)}; let t = (i / ${u(C)}) % ${u(T)}; let b = i / ${u(C * T)};
  var acc = 0.0;
  for (var j = 0u; j < ${u(K)}; j++) {
    if (t + j + 1u >= ${u(K)}) { acc += w[ch * ${u(K)} + j] * x[(b * ${u(T)} + t + j + 1u - ${u(K)}) * ${u(C)} + ch]; }
  }
  y[i] = acc;`,
        }),
      ];
    },
    backward(c) {
      const [B, T, C] = c.ins[0].shape;
      const K = c.ins[1].shape[1];
      const ks: KernelSpec[] = [];
      if (c.gin[0])
        ks.push(
          threadKernel({
            name: `${c.label}:dx`,
            caps: c.caps,
            binds: [
              rd('w', c.in[1]),
              rd('g', c.gout[0]!),
              rw('gx', c.gin[0]),
            ],
            total: B * T * C,
            body: `  let ch = i % ${u(C)}; let s = (i / ${u(C)}) % ${u(T)}; let b = i / ${u(C * T)};
  var acc = 0.0;
  for (var j = 0u; j < ${u(K)}; j++) {
    let t = s + ${u(K - 1)} - j;
    if (t < ${u(T)}) { acc += w[ch * ${u(K)} + j] * g[(b * ${u(T)} + t) * ${u(C)} + ch]; }
  }
  gx[i] += acc;`,
          }),
        );
      if (c.gin[1])
        ks.push(
          ...columnSumKernels({
            name: `${c.label}:dw`,
            caps: c.caps,
            reads: [rd('x', c.in[0]), rd('g', c.gout[0]!)],
            rows: B * T,
            cols: C,
            per: K,
            // Row r = (b, t): g[b, t, c] times the K inputs x[b, t − K + 1 + j, c] that produced it.
            term: `      let t = r % ${u(T)};
      let gv = g[r * ${u(C)} + c];
${Array.from({ length: K }, (_, j) => `      if (t + ${u(j + 1)} >= ${u(K)}) { acc${j} += gv * x[(r + ${u(j + 1)} - ${u(K)}) * ${u(C)} + c]; }`).join('\n')}`,
            partials: c.scratch('partials_dw'),
            out: c.gin[1],
          }),
        );
      return ks;
    },
  },
};

export const shortConv = (x: Tensor, w: Tensor, name = 'short_conv') => x.graph.apply(shortConvOp, [x, w], {}, name)[0];
