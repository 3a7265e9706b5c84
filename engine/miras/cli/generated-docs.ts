/** The generated documentation files, by repository path → content (shared by the writer and the test). */
import { renderCatalogDoc, renderPresetDoc } from '../docs';
import { MIRAS_PRESET_NOTES } from '../../presets/miras';
import { PRESETS } from '../../presets';

/** The attention baselines (engine/presets/index.ts) documented next to the Miras presets. */
const ATTENTION_NOTES: typeof MIRAS_PRESET_NOTES = {
  transformer: {
    recurrence: 'o_t = Σ_{i ≤ t} softmax_i(q_tᵀk_i / √d) v_i   (the non-parametric memory: ℓ2 bias, no retention, closed-form solve)',
    block: 'q, k, v, o projections without biases; causal softmax attention; SwiGLU MLP; pre-RMSNorm (Llama style).',
  },
  'sliding-window-attention': {
    recurrence: 'o_t = Σ_{i ∈ (t − 64, t]} softmax_i(q_tᵀk_i / √d) v_i   (a sliding window is hard retention)',
    block: 'the transformer block with each query limited to itself and the 63 previous tokens.',
  },
};

export function generatedDocs(): Record<string, string> {
  const files: Record<string, string> = { 'docs/miras.md': renderCatalogDoc() };
  for (const p of PRESETS) {
    const notes = MIRAS_PRESET_NOTES[p.name] ?? ATTENTION_NOTES[p.name];
    if (!notes) throw new Error(`preset ${p.name} has no documentation notes (MIRAS_PRESET_NOTES or ATTENTION_NOTES)`);
    files[`docs/presets/${p.name}.md`] = renderPresetDoc(p, notes);
  }
  return files;
}
