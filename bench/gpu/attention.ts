/**
 * The softmax-attention mixer as the engine compiles it (engine/ops/attention.ts → the blocked kernels of
 * engine/ops/attention-flash.ts on real GPUs), driven directly over named buffers for bench/scan-attention.ts:
 * its kernel lists, a device check against the op's float64 reference, and the useful FLOPs and bytes of
 * causal or windowed attention for the roofline.
 */
import { attentionOp, type AttentionAttrs } from '../../engine/ops/attention';
import type { GpuCtx } from '../../engine/ir/op';
import type { DeviceCaps, KernelSpec } from '../../engine/plan/kernel';
import { getPreset } from '../../engine/presets';
import { prepare, readF32, runKernels, uploadF32, zerosF32 } from '../../engine/miras/chunk/exec';

export interface AttentionShape {
  B: number;
  T: number;
  H: number;
  D: number;
  Dv: number;
  /** Sliding window (the query and window − 1 earlier keys); null = full causal. */
  window: number | null;
}

/** The preset mixers this benchmark times: every softmax-attention layer of the registry's presets, by window. */
export function attentionPresetWindows(): { preset: string; window: number | null; headDim: number }[] {
  const rows: { preset: string; window: number | null; headDim: number }[] = [];
  for (const preset of ['transformer', 'sliding-window-attention', 'gated-deltanet-swa-hybrid']) {
    const spec = getPreset(preset).build({ vocabSize: 256, dModel: 256, nLayers: 2 });
    const seen = new Set<string>();
    for (const l of spec.layers) {
      if (l.mixer.type !== 'attention') continue;
      const key = String(l.mixer.window);
      if (!seen.has(key)) rows.push({ preset, window: l.mixer.window, headDim: l.mixer.headDim });
      seen.add(key);
    }
    if (!seen.size) throw new Error(`preset ${preset} has no softmax-attention layer`);
  }
  return rows;
}

/** Visible (query, key) pairs per batch × head: Σ_t min(t + 1, W). */
export function visiblePairs(T: number, window: number | null): number {
  const W = Math.min(window ?? T, T);
  // t < W sees t + 1 keys; t ≥ W sees W
  return (W * (W + 1)) / 2 + (T - W) * W;
}

/**
 * Useful FLOPs (multiply and add counted as 2) and the fewest bytes each direction must move.
 * Forward: S = QKᵀ (2D per pair), O = PV (2Dv). Backward (FlashAttention-2): S again (2D), dP = dO Vᵀ (2Dv),
 * dV = Pᵀ dO (2Dv), dQ = dS K (2D), dK = dSᵀ Q (2D). The engine's dQ and dK/dV kernels each recompute S and dP,
 * so they execute 2D + 2Dv per pair more (`bwdExecuted`); the roofline counts only the useful work.
 * Exponentials are not counted.
 */
export function attentionCost(s: AttentionShape) {
  const pairs = s.B * s.H * visiblePairs(s.T, s.window);
  const rows = s.B * s.T * s.H;
  return {
    pairs,
    fwdFlops: pairs * (2 * s.D + 2 * s.Dv),
    bwdFlops: pairs * (6 * s.D + 4 * s.Dv),
    bwdExecuted: pairs * (8 * s.D + 6 * s.Dv),
    // q, k, v in; o, lse out
    fwdBytes: 4 * rows * (2 * s.D + 2 * s.Dv + 1),
    // q, k, v, o, do, lse in; dq, dk, dv out
    bwdBytes: 4 * rows * (4 * s.D + 4 * s.Dv + 1),
  };
}

const GIN = ['grad.q', 'grad.k', 'grad.v'];

/** The op's forward and backward kernels over buffers named q, k, v, o, lse, grad.* and scratch.delta. */
export function attentionKernels(s: AttentionShape, caps: DeviceCaps, tiled: boolean): { forward: KernelSpec[]; backward: KernelSpec[]; scratch: { name: string; bytes: number }[] } {
  const attrs: AttentionAttrs = { heads: s.H, window: s.window };
  const ins = [
    { shape: [s.B, s.T, s.H * s.D], dtype: 'f32' as const },
    { shape: [s.B, s.T, s.H * s.D], dtype: 'f32' as const },
    { shape: [s.B, s.T, s.H * s.Dv], dtype: 'f32' as const },
  ];
  const outs = attentionOp.infer(ins, attrs);
  const c: GpuCtx<AttentionAttrs> = {
    attrs, ins, outs, caps, tiled,
    label: `attention[W=${s.window ?? 'causal'}]`,
    in: ['q', 'k', 'v'],
    out: ['o', 'lse'],
    gin: GIN,
    gout: ['grad.o', 'grad.lse'],
    scratch: (n) => `scratch.${n}`,
  };
  const scratch = (attentionOp.scratch?.({ attrs, ins, outs }, caps) ?? []).map((b) => ({ name: `scratch.${b.name}`, bytes: b.bytes }));
  return { forward: attentionOp.kernels.forward(c), backward: attentionOp.kernels.backward(c), scratch };
}

/** Device buffers for the kernels: the given inputs and upstream gradient, zeroed outputs, gradients and scratch. */
export function attentionBuffers(device: GPUDevice, s: AttentionShape, x: { q: ArrayLike<number>; k: ArrayLike<number>; v: ArrayLike<number>; do: ArrayLike<number> }, scratch: { name: string; bytes: number }[]) {
  const rows = s.B * s.T * s.H;
  const bufs: Record<string, GPUBuffer> = {
    q: uploadF32(device, x.q),
    k: uploadF32(device, x.k),
    v: uploadF32(device, x.v),
    'grad.o': uploadF32(device, x.do),
    o: zerosF32(device, rows * s.Dv),
    lse: zerosF32(device, rows),
    'grad.lse': zerosF32(device, rows),
    'grad.q': zerosF32(device, rows * s.D),
    'grad.k': zerosF32(device, rows * s.D),
    'grad.v': zerosF32(device, rows * s.Dv),
  };
  for (const sc of scratch) bufs[sc.name] = zerosF32(device, sc.bytes / 4);
  return bufs;
}

/** Deterministic inputs in [−1, 1) (a 32-bit LCG, so the benchmark needs nothing else). */
export function attentionInputs(s: AttentionShape, seed: number) {
  let st = seed >>> 0 || 1;
  const next = () => ((st = (Math.imul(st, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  const rows = s.B * s.T * s.H;
  const gen = (n: number) => Float64Array.from({ length: n }, next);
  return { q: gen(rows * s.D), k: gen(rows * s.D), v: gen(rows * s.Dv), do: gen(rows * s.Dv) };
}

/** Largest |a − b| over max |b| (NaN counts as infinite). */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>) {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    num = Number.isNaN(d) ? Infinity : Math.max(num, d);
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / (den || 1);
}

/**
 * Runs the kernels the timing uses (same caps, same tiling) on a small shape and compares o, lse and
 * dq, dk, dv with the op's float64 reference (attentionOp.forward/backward). Returns the relative errors.
 */
export async function checkAttention(device: GPUDevice, s: AttentionShape, caps: DeviceCaps, tiled: boolean, seed = 3): Promise<Record<string, number>> {
  const x = attentionInputs(s, seed);
  const plan = attentionKernels(s, caps, tiled);
  const bufs = attentionBuffers(device, s, x, plan.scratch);
  try {
    await runKernels(device, [...plan.forward, ...plan.backward], bufs);
    const attrs = { heads: s.H, window: s.window };
    const ins = [
      { shape: [s.B, s.T, s.H * s.D], dtype: 'f32' as const },
      { shape: [s.B, s.T, s.H * s.D], dtype: 'f32' as const },
      { shape: [s.B, s.T, s.H * s.Dv], dtype: 'f32' as const },
    ];
    const ctx = { attrs, ins, outs: attentionOp.infer(ins, attrs) };
    // The float64 reference sees the same f32-rounded inputs as the GPU.
    const r = (a: Float64Array) => Float64Array.from(Float32Array.from(a));
    const xs = [r(x.q), r(x.k), r(x.v)];
    const [o, lse] = attentionOp.forward(xs, ctx);
    const [gq, gk, gv] = attentionOp.backward(xs, [o, lse], [r(x.do), null], ctx);
    const rows = s.B * s.T * s.H;
    return {
      o: relErr(await readF32(device, bufs.o, o.length), o),
      lse: relErr(await readF32(device, bufs.lse, rows), lse),
      dq: relErr(await readF32(device, bufs['grad.q'], gq!.length), gq!),
      dk: relErr(await readF32(device, bufs['grad.k'], gk!.length), gk!),
      dv: relErr(await readF32(device, bufs['grad.v'], gv!.length), gv!),
    };
  } finally {
    for (const b of Object.values(bufs)) b.destroy();
  }
}

/** Prepared dispatches of a shape's kernels, with the buffers to free afterwards. */
export function attentionDispatches(device: GPUDevice, s: AttentionShape, caps: DeviceCaps, tiled: boolean, seed = 5) {
  const plan = attentionKernels(s, caps, tiled);
  const bufs = attentionBuffers(device, s, attentionInputs(s, seed), plan.scratch);
  return {
    forward: prepare(device, plan.forward, bufs),
    backward: prepare(device, plan.backward, bufs),
    kernels: [...plan.forward, ...plan.backward].map((k) => k.name),
    destroy: () => Object.values(bufs).forEach((b) => b.destroy()),
  };
}
