/**
 * Mixer builders by ModelSpec mixer type. `attention` is built here; `miras` is helper B's block
 * builder (engine/miras/block.ts), which calls the scan slot (engine/ir/scan.ts) through the
 * provider registry. Another builder can replace either with `registerMixerBuilder` without
 * editing this file. An unknown mixer type is an error, never a silent fallback.
 */
import type { Tensor } from '../ir/graph';
import { attention, matmul } from '../ops';
import type { AttentionMixer, Mixer, MirasMixer, ModelSpec } from '../spec';
import { buildMirasMixer } from '../miras/block';
// Registers the fused recurrent Miras scan kernels as scan providers.
import '../miras/recurrent/provider';
// Registers the chunk-parallel scans (helper C), which choose between chunked and recurrent by shape.
import '../miras/chunk/provider';
// Registers the deep MLP memory scan (helper M).
import '../miras/mlp/provider';

export interface MixerContext {
  spec: ModelSpec;
  layer: number;
  nLayers: number;
  normEps: number;
}

/** Builds the mixer of one layer: x [B, T, dModel] → [B, T, dModel], inside the caller's scope ("layers.i.mixer"). */
export type MixerBuilder<M extends Mixer = Mixer> = (x: Tensor, mixer: M, ctx: MixerContext) => Tensor;

// One map for all mixer types; registerMixerBuilder keeps each builder paired with its type.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const builders = new Map<string, MixerBuilder<any>>();

export function registerMixerBuilder<T extends Mixer['type']>(type: T, builder: MixerBuilder<Extract<Mixer, { type: T }>>): void {
  builders.set(type, builder);
}

export function mixerBuilder(type: string): MixerBuilder {
  const b = builders.get(type);
  if (!b) throw new Error(`no builder for mixer type "${type}" (known: ${[...builders.keys()].join(', ')})`);
  return b;
}

export const linearInit = (fanIn: number) => ({ kind: 'normal', std: 1 / Math.sqrt(fanIn) }) as const;

/** Causal softmax attention (optionally sliding-window): q, k, v, o projections, no biases (Llama style). */
export function buildAttention(x: Tensor, m: AttentionMixer, ctx: MixerContext): Tensor {
  const g = x.graph;
  const d = x.shape[2];
  const width = m.heads * m.headDim;
  const proj = (name: string, inp: Tensor, n: number) => matmul(inp, g.param(name, [inp.shape[2], n], linearInit(inp.shape[2])), { name });
  const q = proj('q', x, width);
  const k = proj('k', x, width);
  const v = proj('v', x, width);
  const o = attention(q, k, v, { heads: m.heads, window: m.window }, 'attention');
  // Output projection scaled down with depth (GPT-2 §2.3 residual scaling).
  return matmul(o, g.param('o', [width, d], { kind: 'normal', std: 1 / Math.sqrt(width * 2 * ctx.nLayers) }), { name: 'o' });
}

registerMixerBuilder('attention', buildAttention);
registerMixerBuilder('miras', (x: Tensor, m: MirasMixer, ctx: MixerContext) => buildMirasMixer(x, m, ctx));
