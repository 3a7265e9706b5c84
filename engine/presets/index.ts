/**
 * The preset registry: what `npm run miras -- presets` lists and the editor's gallery loads.
 * Attention baselines live here; the Miras presets (linear attention, RetNet, GLA, DeltaNet...)
 * live in ./miras.ts (helper B) and join the registry with the one import below.
 */
import type { Layer, ModelSpec, Preset } from '../spec';
import { MIRAS_PRESETS, splitHeads, swigluHidden } from './miras';

function attentionLayers(dModel: number, nLayers: number, window: number | null): Layer[] {
  const { heads, dim } = splitHeads(dModel, 64);
  return Array.from({ length: nLayers }, () => ({
    mixer: { type: 'attention' as const, heads, headDim: dim, window },
    mlp: { type: 'swiglu' as const, hidden: swigluHidden(dModel) },
  }));
}

const spec = (vocabSize: number, dModel: number, layers: Layer[]): ModelSpec => ({
  vocabSize,
  dModel,
  norm: 'rmsnorm',
  normEps: 1e-5,
  tieEmbeddings: false,
  layers,
});

export const ATTENTION_PRESETS: Preset[] = [
  {
    name: 'transformer',
    title: 'Transformer (Llama-style)',
    description:
      'Causal softmax attention with pre-RMSNorm, SwiGLU MLPs and an untied LM head: the quadratic-time baseline every linear-time design is compared against.',
    citation: 'Vaswani et al. 2017, Attention Is All You Need (arXiv 1706.03762); Touvron et al. 2023, LLaMA (arXiv 2302.13971)',
    build: ({ vocabSize, dModel, nLayers }) => spec(vocabSize, dModel, attentionLayers(dModel, nLayers, null)),
  },
  {
    name: 'sliding-window-attention',
    title: 'Sliding-window attention',
    description:
      'The transformer with each query restricted to itself and the previous 63 tokens (a window of 64): constant memory per token, exact recall only inside the window.',
    citation: 'Beltagy et al. 2020, Longformer (arXiv 2004.05150); Jiang et al. 2023, Mistral 7B (arXiv 2310.06825)',
    build: ({ vocabSize, dModel, nLayers }) => spec(vocabSize, dModel, attentionLayers(dModel, nLayers, 64)),
  },
];

export const PRESETS: Preset[] = [...ATTENTION_PRESETS, ...MIRAS_PRESETS];

export function getPreset(name: string): Preset {
  const p = PRESETS.find((q) => q.name === name);
  if (!p) throw new Error(`unknown preset "${name}" (known: ${PRESETS.map((q) => q.name).join(', ')})`);
  return p;
}
