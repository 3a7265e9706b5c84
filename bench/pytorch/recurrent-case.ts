/**
 * Writes bench/pytorch/recurrent_case.json: for each linear-family preset's mixer, a tiny case (inputs, upstream
 * gradients) with B1's float64 oracle outputs (o, final state) and input gradients, plus the combination's
 * settings. bench/pytorch/recurrent_eager.py checks its PyTorch token loops against these in float64 before
 * timing them, so "ours vs eager" compares the same recurrence. Run: npx tsx bench/pytorch/recurrent-case.ts
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getPreset } from '../../engine/presets';
import type { MirasMixer } from '../../engine/spec';
import { comboInputs, resolveCombo } from '../../engine/miras/math/combo';
import { oracleRecord } from './oracle-record';
import { randomInputs } from '../../tests/miras/kernel-helpers';

export const EAGER_PRESETS = ['linear-attention', 'retnet', 'gla', 'mamba2', 'hgrn2', 'mlstm', 'deltanet', 'gated-deltanet', 'deltaproduct', 'longhorn'];

const s = { batch: 1, time: 5, heads: 2, dk: 4, dv: 3 };
const out: Record<string, unknown> = { shape: s, cases: {} };
for (const name of EAGER_PRESETS) {
  const base = getPreset(name).build({ vocabSize: 32, dModel: 64, nLayers: 1 }).layers[0].mixer as MirasMixer;
  const m = { ...base, heads: s.heads, headDimK: s.dk, headDimV: s.dv } as MirasMixer;
  const c = resolveCombo(m);
  const x = randomInputs(c, s, 5);
  (out.cases as Record<string, unknown>)[name] = {
    id: c.id,
    config: {
      memory: c.memory,
      bias: c.bias.kind,
      decay: c.retention.decay,
      gammas: c.retention.gammas ?? null,
      gradAt: c.gradAt,
      learner: c.learner,
      steps: c.steps,
      betaPerChannel: c.betaPerChannel,
      hasBeta: c.hasBeta,
      scale: c.scale,
      mlstm: c.mlstm,
    },
    ...oracleRecord(c.catalog, x, s, comboInputs(c, s)),
  };
}
writeFileSync(join(process.cwd(), 'bench', 'pytorch', 'recurrent_case.json'), JSON.stringify(out));
console.log(`wrote bench/pytorch/recurrent_case.json (${EAGER_PRESETS.length} presets, shape ${JSON.stringify(s)})`);
