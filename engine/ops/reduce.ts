/** Sum or mean over one axis (the axis is removed). Backward broadcasts the gradient back. */
import { numel, shapeStr, type Tensor } from '../ir/graph';
import type { OpDef, TensorType } from '../ir/op';
import type { DeviceCaps, KernelSpec } from '../plan/kernel';
import { declare, grid, threadKernel, u, f, rd, rw, type Bind } from './wgsl';

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

// ---------------------------------------------------------------------------------------------
// Column sums for weight gradients: out[c·per + j] += Σ_r term(r, c, j) over many rows (batch×time),
// in two kernels: row blocks × 64-column tiles write partial sums (up to 4 row lanes per column, coalesced
// over columns), then one invocation per output adds its partials. A serial loop over 4096 rows per
// channel left most of a large GPU idle (norm dweight, short-conv dw).

const COLS = 64;
/** Enough workgroups in the first pass to fill a large GPU. */
const COLUMN_SUM_GROUPS = 256;

function columnSumShape(rows: number, cols: number) {
  const tiles = Math.ceil(cols / COLS);
  const blocks = Math.max(1, Math.min(Math.ceil(COLUMN_SUM_GROUPS / tiles), Math.ceil(rows / 16)));
  const span = Math.ceil(rows / blocks);
  return { tiles, blocks: Math.ceil(rows / span), span };
}

/** Bytes of the partial sums a column sum needs (its scratch buffer). */
export function columnSumScratchBytes(rows: number, cols: number, per: number): number {
  return columnSumShape(rows, cols).blocks * cols * per * 4;
}

export interface ColumnSum {
  name: string;
  caps: DeviceCaps;
  /** Buffers the term reads. */
  reads: Bind[];
  rows: number;
  cols: number;
  /** Outputs per column (out index c·per + j). */
  per: number;
  /** WGSL statements for row `r` and column `c` (u32) adding into `acc0` … `acc{per−1}`. */
  term: string;
  /** Scratch buffer of columnSumScratchBytes. */
  partials: string;
  /** Output buffer, added into. */
  out: string;
}

export function columnSumKernels(s: ColumnSum): KernelSpec[] {
  const { tiles, blocks, span } = columnSumShape(s.rows, s.cols);
  const n = s.cols * s.per;
  // Row lanes per column: 4, fewer when the lanes' partial sums would not fit workgroup memory.
  const LANES = Math.min(4, Math.floor(s.caps.maxComputeWorkgroupStorageSize / (COLS * s.per * 4)), Math.floor(s.caps.maxComputeInvocationsPerWorkgroup / COLS));
  if (LANES < 1) throw new Error(`${s.name}: ${s.per} sums per column need ${COLS * s.per * 4} bytes of workgroup memory; the device offers ${s.caps.maxComputeWorkgroupStorageSize}`);
  const js = Array.from({ length: s.per }, (_, j) => j);
  const binds: Bind[] = [...s.reads, rw('P', s.partials)];
  const partial: KernelSpec = {
    name: s.name,
    wgsl: `${declare(binds)}
var<workgroup> sh: array<f32, ${LANES * COLS * s.per}>;
@compute @workgroup_size(${COLS * LANES})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3u) {
  let w = wid.x + wid.y * nwg.x;
  if (w >= ${u(tiles * blocks)}) { return; }
  let cl = lid % ${u(COLS)};
  let lane = lid / ${u(COLS)};
  let c = (w % ${u(tiles)}) * ${u(COLS)} + cl;
  let rb = w / ${u(tiles)};
  let r1 = min((rb + 1u) * ${u(span)}, ${u(s.rows)});
${js.map((j) => `  var acc${j} = 0.0;`).join('\n')}
  if (c < ${u(s.cols)}) {
    for (var r = rb * ${u(span)} + lane; r < r1; r += ${u(LANES)}) {
${s.term}
    }
  }
${js.map((j) => `  sh[(lane * ${u(COLS)} + cl) * ${u(s.per)} + ${u(j)}] = acc${j};`).join('\n')}
  workgroupBarrier();
  if (lane == 0u && c < ${u(s.cols)}) {
    for (var j = 0u; j < ${u(s.per)}; j++) {
      var t = 0.0;
      for (var l = 0u; l < ${u(LANES)}; l++) { t += sh[(l * ${u(COLS)} + cl) * ${u(s.per)} + j]; }
      P[rb * ${u(n)} + c * ${u(s.per)} + j] = t;
    }
  }
}
`,
    entryPoint: 'main',
    bindings: binds.map((b) => ({ buffer: b.buffer, access: b.access })),
    workgroups: grid(tiles * blocks, s.caps),
  };
  const sum = threadKernel({
    name: `${s.name}_sum`,
    caps: s.caps,
    binds: [rd('P', s.partials), rw('out', s.out)],
    total: n,
    body: `  var t = 0.0;
  for (var b = 0u; b < ${u(blocks)}; b++) { t += P[b * ${u(n)} + i]; }
  out[i] += t;`,
  });
  return [partial, sum];
}
