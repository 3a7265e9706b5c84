/**
 * Writes bench/pytorch/attention_case.json: a tiny causal and a tiny sliding-window case (inputs q, k, v in fla's
 * [B, T, H, D] layout, an upstream gradient do) with the engine's float64 attention reference (engine/ops/attention.ts:
 * outputs, lse and dq, dk, dv), plus the softmax-attention preset mixers (preset → window) that
 * bench/pytorch/attention_eager.py times. The script checks its eager attention (and torch's
 * scaled_dot_product_attention) against these in float64 before timing, so "ours vs eager" compares the same
 * attention.  Run: npx tsx bench/pytorch/attention-case.ts
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { attentionOp } from '../../engine/ops/attention';
import { attentionInputs, attentionPresetWindows, type AttentionShape } from '../gpu/attention';

export function attentionCases() {
  const cases = [null, 3].map((window) => {
    const s: AttentionShape = { B: 1, T: 9, H: 2, D: 4, Dv: 3, window };
    const x = attentionInputs(s, 7);
    const attrs = { heads: s.H, window };
    const ins = [
      { shape: [s.B, s.T, s.H * s.D], dtype: 'f32' as const },
      { shape: [s.B, s.T, s.H * s.D], dtype: 'f32' as const },
      { shape: [s.B, s.T, s.H * s.Dv], dtype: 'f32' as const },
    ];
    const ctx = { attrs, ins, outs: attentionOp.infer(ins, attrs) };
    const [o, lse] = attentionOp.forward([x.q, x.k, x.v], ctx);
    const [dq, dk, dv] = attentionOp.backward([x.q, x.k, x.v], [o, lse], [x.do, null], ctx);
    const arr = (a: Float64Array | null) => Array.from(a!);
    return {
      shape: s,
      inputs: { q: arr(x.q), k: arr(x.k), v: arr(x.v), do: arr(x.do) },
      o: arr(o),
      lse: arr(lse),
      grads: { q: arr(dq), k: arr(dk), v: arr(dv) },
    };
  });
  return { cases, mixers: attentionPresetWindows() };
}

if (process.argv[1]?.endsWith('attention-case.ts')) {
  const out = attentionCases();
  writeFileSync(join(process.cwd(), 'bench', 'pytorch', 'attention_case.json'), JSON.stringify(out));
  console.log(`wrote bench/pytorch/attention_case.json (${out.cases.length} cases; mixers ${JSON.stringify(out.mixers)})`);
}
