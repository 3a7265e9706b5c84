/**
 * THE SCAN SLOT: the engine's "scan primitive" op, which the Miras kernels fill.
 *
 * A ScanProvider is one recurrence (linear attention, DeltaNet, a Miras catalog combination...)
 * packaged as: its tensors in fla layout, a float64 reference forward/backward, and WGSL kernel
 * lists for forward and backward. The engine wraps any provider as an IR op (`scan(...)`), so
 * the reference backend, the WebGPU runtime, gradient checks and the planner treat it like any
 * other op. Linear attention (engine/ops/linear-scan.ts) is the first provider.
 *
 * Layout (fla): inputs [B, T, H, D] row-major (q, k: D = dk; v: D = dv; per-head gates
 * [B, T, H] or per-channel gates [B, T, H, dk]); outputs `o` [B, T, H, dv] and `finalState`
 * [B, H, dk, dv] (fla's S form, o_t = S_tᵀ q_t). f32 on the GPU, float64 in references.
 * Tensors whose element count matches are accepted (e.g. [B, T, H*D]).
 *
 * BUFFER NAMING CONVENTION for provider kernels (KernelSpec.bindings[].buffer):
 *   - an input by its declared name:            "q", "k", "v", "beta", ...
 *   - an output by its declared name:           "o", "finalState"
 *   - the gradient of any input or output:      "grad.<name>", e.g. "grad.q", "grad.o"
 *   - a scratch buffer by its declared name:    "scratch.<name>" (declared in `scratch`, sized in bytes)
 * The engine renames these to plan buffers. Forward kernels write outputs with `=`.
 * Backward kernels must ADD into grad.<input> (`+=`): those buffers arrive zeroed or already
 * holding other consumers' contributions. grad.o and grad.finalState are always bound
 * (grad.finalState is zero when nothing downstream uses the final state). Scratch written in
 * forward stays alive until this op's backward has run (saved activations, chunk states...).
 * Every binding must be used by the kernel's WGSL (pipelines use layout 'auto', which drops unused ones).
 * Kernels must work within DEFAULT_CAPS (engine/plan/kernel.ts) and may use more when caps offer it.
 */
import type { DeviceCaps, KernelSpec, ScratchBuffer } from '../plan/kernel';
import type { MirasMixer } from '../spec';
import { numel, shapeStr, type Tensor } from './graph';
import type { OpDef } from './op';

export interface ScanShape {
  batch: number;
  time: number;
  heads: number;
  /** Key/query head dimension. */
  dk: number;
  /** Value head dimension. */
  dv: number;
}

export interface ScanTensorDecl {
  name: string;
  shape: number[];
}

export interface ScanKernels {
  forward: KernelSpec[];
  backward: KernelSpec[];
  scratch: ScratchBuffer[];
}

export interface ScanProvider {
  /** Stable id shown in kernel names and errors, e.g. "linear-attention" or "miras:matrix/l2/decay/gd". */
  id: string;
  /** Inputs in call order; the first three are conventionally q, k, v. */
  inputs(shape: ScanShape): ScanTensorDecl[];
  /** Outputs: "o" first, then "finalState". */
  outputs(shape: ScanShape): ScanTensorDecl[];
  referenceForward(inputs: Record<string, Float64Array>, shape: ScanShape): Record<string, Float64Array>;
  /** Gradients for every input, given grads of the outputs (grad of "finalState" may be all zeros). */
  referenceBackward(
    inputs: Record<string, Float64Array>,
    gradOutputs: Record<string, Float64Array>,
    shape: ScanShape,
  ): Record<string, Float64Array>;
  kernels(caps: DeviceCaps, shape: ScanShape): ScanKernels;
}

// ---------------------------------------------------------------------------------------------
// Registry: B's Miras providers register here; the model builder asks `findScanProvider`.

type ScanMatch = (mixer: MirasMixer) => boolean;
type ScanFactory = (mixer: MirasMixer) => ScanProvider;
const providers: { id: string; match: ScanMatch; factory: ScanFactory }[] = [];

/** Later registrations win, so a fused Miras provider overrides the engine's default for the same mixer. */
export function registerScanProvider(id: string, match: ScanMatch, factory: ScanFactory): void {
  const i = providers.findIndex((p) => p.id === id);
  if (i >= 0) providers.splice(i, 1);
  providers.unshift({ id, match, factory });
}

export function findScanProvider(mixer: MirasMixer): ScanProvider | null {
  const p = providers.find((q) => q.match(mixer));
  return p ? p.factory(mixer) : null;
}

export function listScanProviders(): string[] {
  return providers.map((p) => p.id);
}

// ---------------------------------------------------------------------------------------------
// The IR op wrapping a provider.

export interface ScanAttrs {
  provider: ScanProvider;
  shape: ScanShape;
}

function declsOf(a: ScanAttrs) {
  return { ins: a.provider.inputs(a.shape), outs: a.provider.outputs(a.shape) };
}

function toRecord(decls: ScanTensorDecl[], xs: Float64Array[]): Record<string, Float64Array> {
  const r: Record<string, Float64Array> = {};
  decls.forEach((d, i) => (r[d.name] = xs[i]));
  return r;
}

export const scanOp: OpDef<ScanAttrs> = {
  name: 'scan',
  infer(ins, a) {
    const { ins: want, outs } = declsOf(a);
    if (ins.length !== want.length) {
      throw new Error(`${a.provider.id} takes ${want.length} inputs (${want.map((w) => w.name).join(', ')}), got ${ins.length}`);
    }
    ins.forEach((t, i) => {
      if (t.dtype !== 'f32') throw new Error(`${a.provider.id}: input ${want[i].name} must be f32`);
      if (numel(t.shape) !== numel(want[i].shape) || t.shape[0] !== want[i].shape[0]) {
        throw new Error(`${a.provider.id}: input ${want[i].name} has shape ${shapeStr(t.shape)}, expected ${shapeStr(want[i].shape)} (fla layout [B, T, H, D])`);
      }
    });
    return outs.map((o) => ({ shape: o.shape, dtype: 'f32' as const }));
  },
  forward(x, c) {
    const { ins, outs } = declsOf(c.attrs);
    const r = c.attrs.provider.referenceForward(toRecord(ins, x), c.attrs.shape);
    return outs.map((o) => {
      if (!r[o.name]) throw new Error(`${c.attrs.provider.id}: referenceForward did not return "${o.name}"`);
      return r[o.name];
    });
  },
  backward(x, _y, gy, c) {
    const { ins, outs } = declsOf(c.attrs);
    const g: Record<string, Float64Array> = {};
    outs.forEach((o, i) => (g[o.name] = gy[i] ?? new Float64Array(numel(o.shape))));
    const r = c.attrs.provider.referenceBackward(toRecord(ins, x), g, c.attrs.shape);
    return ins.map((d) => {
      if (!r[d.name]) throw new Error(`${c.attrs.provider.id}: referenceBackward did not return a gradient for "${d.name}"`);
      return r[d.name];
    });
  },
  scratch: (c, caps) => kernelsFor(c.attrs, caps).scratch,
  kernels: {
    forward: (c) => renameAll(c, kernelsFor(c.attrs, c.caps).forward),
    backward: (c) => renameAll(c, kernelsFor(c.attrs, c.caps).backward),
  },
};

/** Providers generate their kernels once per (node, caps). */
const kernelCache = new WeakMap<ScanAttrs, Map<DeviceCaps, ScanKernels>>();
function kernelsFor(a: ScanAttrs, caps: DeviceCaps): ScanKernels {
  let m = kernelCache.get(a);
  if (!m) kernelCache.set(a, (m = new Map()));
  let k = m.get(caps);
  if (!k) m.set(caps, (k = a.provider.kernels(caps, a.shape)));
  return k;
}

function renameAll(c: Parameters<OpDef<ScanAttrs>['kernels']['forward']>[0], ks: KernelSpec[]): KernelSpec[] {
  const { ins, outs } = declsOf(c.attrs);
  const map = new Map<string, string>();
  ins.forEach((d, i) => {
    map.set(d.name, c.in[i]);
    if (c.gin[i]) map.set(`grad.${d.name}`, c.gin[i]!);
  });
  outs.forEach((d, i) => {
    map.set(d.name, c.out[i]);
    if (c.gout[i]) map.set(`grad.${d.name}`, c.gout[i]!);
  });
  for (const s of kernelsFor(c.attrs, c.caps).scratch) map.set(`scratch.${s.name}`, c.scratch(s.name));
  return ks.map((k) => ({
    ...k,
    name: `${c.label}:${k.name}`,
    bindings: k.bindings.map((b) => {
      const to = map.get(b.buffer);
      if (!to) {
        throw new Error(`${c.attrs.provider.id} kernel ${k.name} binds unknown buffer "${b.buffer}" (see the naming convention in engine/ir/scan.ts)`);
      }
      return { ...b, buffer: to };
    }),
  }));
}

/** Apply a scan provider to tensors (in the provider's input order). Returns { o, finalState }. */
export function scan(provider: ScanProvider, shape: ScanShape, inputs: Tensor[], name = provider.id): { o: Tensor; finalState: Tensor } {
  if (inputs.length === 0) throw new Error('scan needs inputs');
  const [o, finalState] = inputs[0].graph.apply(scanOp, inputs, { provider, shape }, name);
  return { o, finalState };
}
