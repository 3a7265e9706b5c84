/**
 * The graph grammar of a design: which node types exist, which typed ports they carry,
 * and which connections are legal. Everything here is plain data so the editor (handles,
 * palette, isValidConnection), the lowering (designToSpec) and the tests read one source.
 *
 * Port types: `seq` is the residual stream [B, T, d_model]; the four Miras axis ports
 * (memory / bias / retention / learner) carry one catalog choice each, so a retention
 * gate can only plug into a retention port.
 */
import { z } from 'zod';
import { AXES, AXIS_LABEL, type Axis } from '../spec';

export type PortType = 'seq' | Axis;

export const PORT_LABEL: Record<PortType, string> = {
  seq: 'sequence stream [B, T, d]',
  ...AXIS_LABEL,
};

export interface PortDef {
  id: string;
  type: PortType;
  label: string;
}

/** Structure node types; the Miras axis nodes are `memory`, `bias`, `retention`, `learner`. */
export const STRUCTURE_TYPES = ['embedding', 'norm', 'mlp', 'residual', 'shortConv', 'attention', 'miras', 'head', 'stack'] as const;
export type StructureType = (typeof STRUCTURE_TYPES)[number];
export type NodeType = StructureType | Axis;

export function isAxisType(t: string): t is Axis {
  return (AXES as readonly string[]).includes(t);
}

const int = (min: number, max: number) => z.number().int().min(min).max(max);

/**
 * Parameter schemas of the structure nodes. Metadata (`unit`, `help`) feeds the inspector form,
 * the same way the Miras catalog's schemas do.
 */
export const STRUCTURE_PARAMS = {
  embedding: z.object({
    vocabSize: int(2, 1 << 20).default(256).meta({ help: 'Number of token ids V. Tasks set this from their tokenizer.', unit: 'tokens' }),
    dModel: int(8, 16384).default(128).meta({ help: 'Width d of the residual stream [B, T, d].', unit: 'channels' }),
  }),
  norm: z.object({
    kind: z.enum(['rmsnorm', 'layernorm']).default('rmsnorm').meta({ help: 'RMSNorm (Zhang & Sennrich 2019) or LayerNorm. One kind for the whole model.' }),
    eps: z.number().positive().max(1e-2).default(1e-5).meta({ help: 'ε added to the variance before the square root.' }),
  }),
  mlp: z.object({
    hidden: int(1, 65536).default(512).meta({ help: 'Hidden width of the SwiGLU MLP: W2 (silu(W1 x) ⊙ W3 x).', unit: 'channels' }),
  }),
  residual: z.object({}),
  shortConv: z.object({
    kernelSize: int(2, 8).default(4).meta({ help: 'Causal depthwise convolution with SiLU on q, k, v after their projections (as in fla).', unit: 'tokens' }),
  }),
  attention: z.object({
    heads: int(1, 64).default(4).meta({ help: 'Number of attention heads H.' }),
    headDim: int(1, 512).default(32).meta({ help: 'Head dimension d_h.', unit: 'channels' }),
    window: int(0, 1 << 20).default(0).meta({ help: 'Sliding window in tokens (the query sees itself and window−1 previous tokens). 0 = full causal attention.', unit: 'tokens' }),
  }),
  miras: z.object({
    heads: int(1, 64).default(4).meta({ help: 'Number of heads H; each head keeps its own memory.' }),
    headDimK: int(1, 512).default(32).meta({ help: 'Key and query head dimension d_k.', unit: 'channels' }),
    headDimV: int(1, 512).default(32).meta({ help: 'Value head dimension d_v.', unit: 'channels' }),
  }),
  head: z.object({
    tieEmbeddings: z.boolean().default(false).meta({ help: 'Reuse the embedding matrix as the output projection (weight tying).' }),
  }),
  stack: z.object({
    repeat: int(1, 256).default(2).meta({ help: 'How many times the layers inside are repeated, each copy with its own weights.', unit: '×' }),
  }),
} satisfies Record<StructureType, z.ZodObject>;

export interface NodeTypeDef {
  type: NodeType;
  title: string;
  /** One line for the palette. */
  summary: string;
  inputs: PortDef[];
  outputs: PortDef[];
}

const seqIn: PortDef = { id: 'in', type: 'seq', label: 'input' };
const seqOut: PortDef = { id: 'out', type: 'seq', label: 'output' };

export const STRUCTURE_DEFS: Record<StructureType, NodeTypeDef> = {
  embedding: { type: 'embedding', title: 'Embedding', summary: 'Token ids → [B, T, d]', inputs: [], outputs: [seqOut] },
  norm: { type: 'norm', title: 'Norm', summary: 'RMSNorm / LayerNorm over d', inputs: [seqIn], outputs: [seqOut] },
  mlp: { type: 'mlp', title: 'MLP', summary: 'SwiGLU feed-forward', inputs: [seqIn], outputs: [seqOut] },
  residual: {
    type: 'residual',
    title: 'Residual',
    summary: 'skip + branch',
    inputs: [
      { id: 'branch', type: 'seq', label: 'branch' },
      { id: 'skip', type: 'seq', label: 'skip' },
    ],
    outputs: [seqOut],
  },
  shortConv: { type: 'shortConv', title: 'Short conv', summary: 'Causal depthwise conv + SiLU on q, k, v', inputs: [seqIn], outputs: [seqOut] },
  attention: { type: 'attention', title: 'Attention', summary: 'Causal softmax attention, optional window', inputs: [seqIn], outputs: [seqOut] },
  miras: {
    type: 'miras',
    title: 'Miras block',
    summary: 'Memory + bias + retention + learner',
    inputs: [seqIn, ...AXES.map((a) => ({ id: a, type: a, label: AXIS_LABEL[a] }))],
    outputs: [seqOut],
  },
  head: { type: 'head', title: 'Output head', summary: '[B, T, d] → logits [B, T, V]', inputs: [seqIn], outputs: [] },
  stack: { type: 'stack', title: 'Stack ×N', summary: 'Repeat the layers inside N times', inputs: [], outputs: [] },
};

export function axisDef(axis: Axis): NodeTypeDef {
  return {
    type: axis,
    title: AXIS_LABEL[axis],
    summary: `one ${AXIS_LABEL[axis]} choice`,
    inputs: [],
    outputs: [{ id: 'out', type: axis, label: AXIS_LABEL[axis] }],
  };
}

export function nodeTypeDef(type: string): NodeTypeDef | undefined {
  if (isAxisType(type)) return axisDef(type);
  return (STRUCTURE_DEFS as Record<string, NodeTypeDef>)[type];
}

export function portOf(type: string, side: 'in' | 'out', handle: string | null | undefined): PortDef | undefined {
  const def = nodeTypeDef(type);
  if (!def) return undefined;
  const ports = side === 'in' ? def.inputs : def.outputs;
  if (handle == null) return ports.length === 1 ? ports[0] : undefined;
  return ports.find((p) => p.id === handle);
}

/** Minimal view of a graph that connection checks need (works on design docs and React Flow state). */
export interface GraphView {
  nodes: { id: string; type: string }[];
  edges: { source: string; target: string; sourceHandle?: string | null; targetHandle?: string | null }[];
}

export interface ConnectionAttempt {
  source: string;
  sourceHandle?: string | null;
  target: string;
  targetHandle?: string | null;
}

/** True if `from` can reach `to` along edges (so adding to→from would close a cycle). */
export function reaches(graph: GraphView, from: string, to: string): boolean {
  const out = new Map<string, string[]>();
  for (const e of graph.edges) out.set(e.source, [...(out.get(e.source) ?? []), e.target]);
  const seen = new Set<string>();
  const stack = [from];
  while (stack.length) {
    const n = stack.pop()!;
    if (n === to) return true;
    if (seen.has(n)) continue;
    seen.add(n);
    stack.push(...(out.get(n) ?? []));
  }
  return false;
}

/**
 * Why a connection is not allowed, in words; null when it is. This is the grammar:
 * port types must match, an input takes one edge, and the graph stays acyclic.
 * With `replace`, a connection into a taken input is allowed (the editor swaps the old edge out).
 */
export function connectionError(graph: GraphView, c: ConnectionAttempt, opts: { replace?: boolean } = {}): string | null {
  const src = graph.nodes.find((n) => n.id === c.source);
  const dst = graph.nodes.find((n) => n.id === c.target);
  if (!src || !dst) return 'One end of this connection is not on the canvas.';
  if (src.id === dst.id) return 'A node cannot feed itself.';
  const out = portOf(src.type, 'out', c.sourceHandle);
  const inp = portOf(dst.type, 'in', c.targetHandle);
  if (!out) return `${nodeTypeDef(src.type)?.title ?? src.type} has no output "${c.sourceHandle ?? ''}".`;
  if (!inp) return `${nodeTypeDef(dst.type)?.title ?? dst.type} has no input "${c.targetHandle ?? ''}".`;
  if (out.type !== inp.type) {
    return `A ${PORT_LABEL[out.type]} cannot plug into the ${inp.label} port, which takes a ${PORT_LABEL[inp.type]}.`;
  }
  const taken = graph.edges.some((e) => e.target === dst.id && (e.targetHandle ?? portOf(dst.type, 'in', null)?.id) === inp.id);
  if (taken && !opts.replace) return `The ${inp.label} port of ${nodeTypeDef(dst.type)?.title ?? dst.type} is already connected; remove that edge first.`;
  if (reaches(graph, dst.id, src.id)) return 'This connection would create a cycle; a model is a directed acyclic graph.';
  return null;
}
