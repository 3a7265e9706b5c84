/**
 * Batched matmul with optional transposes: C[..., M, N] = op(A)[..., M, K] · op(B)[..., K, N].
 * B is either a shared matrix [K, N] (a weight; batch dims fold into M) or has A's batch dims.
 * Every product, forward and backward, lowers to one strided GEMM kernel:
 *   out[b, i, j] (+)= Σ_r X[b, i, r] · Y[b, r, j]   with arbitrary strides for X, Y and out.
 */
import { numel, shapeStr, type Tensor } from '../ir/graph';
import type { GpuCtx, OpDef, TensorType } from '../ir/op';
import type { DeviceCaps, KernelSpec } from '../plan/kernel';
import { grid, threadKernel, u, rd, rw } from './wgsl';

export interface MatmulAttrs {
  transA: boolean;
  transB: boolean;
}

interface Dims {
  batch: number;
  M: number;
  N: number;
  K: number;
  shared: boolean;
  outShape: number[];
}

function dims(a: TensorType, b: TensorType, at: MatmulAttrs): Dims {
  if (a.dtype !== 'f32' || b.dtype !== 'f32') throw new Error('matmul takes f32 tensors');
  if (a.shape.length < 2 || b.shape.length < 2) throw new Error(`matmul needs rank ≥ 2 operands, got ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`);
  const ra = a.shape.length;
  const [am, ak] = at.transA ? [a.shape[ra - 1], a.shape[ra - 2]] : [a.shape[ra - 2], a.shape[ra - 1]];
  const rb = b.shape.length;
  const [bk, bn] = at.transB ? [b.shape[rb - 1], b.shape[rb - 2]] : [b.shape[rb - 2], b.shape[rb - 1]];
  if (ak !== bk) throw new Error(`inner dimensions differ: A ${shapeStr(a.shape)}${at.transA ? 'ᵀ' : ''} · B ${shapeStr(b.shape)}${at.transB ? 'ᵀ' : ''} (${ak} vs ${bk})`);
  const batchShape = a.shape.slice(0, ra - 2);
  const shared = rb === 2 && ra > 2;
  if (shared && at.transA) throw new Error('a transposed batched A times a shared matrix is not supported; transpose B instead');
  if (!shared && rb !== ra) throw new Error(`batch dims differ: ${shapeStr(a.shape)} vs ${shapeStr(b.shape)} (B must be [K, N] or share A's batch dims)`);
  if (!shared && batchShape.some((d, i) => d !== b.shape[i])) throw new Error(`batch dims differ: ${shapeStr(a.shape)} vs ${shapeStr(b.shape)}`);
  const batch = numel(batchShape);
  // A shared weight: fold batch into M (A is contiguous [batch·M, K]).
  return shared
    ? { batch: 1, M: batch * am, N: bn, K: ak, shared, outShape: [...batchShape, am, bn] }
    : { batch, M: am, N: bn, K: ak, shared, outShape: [...batchShape, am, bn] };
}

/** Strides (batch, row, col) of a [batch, R, C] row-major operand, optionally read transposed. */
function view(R: number, C: number, trans: boolean, batched: boolean): [number, number, number] {
  // Logical element (b, i, j) of op(X) where X is stored [b, R, C].
  return trans ? [batched ? R * C : 0, 1, C] : [batched ? R * C : 0, C, 1];
}

export interface Gemm {
  batch: number;
  I: number;
  J: number;
  R: number;
  x: [number, number, number]; // strides of X over (b, i, r)
  y: [number, number, number]; // strides of Y over (b, r, j)
  o: [number, number, number]; // strides of out over (b, i, j)
  accumulate: boolean;
}

export function gemmReference(X: Float64Array, Y: Float64Array, out: Float64Array, g: Gemm) {
  for (let b = 0; b < g.batch; b++)
    for (let i = 0; i < g.I; i++)
      for (let j = 0; j < g.J; j++) {
        let acc = 0;
        for (let r = 0; r < g.R; r++) acc += X[b * g.x[0] + i * g.x[1] + r * g.x[2]] * Y[b * g.y[0] + r * g.y[1] + j * g.y[2]];
        const o = b * g.o[0] + i * g.o[1] + j * g.o[2];
        out[o] = g.accumulate ? out[o] + acc : acc;
      }
}

const TILE = 16;

export function gemmKernel(name: string, bx: string, by: string, bo: string, g: Gemm, caps: DeviceCaps, tiled: boolean): KernelSpec {
  const binds = [
    rd('X', bx),
    rd('Y', by),
    rw('O', bo),
  ];
  const store = (acc: string) =>
    `let o = b * ${u(g.o[0])} + i * ${u(g.o[1])} + j * ${u(g.o[2])};\n    O[o] = ${g.accumulate ? `O[o] + ${acc}` : acc};`;
  const useTiles = tiled && g.I * g.J >= 4096 && g.R >= 32 && caps.maxComputeInvocationsPerWorkgroup >= TILE * TILE;
  if (!useTiles) {
    // 4×4 outputs per thread, indices clamped at the edges and stores guarded: on CPU emulation
    // (SwiftShader) per-invocation overhead dominates, and this was 4–5× faster than one output per thread.
    const TI = Math.ceil(g.I / 4);
    const TJ = Math.ceil(g.J / 4);
    const rows = [0, 1, 2, 3];
    return threadKernel({
      name,
      caps,
      binds,
      total: g.batch * TI * TJ,
      body: `  let j0 = (i % ${u(TJ)}) * 4u; let rest = i / ${u(TJ)};
  let i0 = (rest % ${u(TI)}) * 4u; let b = rest / ${u(TI)};
${rows.map((p) => `  let xb${p} = b * ${u(g.x[0])} + min(i0 + ${p}u, ${u(g.I - 1)}) * ${u(g.x[1])};`).join('\n')}
${rows.map((q) => `  let yb${q} = b * ${u(g.y[0])} + min(j0 + ${q}u, ${u(g.J - 1)}) * ${u(g.y[2])};`).join('\n')}
${rows.map((p) => `  var a${p} = vec4f(0.0);`).join('\n')}
  for (var r = 0u; r < ${u(g.R)}; r++) {
    let yr = r * ${u(g.y[1])};
    let xr = r * ${u(g.x[2])};
    let yv = vec4f(Y[yb0 + yr], Y[yb1 + yr], Y[yb2 + yr], Y[yb3 + yr]);
${rows.map((p) => `    a${p} += X[xb${p} + xr] * yv;`).join('\n')}
  }
  let acc = array<vec4f, 4>(a0, a1, a2, a3);
  for (var p = 0u; p < 4u; p++) {
    if (i0 + p >= ${u(g.I)}) { break; }
    for (var q = 0u; q < 4u; q++) {
      if (j0 + q >= ${u(g.J)}) { break; }
      let o = b * ${u(g.o[0])} + (i0 + p) * ${u(g.o[1])} + (j0 + q) * ${u(g.o[2])};
      O[o] = ${g.accumulate ? 'O[o] + ' : ''}acc[p][q];
    }
  }`,
    });
  }
  // 16×16 output tile per workgroup, K in 16-wide slabs through workgroup memory (2 KiB).
  const tilesI = Math.ceil(g.I / TILE);
  const tilesJ = Math.ceil(g.J / TILE);
  const wgsl = `@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> Y: array<f32>;
@group(0) @binding(2) var<storage, read_write> O: array<f32>;
var<workgroup> tx: array<f32, ${TILE * TILE}>;
var<workgroup> ty: array<f32, ${TILE * TILE}>;
@compute @workgroup_size(${TILE}, ${TILE})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let tile = wid.x + wid.y * nwg.x;
  let b = tile / ${u(tilesI * tilesJ)};
  let t2 = tile % ${u(tilesI * tilesJ)};
  let i0 = (t2 / ${u(tilesJ)}) * ${u(TILE)};
  let j0 = (t2 % ${u(tilesJ)}) * ${u(TILE)};
  let i = i0 + lid.y;
  let j = j0 + lid.x;
  let live = b < ${u(g.batch)};
  var acc = 0.0;
  for (var r0 = 0u; r0 < ${u(g.R)}; r0 += ${u(TILE)}) {
    let rx = r0 + lid.x;
    let ry = r0 + lid.y;
    var vx = 0.0;
    if (live && i < ${u(g.I)} && rx < ${u(g.R)}) { vx = X[b * ${u(g.x[0])} + i * ${u(g.x[1])} + rx * ${u(g.x[2])}]; }
    tx[lid.y * ${u(TILE)} + lid.x] = vx;
    var vy = 0.0;
    if (live && j < ${u(g.J)} && ry < ${u(g.R)}) { vy = Y[b * ${u(g.y[0])} + ry * ${u(g.y[1])} + j * ${u(g.y[2])}]; }
    ty[lid.y * ${u(TILE)} + lid.x] = vy;
    workgroupBarrier();
    for (var r = 0u; r < ${u(TILE)}; r++) { acc += tx[lid.y * ${u(TILE)} + r] * ty[r * ${u(TILE)} + lid.x]; }
    workgroupBarrier();
  }
  if (live && i < ${u(g.I)} && j < ${u(g.J)}) {
    ${store('acc')}
  }
}
`;
  return {
    name,
    wgsl,
    entryPoint: 'main',
    bindings: binds.map((b) => ({ buffer: b.buffer, access: b.access })),
    workgroups: grid(g.batch * tilesI * tilesJ, caps),
  };
}

/** The three GEMMs of a matmul node: forward C = AB, dA = dC Bᵀ, dB = Aᵀ dC (in op(·) space). */
function plans(ins: TensorType[], at: MatmulAttrs) {
  const d = dims(ins[0], ins[1], at);
  const { batch, M, N, K } = d;
  const batchedB = !d.shared && ins[1].shape.length > 2;
  const A = view(at.transA ? K : M, at.transA ? M : K, at.transA, batch > 1); // (b, m, k)
  const B = view(at.transB ? N : K, at.transB ? K : N, at.transB, batchedB && batch > 1); // (b, k, n)
  const C: [number, number, number] = [batch > 1 ? M * N : 0, N, 1]; // (b, m, n)
  const fwd: Gemm = { batch, I: M, J: N, R: K, x: A, y: B, o: C, accumulate: false };
  // dA(b, m, k) += Σ_n dC(b, m, n) B(b, k, n): stored into A's layout.
  const gA: Gemm = { batch, I: M, J: K, R: N, x: C, y: [B[0], B[2], B[1]], o: A, accumulate: true };
  // dB(b, k, n) += Σ_m A(b, m, k) dC(b, m, n); a shared B sums over the folded batch too (batch = 1 then).
  const gB: Gemm = { batch: batchedB ? batch : 1, I: K, J: N, R: M, x: [A[0], A[2], A[1]], y: C, o: B, accumulate: true };
  return { d, fwd, gA, gB };
}

export const matmulOp: OpDef<MatmulAttrs> = {
  name: 'matmul',
  infer: (ins, at) => [{ shape: dims(ins[0], ins[1], at).outShape, dtype: 'f32' }],
  forward([a, b], c) {
    const p = plans(c.ins, c.attrs);
    const out = new Float64Array(numel(c.outs[0].shape));
    gemmReference(a, b, out, p.fwd);
    return [out];
  },
  backward([a, b], _y, [gy], c) {
    const p = plans(c.ins, c.attrs);
    const ga = new Float64Array(a.length);
    const gb = new Float64Array(b.length);
    if (gy) {
      gemmReference(gy, b, ga, p.gA);
      gemmReference(a, gy, gb, p.gB);
    }
    return [ga, gb];
  },
  kernels: {
    forward: (c) => [gemmKernel(`${c.label}:fwd`, c.in[0], c.in[1], c.out[0], plans(c.ins, c.attrs).fwd, c.caps, c.tiled)],
    backward(c: GpuCtx<MatmulAttrs>) {
      const p = plans(c.ins, c.attrs);
      const ks: KernelSpec[] = [];
      if (c.gin[0]) ks.push(gemmKernel(`${c.label}:dA`, c.gout[0]!, c.in[1], c.gin[0], p.gA, c.caps, c.tiled));
      if (c.gin[1]) ks.push(gemmKernel(`${c.label}:dB`, c.in[0], c.gout[0]!, c.gin[1], p.gB, c.caps, c.tiled));
      return ks;
    },
  },
};

export function matmul(a: Tensor, b: Tensor, opts: Partial<MatmulAttrs> & { name?: string } = {}): Tensor {
  return a.graph.apply(matmulOp, [a, b], { transA: opts.transA ?? false, transB: opts.transB ?? false }, opts.name)[0];
}
