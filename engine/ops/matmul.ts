/**
 * Batched matmul with optional transposes: C[..., M, N] = op(A)[..., M, K] · op(B)[..., K, N].
 * B is either a shared matrix [K, N] (a weight; batch dims fold into M) or has A's batch dims.
 * Every product, forward and backward, lowers to one strided GEMM:
 *   out[b, i, j] (+)= Σ_r X[b, i, r] · Y[b, r, j]   with arbitrary strides for X, Y and out,
 * run by a kernel chosen by shape (chooseGemm): register-blocked tiles on real GPUs, with the reduction
 * split into slices plus a summing kernel when the output alone is too small to fill the GPU.
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

/** A register-blocked tile shape: BM×BN outputs per workgroup, TM×TN per invocation, K in BK-deep slabs. */
export interface GemmTile {
  BM: number;
  BN: number;
  TM: number;
  TN: number;
  BK: number;
}

/** How one GEMM runs: the simple per-invocation loop, or blocked tiles with the reduction split S ways. */
export type GemmChoice = { kind: 'simple' } | { kind: 'blocked'; tile: GemmTile; split: number; chunk: number };

/** Tiles by preference; each needs (BM/TM)·(BN/TN) invocations and BK·(BM+BN) floats of workgroup memory. */
const TILES: Record<'large' | 'square' | 'narrowJ' | 'narrowI', GemmTile> = {
  large: { BM: 128, BN: 128, TM: 8, TN: 8, BK: 16 }, // 256 invocations, 16 KiB
  square: { BM: 64, BN: 64, TM: 4, TN: 4, BK: 16 }, // 256 invocations, 8 KiB
  narrowJ: { BM: 64, BN: 16, TM: 4, TN: 1, BK: 16 }, // few output columns (gates, low-rank factors)
  narrowI: { BM: 16, BN: 64, TM: 1, TN: 4, BK: 16 }, // few output rows
};
/** Enough workgroups to fill a large GPU (an H200 has 132 SMs); below this the reduction is split. */
const TARGET_GROUPS = 256;
/** Split-K partial sums above this size are not worth the scratch memory. */
const MAX_SPLIT_BYTES = 64 * 2 ** 20;

const fits = (t: GemmTile, caps: DeviceCaps) =>
  (t.BM / t.TM) * (t.BN / t.TN) <= Math.min(caps.maxComputeInvocationsPerWorkgroup, caps.maxComputeWorkgroupSizeX) &&
  t.BK * (t.BM + t.BN) * 4 <= caps.maxComputeWorkgroupStorageSize;

/**
 * Picks the kernel for a GEMM by shape. Real GPUs (`tiled`) get register-blocked tiles: 128×128 when the
 * problem fills the GPU with them, 64×64 otherwise, narrow tiles for gate-sized outputs; when the tiles
 * alone are too few (weight gradients: a small output, a reduction over batch×time), the reduction is
 * split into S slices whose partial sums a second kernel adds up. Tiny problems keep the simple loop.
 */
export function chooseGemm(g: Gemm, caps: DeviceCaps, tiled: boolean): GemmChoice {
  if (!tiled || g.I * g.J * g.R < 32768) return { kind: 'simple' };
  const count = (t: GemmTile) => Math.ceil(g.I / t.BM) * Math.ceil(g.J / t.BN) * g.batch;
  let tile: GemmTile;
  if (g.J <= 16 && g.I >= 64) tile = TILES.narrowJ;
  else if (g.I <= 16 && g.J >= 64) tile = TILES.narrowI;
  else if (g.I >= 128 && g.J >= 128 && count(TILES.large) >= TARGET_GROUPS && fits(TILES.large, caps)) tile = TILES.large;
  else tile = TILES.square;
  if (!fits(tile, caps)) return { kind: 'simple' };
  const tiles = count(tile);
  let split = 1;
  if (tiles < TARGET_GROUPS / 2 && g.R >= 256) split = Math.min(Math.ceil(TARGET_GROUPS / tiles), Math.floor(g.R / 128));
  let chunk = Math.ceil(Math.ceil(g.R / split) / tile.BK) * tile.BK;
  split = Math.ceil(g.R / chunk);
  const bytes = split * g.batch * g.I * g.J * 4;
  if (split > 1 && (bytes > MAX_SPLIT_BYTES || bytes > caps.maxStorageBufferBindingSize)) {
    split = 1;
    chunk = g.R;
  }
  return { kind: 'blocked', tile, split, chunk };
}

/** Scratch bytes the chosen kernels need (split-K partial sums), 0 if none. */
export function gemmScratchBytes(g: Gemm, caps: DeviceCaps, tiled: boolean): number {
  const c = chooseGemm(g, caps, tiled);
  return c.kind === 'blocked' && c.split > 1 ? c.split * g.batch * g.I * g.J * 4 : 0;
}

/**
 * The kernels of one GEMM: `choice` (default: chooseGemm) decides; a split reduction needs `partials`,
 * a scratch buffer of gemmScratchBytes.
 */
export function gemmKernels(name: string, bx: string, by: string, bo: string, g: Gemm, caps: DeviceCaps, tiled: boolean, partials?: string, choice?: GemmChoice): KernelSpec[] {
  const c = choice ?? chooseGemm(g, caps, tiled);
  if (c.kind === 'simple') return [simpleGemm(name, bx, by, bo, g, caps)];
  if (c.split === 1) return [blockedGemm(name, bx, by, bo, g, caps, c.tile, 1, g.R, false)];
  if (!partials) throw new Error(`${name}: a split reduction (${c.split} slices) needs a scratch buffer for its partial sums`);
  return [blockedGemm(name, bx, by, partials, g, caps, c.tile, c.split, c.chunk, true), splitSum(`${name}_sum`, partials, bo, g, c.split, caps)];
}

/**
 * Register-blocked GEMM: a workgroup computes a BM×BN output tile, each invocation TM×TN outputs
 * strided by the thread grid (rows ty + m·BM/TM, columns tx + n·BN/TN, so neighbouring invocations read
 * neighbouring workgroup-memory words). X and Y slabs (BM×BK, BK×BN) are staged in workgroup memory,
 * loaded along whichever axis is contiguous in global memory. With `split` S > 1 the workgroup grid
 * also runs over S slices of the reduction of `chunk` each, and writes partial sums [S, batch, I, J].
 */
function blockedGemm(name: string, bx: string, by: string, bo: string, g: Gemm, caps: DeviceCaps, t: GemmTile, split: number, chunk: number, partial: boolean): KernelSpec {
  const { BM, BN, TM, TN, BK } = t;
  const TXN = BN / TN; // invocations along j
  const TYN = BM / TM; // invocations along i
  const WG = TXN * TYN;
  // Pad rows of the staged slabs by one word when memory allows (fewer bank conflicts on the transposing stores).
  const pad = BK * (BM + BN + 2) * 4 <= caps.maxComputeWorkgroupStorageSize ? 1 : 0;
  const SX = BM + pad;
  const SY = BN + pad;
  const tilesI = Math.ceil(g.I / BM);
  const tilesJ = Math.ceil(g.J / BN);
  const groups = tilesI * tilesJ * g.batch * split;
  const xAlongR = g.x[2] === 1 || g.x[1] !== 1; // X contiguous along r (else along i)
  const yAlongJ = g.y[2] === 1 || g.y[1] !== 1; // Y contiguous along j (else along r)
  // Stage an n×BK slab (n = BM or BN output rows/columns) into `arr` laid out [BK][stride].
  const load = (arr: string, src: string, n: number, fastR: boolean, stride: number, o0: string, lim: number, idx: (o: string, r: string) => string) => {
    const lines: string[] = [];
    for (let l = 0; l < Math.ceil((n * BK) / WG); l++) {
      const e = `lid + ${u(l * WG)}`;
      const [rr, oo] = fastR ? [`e % ${u(BK)}`, `e / ${u(BK)}`] : [`e / ${u(n)}`, `e % ${u(n)}`];
      const body = `let e = ${e}; let rr = ${rr}; let oo = ${oo};
      let go = ${o0} + oo; let gr = k0 + rr;
      var v = 0.0;
      if (go < ${u(lim)} && gr < rEnd) { v = ${src}[${idx('go', 'gr')}]; }
      ${arr}[rr * ${u(stride)} + oo] = v;`;
      lines.push((l + 1) * WG > n * BK ? `    if (${e} < ${u(n * BK)}) {
      ${body}
    }` : `    {
      ${body}
    }`);
    }
    return lines.join('\n');
  };
  const ms = Array.from({ length: TM }, (_, m) => m);
  const ns = Array.from({ length: TN }, (_, n) => n);
  const out = partial
    ? (c: string) => `P[(s * ${u(g.batch)} + b) * ${u(g.I * g.J)} + i * ${u(g.J)} + j] = ${c};`
    : (c: string) => `let o = b * ${u(g.o[0])} + i * ${u(g.o[1])} + j * ${u(g.o[2])};\n      O[o] = ${g.accumulate ? 'O[o] + ' : ''}${c};`;
  const wgsl = `@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> Y: array<f32>;
@group(0) @binding(2) var<storage, read_write> ${partial ? 'P' : 'O'}: array<f32>;
var<workgroup> sx: array<f32, ${BK * SX}>;
var<workgroup> sy: array<f32, ${BK * SY}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3u) {
  let tile = wid.x + wid.y * nwg.x;
  if (tile >= ${u(groups)}) { return; }
  let tj = tile % ${u(tilesJ)};
  let ti = (tile / ${u(tilesJ)}) % ${u(tilesI)};
  let bs = tile / ${u(tilesI * tilesJ)};
  let b = bs % ${u(g.batch)};
  let s = bs / ${u(g.batch)};
  let i0 = ti * ${u(BM)};
  let j0 = tj * ${u(BN)};
  let rBegin = s * ${u(chunk)};
  let rEnd = min(rBegin + ${u(chunk)}, ${u(g.R)});
  let tx = lid % ${u(TXN)};
  let ty = lid / ${u(TXN)};
  let xb = b * ${u(g.x[0])};
  let yb = b * ${u(g.y[0])};
${ms.flatMap((m) => ns.map((n) => `  var c${m}_${n} = 0.0;`)).join('\n')}
  for (var k0 = rBegin; k0 < rEnd; k0 += ${u(BK)}) {
${load('sx', 'X', BM, xAlongR, SX, 'i0', g.I, (o, r) => `xb + ${o} * ${u(g.x[1])} + ${r} * ${u(g.x[2])}`)}
${load('sy', 'Y', BN, !yAlongJ, SY, 'j0', g.J, (o, r) => `yb + ${r} * ${u(g.y[1])} + ${o} * ${u(g.y[2])}`)}
    workgroupBarrier();
    for (var kk = 0u; kk < ${u(BK)}; kk++) {
${ms.map((m) => `      let a${m} = sx[kk * ${u(SX)} + ty + ${u(m * TYN)}];`).join('\n')}
${ns.map((n) => `      let b${n} = sy[kk * ${u(SY)} + tx + ${u(n * TXN)}];`).join('\n')}
${ms.flatMap((m) => ns.map((n) => `      c${m}_${n} = fma(a${m}, b${n}, c${m}_${n});`)).join('\n')}
    }
    workgroupBarrier();
  }
${ms
  .flatMap((m) =>
    ns.map(
      (n) => `  {
    let i = i0 + ty + ${u(m * TYN)}; let j = j0 + tx + ${u(n * TXN)};
    if (i < ${u(g.I)} && j < ${u(g.J)}) {
      ${out(`c${m}_${n}`)}
    }
  }`,
    ),
  )
  .join('\n')}
}
`;
  return {
    name,
    wgsl,
    entryPoint: 'main',
    bindings: [
      { buffer: bx, access: 'read' },
      { buffer: by, access: 'read' },
      { buffer: bo, access: 'read_write' },
    ],
    workgroups: grid(groups, caps),
  };
}

/** Adds the S partial sums [S, batch, I, J] of a split reduction into the output (with its strides). */
function splitSum(name: string, partials: string, bo: string, g: Gemm, split: number, caps: DeviceCaps): KernelSpec {
  const n = g.batch * g.I * g.J;
  return threadKernel({
    name,
    caps,
    binds: [rd('P', partials), rw('O', bo)],
    total: n,
    workgroupSize: 256,
    body: `  let j = i % ${u(g.J)}; let ii = (i / ${u(g.J)}) % ${u(g.I)}; let b = i / ${u(g.I * g.J)};
  var acc = 0.0;
  for (var s = 0u; s < ${u(split)}; s++) { acc += P[s * ${u(n)} + i]; }
  let o = b * ${u(g.o[0])} + ii * ${u(g.o[1])} + j * ${u(g.o[2])};
  O[o] = ${g.accumulate ? 'O[o] + ' : ''}acc;`,
  });
}

/** The simple path: 4×4 outputs per invocation, no workgroup memory (tiny problems, and CPU emulation). */
function simpleGemm(name: string, bx: string, by: string, bo: string, g: Gemm, caps: DeviceCaps): KernelSpec {
  // 4×4 outputs per invocation, indices clamped at the edges and stores guarded: on CPU emulation
  // (SwiftShader) per-invocation overhead dominates, and this was 4–5× faster than one output per invocation.
  const TI = Math.ceil(g.I / 4);
  const TJ = Math.ceil(g.J / 4);
  const rows = [0, 1, 2, 3];
  return threadKernel({
    name,
    caps,
    binds: [rd('X', bx), rd('Y', by), rw('O', bo)],
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

const partials = (c: GpuCtx<MatmulAttrs>, g: Gemm, k: 'fwd' | 'gA' | 'gB') => (gemmScratchBytes(g, c.caps, c.tiled) > 0 ? c.scratch(`partials_${k}`) : undefined);

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
  // Split-K partial sums, sized for the tiled choice (unbound scratch takes no memory).
  scratch(c, caps) {
    const p = plans(c.ins, c.attrs);
    return (['fwd', 'gA', 'gB'] as const).map((k) => ({ name: `partials_${k}`, bytes: gemmScratchBytes(p[k], caps, true) })).filter((s) => s.bytes > 0);
  },
  kernels: {
    forward(c) {
      const p = plans(c.ins, c.attrs);
      return gemmKernels(`${c.label}:fwd`, c.in[0], c.in[1], c.out[0], p.fwd, c.caps, c.tiled, partials(c, p.fwd, 'fwd'));
    },
    backward(c: GpuCtx<MatmulAttrs>) {
      const p = plans(c.ins, c.attrs);
      const ks: KernelSpec[] = [];
      if (c.gin[0]) ks.push(...gemmKernels(`${c.label}:dA`, c.gout[0]!, c.in[1], c.gin[0], p.gA, c.caps, c.tiled, partials(c, p.gA, 'gA')));
      if (c.gin[1]) ks.push(...gemmKernels(`${c.label}:dB`, c.in[0], c.gout[0]!, c.gin[1], p.gB, c.caps, c.tiled, partials(c, p.gB, 'gB')));
      return ks;
    },
  },
};

export function matmul(a: Tensor, b: Tensor, opts: Partial<MatmulAttrs> & { name?: string } = {}): Tensor {
  return a.graph.apply(matmulOp, [a, b], { transA: opts.transA ?? false, transB: opts.transB ?? false }, opts.name)[0];
}
