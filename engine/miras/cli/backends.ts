/**
 * The two backends of `scan` and `check`: the float64 reference (engine/miras/reference) and the
 * fused WebGPU kernel (engine/miras/recurrent, helper B2; the engine's attention op for the softmax-attention
 * memory, engine/miras/attention.ts), driven with the SAME semantics: the
 * kernel's options (where the gradient is taken, the query scale, whether β is read) come from the
 * catalog combination, so both run the recurrence the catalog describes.
 */
import type { ScanProvider, ScanShape } from '../../ir/scan';
import { capsFromDescription, type AdapterDescription } from '../../gpu/describe';
import type { Combo } from '../catalog';
import { referenceScan, referenceScanGrad, type ScanArrays } from '../reference';
import { recurrentProvider } from '../recurrent/provider';
import { attentionMemoryProvider } from '../attention';
import { recurrentUnsupported } from '../math/combo';
import { mlpUnsupported } from '../mlp/program';
import { mlpProvider } from '../mlp/provider';
import { runScanKernels } from '../recurrent/run';
import { chunkProvider } from '../chunk/provider';
import type { ChunkPrecision } from '../chunk/wgsl';
import { checkScanInputs } from '../validate';

export interface ScanResult {
  o: Float64Array;
  finalState: Float64Array;
  /** d<name> for every input, with --grad. */
  grads?: ScanArrays;
}

/** Why the fused kernel cannot run this combination (null: it can); the kernel follows the reference's semantics. */
export function fusedKernelGap(c: Combo): string | null {
  if (c.memory.kind === 'attention') return null;
  if (c.memory.kind === 'mlp') {
    const gap = mlpUnsupported(c);
    return gap ? `the MLP memory kernel does not support ${gap}` : null;
  }
  const why = recurrentUnsupported(c);
  return why ? `the fused recurrent kernel does not support ${why}` : null;
}

/** The fused kernel provider for a combination at this shape. */
export function fusedProvider(c: Combo, s: ScanShape): ScanProvider {
  const gap = fusedKernelGap(c);
  if (gap) throw new Error(gap);
  if (c.memory.kind === 'attention') return attentionMemoryProvider(c);
  if (c.memory.kind === 'mlp') return mlpProvider({ type: 'miras', heads: s.heads, headDimK: s.dk, headDimV: s.dv, memory: c.memory, bias: c.bias, retention: c.retention, learner: c.learner, block: c.block });
  return recurrentProvider({ type: 'miras', heads: s.heads, headDimK: s.dk, headDimV: s.dv, memory: c.memory, bias: c.bias, retention: c.retention, learner: c.learner, block: c.block });
}

export function runReference(c: Combo, s: ScanShape, inputs: ScanArrays, dOut?: { o: Float64Array; finalState?: Float64Array }): ScanResult {
  checkScanInputs(c, s, inputs);
  if (!dOut) return referenceScan(c, s, inputs);
  const r = referenceScanGrad(c, s, inputs, dOut);
  return { o: r.o, finalState: r.finalState, grads: r.grads };
}

export async function runWebgpu(
  device: GPUDevice,
  description: AdapterDescription,
  c: Combo,
  s: ScanShape,
  inputs: ScanArrays,
  dOut?: { o: Float64Array; finalState?: Float64Array },
  opts: { precision?: ChunkPrecision } = {},
): Promise<ScanResult> {
  checkScanInputs(c, s, inputs);
  // precision 'f16' is a mode of the chunk kernels (engine/miras/chunk): it runs them, or fails saying why
  const provider = opts.precision === 'f16'
    ? chunkProvider({ type: 'miras', heads: s.heads, headDimK: s.dk, headDimV: s.dv, memory: c.memory, bias: c.bias, retention: c.retention, learner: c.learner, block: c.block }, { precision: 'f16', form: 'chunked' })
    : fusedProvider(c, s);
  const decls = { inputs: provider.inputs(s), outputs: provider.outputs(s) };
  const extra = Object.keys(inputs).filter((n) => !decls.inputs.some((d) => d.name === n) && !(n === 'beta' && inputs.beta.every((x) => x === 1)));
  if (extra.length) throw new Error(`the WebGPU kernel for ${provider.id} does not read ${extra.join(', ')}`);
  const feed: Record<string, ArrayLike<number>> = { ...inputs };
  if (inputs.initialState) {
    // The kernel takes one initial state per head, shared across the batch ([H, size]).
    const per = inputs.initialState.length / s.batch;
    const first = inputs.initialState.subarray(0, per);
    for (let b = 1; b < s.batch; b++) {
      if (inputs.initialState.subarray(b * per, (b + 1) * per).some((x, i) => x !== first[i])) {
        throw new Error('the WebGPU kernel takes one initial state per head shared across the batch; initialState differs between batch rows');
      }
    }
    feed.initialState = first;
  }
  // A dot-product combination without a beta tensor writes with strength 1.
  if (!feed.beta && decls.inputs.some((d) => d.name === 'beta')) feed.beta = new Float64Array(decls.inputs.find((d) => d.name === 'beta')!.shape.reduce((a, b) => a * b, 1)).fill(1);
  const kernels = provider.kernels(capsFromDescription(description), s);
  const r = await runScanKernels(device, kernels, decls, feed, dOut ? { o: dOut.o, ...(dOut.finalState ? { finalState: dOut.finalState } : {}) } : undefined);
  const out: ScanResult = { o: Float64Array.from(r.o), finalState: Float64Array.from(r.finalState) };
  if (r.grads) {
    out.grads = {};
    for (const name of Object.keys(inputs)) out.grads[name] = r.grads[name] ? Float64Array.from(r.grads[name]) : new Float64Array(inputs[name].length);
  }
  return out;
}
