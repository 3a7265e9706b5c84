/**
 * Writes bench/pytorch/mlp_case.json: for each deep-MLP-memory preset's mixer (ttt-linear, titans, moneta, yaad,
 * memora), a tiny case (seeded inputs in the ranges a block produces, random upstream gradients) with the float64
 * tape oracle's outputs (o, final state) and input gradients, plus the resolved combination (layer shapes,
 * activation, bias, retention, learner, gates). bench/pytorch/mlp_eager.py checks its PyTorch token loops against
 * these in float64 before timing them, so "ours vs eager" compares the same recurrence.
 * Run: npx tsx bench/pytorch/mlp-case.ts
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getPreset } from '../../engine/presets';
import type { MirasMixer } from '../../engine/spec';
import { mlpComboFor } from '../../engine/miras/mlp/provider';
import { resolveCombo } from '../../engine/miras/catalog';
import { oracleRecord } from './oracle-record';
import { mlpInputs } from '../../tests/miras/mlp-helpers';

const PRESETS = ['ttt-linear', 'titans', 'moneta', 'yaad', 'memora'];
// T = 17 crosses ttt-linear's mini-batch boundary (chunk 16); hidden = expansion · d_k = 16
const s = { batch: 2, time: 17, heads: 2, dk: 4, dv: 4 };
const out: Record<string, unknown> = { shape: s, cases: {} };
for (const name of PRESETS) {
  const base = getPreset(name).build({ vocabSize: 32, dModel: 64, nLayers: 1 }).layers[0].mixer as MirasMixer;
  const m = { ...base, heads: s.heads, headDimK: s.dk, headDimV: s.dv } as MirasMixer;
  const cat = resolveCombo(m);
  const c = mlpComboFor(cat, s.heads, s.dk, s.dv);
  const x = mlpInputs(cat, c, s, 5);
  (out.cases as Record<string, unknown>)[name] = {
    id: c.id,
    config: {
      shapes: c.shapes,
      activation: c.activation,
      residual: c.residual,
      layerNorm: c.layerNorm,
      bias: { kind: c.bias.kind, params: cat.bias.params },
      retention: { kind: c.retention.kind, params: cat.retention.params, norm: c.retention.norm ?? null, simplex: c.retention.simplex ?? null, coupled: c.retention.coupled },
      learner: c.learner,
      chunk: c.chunk,
      lagToken: c.lagToken,
      gradAtDecayed: c.gradAtDecayed,
      decay: c.decay,
      gammas: c.gammas,
      qscale: c.qscale,
      gates: c.gates,
    },
    ...oracleRecord(cat, x, s),
  };
}
writeFileSync(join(process.cwd(), 'bench', 'pytorch', 'mlp_case.json'), JSON.stringify(out));
console.log(`wrote bench/pytorch/mlp_case.json (${PRESETS.length} presets, shape ${JSON.stringify(s)})`);
