/**
 * ModelSpec: the engine's model description, the single contract between
 * the editor (which lowers its graph to it), the presets, the CLI and the compiler.
 *
 * A model is: token embedding → N layers of
 *   [pre-norm → mixer → residual → pre-norm → MLP → residual] → final norm → LM head.
 *
 * Mixers are either softmax attention (non-parametric memory) or a Miras block whose
 * four axes (memory architecture, attentional bias, retention gate, learning algorithm)
 * are catalog entries: `kind` names the entry and `params` are validated by that
 * entry's zod schema (engine/miras/catalog). Block-level options (projections, short
 * conv, q/k normalisation, gates, output norm...) live in `block`, also catalog-validated.
 */
import { z } from 'zod';

export const AXES = ['memory', 'bias', 'retention', 'learner'] as const;
export type Axis = (typeof AXES)[number];

/** Human names for the four Miras axes, used by errors, the editor and docs. */
export const AXIS_LABEL: Record<Axis, string> = {
  memory: 'memory architecture',
  bias: 'attentional bias',
  retention: 'retention gate',
  learner: 'learning algorithm',
};

const paramValue = z.union([z.number(), z.string(), z.boolean()]);
export const ParamsSchema = z.record(z.string(), paramValue);
export type Params = z.infer<typeof ParamsSchema>;

export const AxisChoiceSchema = z.object({
  kind: z.string().min(1),
  params: ParamsSchema.default({}),
});
export type AxisChoice = z.infer<typeof AxisChoiceSchema>;

const positiveInt = (max: number) => z.number().int().min(1).max(max);

export const AttentionMixerSchema = z.object({
  type: z.literal('attention'),
  heads: positiveInt(64),
  headDim: positiveInt(512),
  /** Sliding window length in tokens (the query sees itself and window-1 previous tokens); null = full causal. */
  window: z.number().int().min(1).nullable().default(null),
});
export type AttentionMixer = z.infer<typeof AttentionMixerSchema>;

export const MirasMixerSchema = z.object({
  type: z.literal('miras'),
  heads: positiveInt(64),
  /** Key (and query) head dimension d_k. */
  headDimK: positiveInt(512),
  /** Value head dimension d_v. */
  headDimV: positiveInt(512),
  memory: AxisChoiceSchema,
  bias: AxisChoiceSchema,
  retention: AxisChoiceSchema,
  learner: AxisChoiceSchema,
  /** Block-level options (short conv, qk-norm, feature map, gate activations, output norm/gate, D skip...). */
  block: ParamsSchema.default({}),
});
export type MirasMixer = z.infer<typeof MirasMixerSchema>;

export const MixerSchema = z.discriminatedUnion('type', [AttentionMixerSchema, MirasMixerSchema]);
export type Mixer = z.infer<typeof MixerSchema>;

export const MlpSchema = z.object({
  type: z.literal('swiglu'),
  /** Hidden width of the SwiGLU MLP. */
  hidden: positiveInt(65536),
});
export type Mlp = z.infer<typeof MlpSchema>;

export const LayerSchema = z.object({
  mixer: MixerSchema,
  /** null = no MLP in this layer (e.g. Zoology's MQAR setting). */
  mlp: MlpSchema.nullable(),
});
export type Layer = z.infer<typeof LayerSchema>;

export const ModelSpecSchema = z.object({
  vocabSize: positiveInt(1 << 20),
  dModel: positiveInt(16384),
  norm: z.enum(['rmsnorm', 'layernorm']).default('rmsnorm'),
  normEps: z.number().positive().max(1e-2).default(1e-5),
  tieEmbeddings: z.boolean().default(false),
  layers: z.array(LayerSchema).min(1).max(256),
});
export type ModelSpec = z.infer<typeof ModelSpecSchema>;

/** A named, documented model: what `npm run miras -- presets` lists and the editor's gallery loads. */
export interface Preset {
  name: string;
  title: string;
  /** One paragraph: what it is and where it comes from. */
  description: string;
  /** Citation, e.g. "Yang et al. 2024, Parallelizing Linear Transformers with the Delta Rule (arXiv 2406.06484)". */
  citation: string;
  /** Build the spec for a vocabulary and width (presets are defined at any size). */
  build(opts: { vocabSize: number; dModel: number; nLayers: number }): ModelSpec;
}
