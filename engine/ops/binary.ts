/**
 * Elementwise binary ops with numpy broadcasting (shapes right-aligned; a dim of 1 or a missing
 * leading dim broadcasts). The gradient of a broadcast input sums over its broadcast dims: parallel
 * column sums when those are the leading dims (biases), else one thread per input element loops over them;
 * both sum in a fixed order, so the result is deterministic.
 */
import { numel, shapeStr, type Tensor } from '../ir/graph';
import type { GpuCtx, OpDef, TensorType } from '../ir/op';
import type { KernelSpec } from '../plan/kernel';
import { strides, threadKernel, u, rd, rw } from './wgsl';
import { columnSumKernels, columnSumScratchBytes } from './reduce';

export type BinaryName = 'add' | 'sub' | 'mul' | 'div';
export interface BinaryAttrs {
  fn: BinaryName;
}

const F: Record<BinaryName, { f: (a: number, b: number) => number; da: (a: number, b: number) => number; db: (a: number, b: number) => number; w: string; wda: string; wdb: string }> = {
  add: { f: (a, b) => a + b, da: () => 1, db: () => 1, w: 'a + b', wda: '1.0', wdb: '1.0' },
  sub: { f: (a, b) => a - b, da: () => 1, db: () => -1, w: 'a - b', wda: '1.0', wdb: '-1.0' },
  mul: { f: (a, b) => a * b, da: (_a, b) => b, db: (a) => a, w: 'a * b', wda: 'b', wdb: 'a' },
  div: { f: (a, b) => a / b, da: (_a, b) => 1 / b, db: (a, b) => -a / (b * b), w: 'a / b', wda: '1.0 / b', wdb: '-a / (b * b)' },
};

export function broadcastShape(a: number[], b: number[]): number[] {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const da = a[a.length - r + i] ?? 1;
    const db = b[b.length - r + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`shapes ${shapeStr(a)} and ${shapeStr(b)} do not broadcast (dim ${i}: ${da} vs ${db})`);
    out.push(Math.max(da, db));
  }
  return out;
}

/** Strides of `s` viewed in the output's rank, 0 on broadcast dims. */
function bstrides(s: number[], out: number[]): number[] {
  const st = strides(s);
  return out.map((d, i) => {
    const j = s.length - out.length + i;
    return j < 0 || s[j] === 1 ? 0 : st[j];
  });
}

function layout(ins: TensorType[]) {
  const out = broadcastShape(ins[0].shape, ins[1].shape);
  return { out, sa: bstrides(ins[0].shape, out), sb: bstrides(ins[1].shape, out), so: strides(out) };
}

export const binaryOp: OpDef<BinaryAttrs> = {
  name: 'binary',
  infer(ins, a) {
    if (!(a.fn in F)) throw new Error(`unknown binary function "${a.fn}"`);
    if (ins.some((t) => t.dtype !== 'f32')) throw new Error(`${a.fn} takes f32 tensors`);
    return [{ shape: broadcastShape(ins[0].shape, ins[1].shape), dtype: 'f32' }];
  },
  forward([x, y], c) {
    const { out, sa, sb } = layout(c.ins);
    const n = numel(out);
    const r = new Float64Array(n);
    const fn = F[c.attrs.fn].f;
    for (let i = 0; i < n; i++) {
      const [ia, ib] = offsets(i, out, sa, sb);
      r[i] = fn(x[ia], y[ib]);
    }
    return [r];
  },
  backward([x, y], _out, [g], c) {
    const { out, sa, sb } = layout(c.ins);
    const ga = new Float64Array(x.length);
    const gb = new Float64Array(y.length);
    if (g) {
      const { da, db } = F[c.attrs.fn];
      for (let i = 0; i < g.length; i++) {
        const [ia, ib] = offsets(i, out, sa, sb);
        ga[ia] += g[i] * da(x[ia], y[ib]);
        gb[ib] += g[i] * db(x[ia], y[ib]);
      }
    }
    return [ga, gb];
  },
  // Partial sums of a leading-dims broadcast side's gradient (columnSide).
  scratch(c) {
    return ([0, 1] as const).flatMap((side) => {
      const col = columnSide(c.ins, side);
      return col ? [{ name: `partials_d${side === 0 ? 'A' : 'B'}`, bytes: columnSumScratchBytes(col.rows, col.cols, 1) }] : [];
    });
  },
  kernels: {
    forward(c) {
      const { out, sa, sb } = layout(c.ins);
      return [
        threadKernel({
          name: `${c.label}:fwd`,
          caps: c.caps,
          binds: [
            rd('A', c.in[0]),
            rd('B', c.in[1]),
            rw('Y', c.out[0]),
          ],
          total: numel(out),
          body: `${decompose('i', out, { ia: sa, ib: sb })}
  let a = A[ia]; let b = B[ib];
  Y[i] = ${F[c.attrs.fn].w};`,
        }),
      ];
    },
    backward(c) {
      const ks: KernelSpec[] = [];
      for (const side of [0, 1] as const) if (c.gin[side]) ks.push(...gradKernel(c, side));
      return ks;
    },
  },
};

function offsets(i: number, out: number[], sa: number[], sb: number[]): [number, number] {
  let ia = 0;
  let ib = 0;
  for (let d = out.length - 1; d >= 0; d--) {
    const k = i % out[d];
    i = Math.floor(i / out[d]);
    ia += k * sa[d];
    ib += k * sb[d];
  }
  return [ia, ib];
}

/** WGSL: split flat index `v` over `shape` and accumulate each named offset with its strides. */
function decompose(v: string, shape: number[], offs: Record<string, number[]>, coords = 'r'): string {
  const names = Object.keys(offs);
  let s = `  var ${coords} = ${v};\n` + names.map((n) => `  var ${n} = 0u;`).join('\n') + '\n';
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] === 1) continue;
    s += `  { let k = ${coords} % ${u(shape[d])}; ${coords} = ${coords} / ${u(shape[d])};`;
    for (const n of names) if (offs[n][d]) s += ` ${n} += k * ${u(offs[n][d])};`;
    s += ' }\n';
  }
  return s;
}

/**
 * A side whose broadcast dims are exactly the leading ones (a bias [C] added to [B, T, C]) has a gradient
 * that is a column sum over many rows: rows = product of the leading dims, cols = the side's size.
 */
function columnSide(ins: TensorType[], side: 0 | 1): { rows: number; cols: number } | null {
  const { out, sa, sb } = layout(ins);
  const mine = side === 0 ? sa : sb;
  const kept = out.map((d, i) => mine[i] !== 0 || d === 1);
  const p = kept.indexOf(true);
  if (p <= 0 || kept.slice(p).some((k) => !k)) return null;
  const rows = numel(out.slice(0, p));
  return rows >= 64 ? { rows, cols: numel(out.slice(p)) } : null;
}

/** Gradient for one side: parallel column sums for a leading-dims broadcast, else a thread per element of that input, looping over its broadcast dims. */
function gradKernel(c: GpuCtx<BinaryAttrs>, side: 0 | 1): KernelSpec[] {
  const { out, sa, sb, so } = layout(c.ins);
  const f = F[c.attrs.fn];
  const col = columnSide(c.ins, side);
  if (col)
    return columnSumKernels({
      name: `${c.label}:d${side === 0 ? 'A' : 'B'}`,
      caps: c.caps,
      reads: [rd('A', c.in[0]), rd('B', c.in[1]), rd('G', c.gout[0]!)],
      rows: col.rows,
      cols: col.cols,
      per: 1,
      term: `      let o = r * ${u(col.cols)} + c;
${decompose('o', out, { ia: sa, ib: sb }, 'q').replace(/^/gm, '    ')}
      let a = A[ia]; let b = B[ib];
      acc0 += G[o] * (${side === 0 ? f.wda : f.wdb});`,
      partials: c.scratch(`partials_d${side === 0 ? 'A' : 'B'}`),
      out: c.gin[side]!,
    });
  const mine = side === 0 ? sa : sb;
  const kept = out.map((d, i) => mine[i] !== 0 || d === 1);
  const keptShape = out.map((d, i) => (kept[i] ? d : 1));
  const redShape = out.map((d, i) => (kept[i] ? 1 : d));
  const reduced = numel(redShape);
  return [threadKernel({
    name: `${c.label}:d${side === 0 ? 'A' : 'B'}`,
    caps: c.caps,
    binds: [
      rd('A', c.in[0]),
      rd('B', c.in[1]),
      rd('G', c.gout[0]!),
      rw('GX', c.gin[side]!),
    ],
    // The input's own elements, enumerated in output-rank order of the kept dims.
    total: numel(keptShape),
    body: `${decompose('i', keptShape, { base_o: so, base_a: sa, base_b: sb })}
  var acc = 0.0;
  for (var red = 0u; red < ${u(reduced)}; red++) {
${decompose('red', redShape, { io: so, ia: sa, ib: sb }, 'q').replace(/^/gm, '  ')}
    let a = A[base_a + ia]; let b = B[base_b + ib];
    acc += G[base_o + io] * (${side === 0 ? f.wda : f.wdb});
  }
  GX[${side === 0 ? 'base_a' : 'base_b'}] += acc;`,
  })];
}

function bin(fn: BinaryName) {
  return (a: Tensor, b: Tensor, name?: string) => a.graph.apply(binaryOp, [a, b], { fn }, name ?? fn)[0];
}
export const add = bin('add');
export const sub = bin('sub');
export const mul = bin('mul');
export const div = bin('div');
