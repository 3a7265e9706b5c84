/**
 * Renders the block catalog and the Miras presets as Markdown (docs/miras.md, docs/presets/<name>.md).
 * The docs are generated from the catalog so they never drift: tests/miras/docs.test.ts fails when
 * the committed files differ from what this renders. Regenerate with `npx tsx engine/miras/cli/docs.ts`.
 */
import { z } from 'zod';
import { AXES, AXIS_LABEL, type Preset } from '../spec';
import { BlockParamsSchema, CATALOG, catalogEntry, type CatalogEntry, type ComboInput } from './catalog';
import { compatibleKinds } from './validate';
import { mixerCost } from './cost';
import { SCAN_TENSORS } from './reference/scan';

/** flash-linear-attention naive references and the combination + tensors that reproduce them with `miras scan`. */
export const FLA_EQUIVALENTS: { fla: string; combo: ComboInput; tensors: string }[] = [
  {
    fla: 'ops/linear_attn/naive.py naive_recurrent_linear_attn(q, k, v, normalize=False)',
    combo: { memory: { kind: 'matrix' }, bias: { kind: 'dot' }, retention: { kind: 'none' }, learner: { kind: 'gd' }, block: { queryScale: 'inv-sqrt-dk', betaActivation: 'constant' } },
    tensors: 'q, k, v',
  },
  {
    fla: 'ops/retention/naive.py naive_retention(q, k, v)',
    combo: { memory: { kind: 'matrix' }, bias: { kind: 'dot' }, retention: { kind: 'constant' }, learner: { kind: 'gd' }, block: { queryScale: 'inv-sqrt-dk', betaActivation: 'constant' } },
    tensors: 'q, k, v',
  },
  {
    fla: 'ops/simple_gla/naive.py naive_recurrent_simple_gla(q, k, v, g)',
    combo: { memory: { kind: 'matrix' }, bias: { kind: 'dot' }, retention: { kind: 'scalar' }, learner: { kind: 'gd' }, block: { queryScale: 'inv-sqrt-dk', betaActivation: 'constant' } },
    tensors: 'q, k, v, g (fla g)',
  },
  {
    fla: 'ops/gla/naive.py naive_recurrent_gla(q, k, v, gk)',
    combo: { memory: { kind: 'matrix' }, bias: { kind: 'dot' }, retention: { kind: 'channel' }, learner: { kind: 'gd' }, block: { queryScale: 'inv-sqrt-dk', betaActivation: 'constant' } },
    tensors: 'q, k, v, g = gk',
  },
  {
    fla: 'layers/mamba2.py torch_forward (SSD) as simple GLA',
    combo: { memory: { kind: 'matrix' }, bias: { kind: 'dot' }, retention: { kind: 'scalar', params: { parametrization: 'mamba2' } }, learner: { kind: 'gd' }, block: { betaActivation: 'softplus', valueTimesStep: true } },
    tensors: 'q = C, k = B, v = x, beta = Δ, g = Δ·A',
  },
  {
    fla: 'ops/delta_rule/naive.py delta_rule_recurrence(q, k, v, beta)',
    combo: { memory: { kind: 'matrix' }, bias: { kind: 'l2' }, retention: { kind: 'none' }, learner: { kind: 'gd' }, block: { queryScale: 'inv-sqrt-dk' } },
    tensors: 'q, k, v, beta',
  },
  {
    fla: 'ops/gated_delta_rule/naive.py naive_recurrent_gated_delta_rule(q, k, v, beta, g)',
    combo: { memory: { kind: 'matrix' }, bias: { kind: 'l2' }, retention: { kind: 'scalar' }, learner: { kind: 'gd' }, block: { queryScale: 'inv-sqrt-dk' } },
    tensors: 'q, k, v, beta, g',
  },
  {
    fla: 'ops/gated_delta_product/naive.py (num_householder = n_h)',
    combo: { memory: { kind: 'matrix' }, bias: { kind: 'l2' }, retention: { kind: 'scalar' }, learner: { kind: 'multistep', params: { steps: 2 } }, block: { queryScale: 'inv-sqrt-dk' } },
    tensors: 'q, k, v, beta, g; k, v and beta have T·n_h positions',
  },
];

/**
 * The [U] (unverified) items of the shared reference digest (/work/shared/reference/miras.md) that reach the code:
 * where each enters, which tests rely on it, and what checking it against the paper (or the authors' code) found.
 * Rendered into docs/miras.md; tests/miras/audit-unverified.test.ts checks that the named test files exist.
 */
export const UNVERIFIED_DETAILS: { item: string; where: string; tests: string; testFiles: string[]; status: string }[] = [
  {
    item: 'mLSTM cell: exponential input gate, normaliser n_t, stabiliser m_t (xLSTM Eq. 16-21; digest §2 "paper recollection")',
    where: 'block option `mlstmNormalizer`, preset `mlstm`, reference `mlstmHead` (engine/miras/reference/scan.ts), kernels engine/miras/recurrent/mlstm*.ts',
    tests: 'the stabilised recurrence equals the plain one; the mLSTM block and kernels against the float64 oracle; the whole-model check of `mlstm`',
    testFiles: ['tests/miras/reference-closed-forms.test.ts', 'tests/miras/block-mlstm.test.ts', 'tests/miras/kernel-mlstm-fast.test.ts', 'tests/miras/audit-check-presets.test.ts'],
    status:
      '**Verified** against the authors\' code, NX-AI/xlstm `xlstm/blocks/mlstm/backends.py` (`recurrent_step_stabilized_simple`, `parallel_stabilized_simple`) and `cell.py`: ' +
      'm_t = max(log σ(f̃_t) + m_{t−1}, ĩ_t); C_t = e^{log σ(f̃_t) + m_{t−1} − m_t} C_{t−1} + e^{ĩ_t − m_t} k_t v_tᵀ; n_t the same with k_t; ' +
      'h_t = C_tᵀq_t / max(|n_tᵀq_t|, e^{−m_t}), keys scaled by d^{−1/2}. The reference is this recurrence. Two differences, neither changes a test: ' +
      'the authors scale k and we scale q (C q and nᵀq scale together and the floor e^{−m_t} does not move, so h is identical), and they add ε = 1e-6 to the ' +
      'denominator, which we do not (the floor e^{−m_t} > 0 already keeps it finite). Block-level differences are listed in docs/presets/mlstm.md.',
  },
  {
    item: 'Smooth surrogates: sign(x) ≈ tanh(a·x) with a ≈ 10, |x| ≈ √(x² + ε) with ε = 1e-6 (digest §1.3)',
    where: 'ℓ1 bias `sharpness` (default 10); ℓp and robust biases `eps` (default 1e-6)',
    tests: 'none relies on the values: the kernels and the reference evaluate the same parameterised surrogate (random sweeps draw a ∈ {2, 10}); the rule "ℓp with p < 2 needs ε > 0" follows from the derivative',
    testFiles: ['tests/miras/validate.test.ts', 'tests/miras/kernel-presets.test.ts'],
    status: 'Not verified: the stored index holds only the abstract and introduction of arXiv 2504.13173v1, not its equations. Both stay parameters with the transcription\'s defaults.',
  },
  {
    item: 'ℓq normalisation of Moneta: W = A/‖A‖_q^{q−2}, A/‖A‖_q^{(q−2)/q} or the exact mirror map (the transcriptions disagree, digest §1.4)',
    where: 'ℓq retention `form` (default `aryateja` = A/‖A‖_q^{q−2}); preset `moneta` uses the default',
    tests: 'q = 2 is plain accumulation (true for every form); random sweeps draw all three forms; no test takes one form as the paper\'s',
    testFiles: ['tests/miras/reference-closed-forms.test.ts'],
    status: 'Not verified (paper body unavailable); kept as the `form` parameter.',
  },
  {
    item: 'Memora\'s softmax slice for matrix and MLP memories (digest §1.6)',
    where: 'KL retention `axis` (default `key`: each row of M = Sᵀ sums to c)',
    tests: 'every slice stays on the simplex (‖W‖₁ = c per slice), for each axis; no test relies on which axis the paper means',
    testFiles: ['tests/miras/reference-closed-forms.test.ts'],
    status: 'Not verified (paper body unavailable); kept as the `axis` parameter.',
  },
  {
    item: 'Moneta\'s extra global ℓ2 term in the retention (one transcription, digest §1.6)',
    where: 'not applied: ℓq retention accumulates A_t = α_t A_{t−1} − η_t∇ℓ with a data-dependent α_t (the digest\'s [P] form)',
    tests: 'none',
    testFiles: [],
    status: 'Not verified; not implemented as a separate term (the decay α_t already shrinks A).',
  },
  {
    item: 'Rank 32 or 64 of the low-rank projections producing η_t, α_t, δ_t in Moneta/Yaad/Memora (digest §1.6)',
    where: 'block option `gateRank`; the three presets use full-rank per-head gates (their docs say why)',
    tests: 'a rank a preset\'s docs state is a real factorisation; every `gateRank` value changes the block (audit-block-options)',
    testFiles: ['tests/miras/block.test.ts', 'tests/miras/audit-block-options.test.ts'],
    status: 'Not verified; no preset or test depends on 32 versus 64.',
  },
  {
    item: 'Miras model sizes, training settings and S-NIAH numbers (Table 5 transcription); DeltaProduct theory and results (digest §5.4)',
    where: 'nowhere in the engine; the `multistep` learner follows fla `gated_delta_product/naive.py` (digest [V])',
    tests: 'DeltaProduct\'s recurrence (decay once, then n_h sub-steps) is checked against its closed form',
    testFiles: ['tests/miras/reference-closed-forms.test.ts'],
    status: 'Not needed by any test.',
  },
];

interface JsonProp {
  type?: string;
  enum?: unknown[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  help?: string;
  unit?: string;
}

const esc = (s: string) => s.replace(/\|/g, '\\|');

function paramTable(schema: z.ZodObject): string {
  const json = z.toJSONSchema(schema, { io: 'input' }) as { properties?: Record<string, JsonProp> };
  const props = Object.entries(json.properties ?? {});
  if (props.length === 0) return '_No parameters._\n';
  const rows = props.map(([name, p]) => {
    const range = p.enum ? p.enum.map((e) => `\`${String(e)}\``).join(', ') : p.type === 'boolean' ? 'true, false' : `${p.minimum ?? '−∞'} … ${p.maximum ?? '∞'}`;
    return `| \`${name}\` | \`${JSON.stringify(p.default)}\` | ${esc(range)} | ${p.unit ?? ''} | ${esc(p.help ?? '')} |`;
  });
  return ['| parameter | default | range | unit | meaning |', '|---|---|---|---|---|', ...rows].join('\n') + '\n';
}

function entryDoc(e: CatalogEntry): string {
  const compat = compatibleKinds(e.axis, e.kind);
  const lines = [
    `### ${e.label} — \`${e.kind}\``,
    '',
    e.summary,
    '',
    `- **Update / read-out:** ${e.math}`,
    `- **Derivative:** ${e.derivative}`,
    `- **Citation:** ${e.citation}`,
    `- **Used by:** ${e.usedBy.join(', ')}`,
    `- **Scan inputs:** ${e.inputs.length ? e.inputs.join('; ') : 'q, k, v only'}`,
    `- **Works with:** ${AXES.filter((a) => a !== e.axis)
      .map((a) => `${AXIS_LABEL[a]}: ${compat[a].length === CATALOG[a].length ? 'any' : compat[a].map((k) => `\`${k}\``).join(', ')}`)
      .join('; ')}`,
  ];
  for (const r of e.requires) lines.push(`- **Requires** ${AXIS_LABEL[r.axis]} ∈ {${r.kinds.join(', ')}}: ${r.why}.`);
  if (e.unverified) lines.push(`- **Unverified detail (a parameter):** ${e.unverified}`);
  lines.push('', paramTable(e.params));
  return lines.join('\n');
}

export function renderCatalogDoc(): string {
  const out: string[] = [
    '# The Miras block catalog',
    '',
    '<!-- Generated from engine/miras/catalog by engine/miras/docs.ts; do not edit by hand. Regenerate: npx tsx engine/miras/cli/docs.ts -->',
    '',
    'A Miras mixer is one choice on each of four axes (Behrouz et al. 2025, *It\'s All Connected*, arXiv 2504.13173):',
    'the **memory architecture** (what stores the associations), the **attentional bias** (the memory\'s inner objective ℓ),',
    'the **retention gate** (how it forgets) and the **learning algorithm** (how the inner objective is optimised per token),',
    'plus block-level options around the scan. Every option below is one catalog entry; the editor, validation, cost,',
    'the kernel generators, the float64 reference and this page all read the same entries.',
    '',
    'Conventions (fla layout): the memory state is S ∈ R^{d_k×d_v} per head (W = Sᵀ in the Miras papers), tensors are',
    '[batch, time, heads, dim], decays arrive as natural-log gates g_t (α_t = exp g_t), and o_t = S_tᵀ q_t.',
    'The learner produces a step U_t (η_t∇ℓ for one GD step) and the retention gate turns W_{t−1} and U_t into W_t.',
    'The exact semantics of every combination are implemented by the float64 reference in',
    '`engine/miras/reference/scan.ts` (its header lists the tensors and the update order).',
    '',
    '## Contents',
    '',
  ];
  for (const a of AXES) out.push(`- [${AXIS_LABEL[a]}](#${AXIS_LABEL[a].replace(/ /g, '-')}): ${CATALOG[a].map((e) => `\`${e.kind}\``).join(', ')}`);
  out.push('- [block options](#block-options)', '- [validity rules](#validity-rules)', '- [unverified paper details](#unverified-paper-details)', '- [scan tensors and the scan command](#scan-tensors-and-the-scan-command)', '');
  for (const a of AXES) {
    out.push(`## ${AXIS_LABEL[a]}`, '', '| kind | option | summary |', '|---|---|---|');
    for (const e of CATALOG[a]) out.push(`| \`${e.kind}\` | ${e.label} | ${esc(e.summary)} |`);
    out.push('');
    for (const e of CATALOG[a]) out.push(entryDoc(e));
  }
  out.push('## block options', '', 'Stored in `mixer.block`; they shape the tensors around the scan.', '', paramTable(BlockParamsSchema));
  out.push(
    '## validity rules',
    '',
    'Ill-defined combinations are refused at design time by `engine/miras/validate.ts`, each with the node at fault,',
    'why, and what would fix it. The declarative requirements of the entries:',
    '',
  );
  for (const a of AXES)
    for (const e of CATALOG[a])
      for (const r of e.requires) out.push(`- ${e.label} needs ${AXIS_LABEL[r.axis]} ∈ {${r.kinds.map((k) => catalogEntry(r.axis, k)?.label ?? k).join(', ')}}: ${r.why}.`);
  out.push(
    '',
    'Parameter-dependent rules: KL retention needs a positive initial memory (memoryInit uniform or learned); a deep MLP memory',
    'cannot start at zero and needs d_k = d_v with its residual; ℓp with p < 2 needs ε > 0; the smooth soft threshold needs γ > 0;',
    'the [−1, 1] eigenvalue range needs the ℓ2 bias with a GD-type learner on a matrix/vector memory, a linear retention (not KL or ℓq),',
    'a sigmoid β (not Mamba2\'s step) and unit-norm keys (L2 q/k norm, no key tied to the decay); "β per channel" needs a produced β; the mLSTM',
    'normaliser needs matrix + dot-product + scalar/constant/no decay + one GD step with an exp input gate; HGRN2\'s key tie needs a',
    'channel-wise decay; Mamba2\'s step-as-write-strength needs the mamba2 decay; initialisation ranges must be non-empty.',
    '',
    '## unverified paper details',
    '',
    'The shared reference digest marks some details [U] (unverified: a recollection or a single transcription). Where one',
    'reaches the code, it is a parameter or was checked against the paper or the authors\' code; what each test relies on:',
    '',
    ...UNVERIFIED_DETAILS.flatMap((u) => [
      `- **${u.item}.** Enters: ${u.where}. Tests relying on it: ${u.tests}${u.testFiles.length ? ` (${u.testFiles.map((f) => `\`${f}\``).join(', ')})` : ''}. Status: ${u.status}`,
    ]),
    '',
    '## scan tensors and the scan command',
    '',
    '`npm run miras -- scan --combo FILE.json --in FILE.safetensors --out FILE.safetensors [--backend reference|webgpu] [--grad]`',
    'runs only the recurrence of one combination. The combo file is a ModelSpec miras mixer or `{ memory, bias, retention, learner, block }`.',
    'The input file holds the tensors the combination reads, in flash-linear-attention\'s layout; with `--grad` it also holds the upstream',
    'gradient `do` (and optionally `dfinalState`), and the output file gets `d<name>` for every input. `npm run miras -- check --random N --seed S`',
    'compares the WebGPU kernels with the float64 reference on N random valid combinations.',
    '',
    '| tensor | shape | meaning |',
    '|---|---|---|',
    ...SCAN_TENSORS.map((t) => `| \`${t.name}\` | ${t.shape} | ${esc(t.meaning)} |`),
    '',
    '### WebGPU kernels',
    '',
    'Which kernel runs a combination on WebGPU (each is checked against the float64 reference on outputs and gradients):',
    '',
    '| memory | kernel | covers |',
    '|---|---|---|',
    '| `matrix`, `vector` | fused recurrent scan (`engine/miras/recurrent`); chunk-parallel forms for the linear family (`engine/miras/chunk`), chosen by shape | every bias, retention and learner |',
    '| `mlp` | deep MLP memory scan (`engine/miras/mlp`, provider `miras-mlp`) | 1–4 layers, any expansion, GELU/SiLU/ReLU, residual and LayerNorm on or off; d_k ≠ d_v without the residual (the first layer reads d_k, the last writes d_v; h = expansion·d_k), d_k = d_v with it; every bias; retention none, constant, scalar, ℓ2 (coupled or not), elastic net, ℓq, KL; learners GD, momentum, mini-batch GD (with or without the lag token). Channel-wise decay, n_h steps and implicit GD are not valid with an MLP memory (validity rules above). |',
    '| `attention` | the engine\'s fused attention op (sliding window optional) | softmax attention |',
    '',
    'So every valid combination runs on WebGPU at any head dimensions (a seeded sweep of random valid combinations checks it).',
    '',
    '### Comparing with flash-linear-attention',
    '',
    'Combo files that reproduce fla\'s naive references (fla applies q/k L2-norm and β activations outside these functions,',
    'as the scan does; its layout is the same [B, T, H, D]):',
    '',
    '| fla reference | combo JSON | tensors |',
    '|---|---|---|',
    ...FLA_EQUIVALENTS.map((e) => `| ${esc(e.fla)} | \`${esc(JSON.stringify(e.combo))}\` | ${esc(e.tensors)} |`),
    '',
  );
  return out.join('\n');
}

export function renderPresetDoc(p: Preset, notes: { recurrence: string; block: string; notes?: string }): string {
  const spec = p.build({ vocabSize: 32000, dModel: 1024, nLayers: 2 });
  const out = [
    `# ${p.title} (\`${p.name}\`)`,
    '',
    '<!-- Generated from engine/presets by engine/miras/docs.ts; do not edit by hand. Regenerate: npx tsx engine/miras/cli/docs.ts -->',
    '',
    p.description,
    '',
    `**Paper:** ${p.citation}`,
    '',
    '## Recurrence',
    '',
    '```',
    notes.recurrence,
    '```',
    '',
    '## Block',
    '',
    notes.block,
    '',
  ];
  const seen = new Set<string>();
  spec.layers.forEach((layer, i) => {
    const m = layer.mixer;
    const key = JSON.stringify(m);
    if (seen.has(key)) return;
    seen.add(key);
    if (m.type === 'attention') {
      out.push(
        `## Layer ${i}: softmax attention`,
        '',
        `${m.heads} heads × ${m.headDim}, window ${m.window ?? 'full'}.`,
        '',
        'The four Miras choices: memory = non-parametric (`attention`), bias = ℓ2 (`l2`), retention = none (`none`; a window is hard retention), ' +
          'learning algorithm = closed form (`closed-form`) — softmax attention is the Nadaraya–Watson solution of ℓ2 regression (Miras §3).',
        '',
      );
      return;
    }
    out.push(`## ${spec.layers.length > 1 && spec.layers.some((l) => l.mixer.type === 'attention') ? `Layer ${i}: ` : ''}The four Miras choices`, '', '| axis | choice | parameters |', '|---|---|---|');
    for (const a of AXES) {
      const e = catalogEntry(a, m[a].kind)!;
      const params = { ...(e.params.parse(m[a].params) as object) };
      out.push(`| ${AXIS_LABEL[a]} | ${e.label} (\`${e.kind}\`) | ${Object.keys(params).length ? esc(Object.entries(params).map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join(', ')) : '—'} |`);
    }
    const block = BlockParamsSchema.parse(m.block);
    const defaults = BlockParamsSchema.parse({});
    const changed = Object.entries(block).filter(([k, v]) => (defaults as Record<string, unknown>)[k] !== v || Object.prototype.hasOwnProperty.call(m.block, k));
    out.push('', `Block options: ${changed.map(([k, v]) => `\`${k} = ${JSON.stringify(v)}\``).join(', ')}.`, '');
    const cost = mixerCost(m, spec.dModel);
    out.push(
      `At d_model = 1024: ${m.heads} heads, d_k = ${m.headDimK}, d_v = ${m.headDimV}; ${cost.params.total.toLocaleString('en-US')} mixer parameters, ` +
        `${cost.stateFloatsPerHead.toLocaleString('en-US')} state floats per head, ${cost.flopsPerToken.total.toLocaleString('en-US')} FLOPs per token.`,
      '',
    );
    out.push('Update rules of these choices (from the catalog):', '');
    for (const a of AXES) out.push(`- **${AXIS_LABEL[a]}:** ${catalogEntry(a, m[a].kind)!.math}`);
    out.push('');
  });
  out.push(`MLP after the mixer: ${spec.layers[0].mlp ? 'SwiGLU' : 'none (the block is the whole layer)'}.`, '');
  if (notes.notes) out.push('## Notes', '', notes.notes, '');
  return out.join('\n');
}
