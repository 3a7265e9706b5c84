import { describe, expect, it } from 'vitest';
import { ModelSpecSchema } from '@/engine/spec';
import { checkScanInputs, compatibleKinds, scanInputIssues, validateCombo, validateSpecMiras } from '@/engine/miras/validate';
import { resolveCombo } from '@/engine/miras/catalog';
import { mixerCost } from '@/engine/miras/cost';
import { MIRAS_PRESETS } from '@/engine/presets/miras';

const combo = (memory: string, bias: string, retention: string, learner: string, block: Record<string, string | number | boolean> = {}, params: Record<string, Record<string, string | number | boolean>> = {}) => ({
  memory: { kind: memory, params: params.memory ?? {} },
  bias: { kind: bias, params: params.bias ?? {} },
  retention: { kind: retention, params: params.retention ?? {} },
  learner: { kind: learner, params: params.learner ?? {} },
  block,
});

function refusal(input: ReturnType<typeof combo>, axis: string, why: RegExp, fix: RegExp, dims = {}) {
  const issues = validateCombo(input, dims);
  const hit = issues.find((i) => i.axis === axis && why.test(i.message));
  expect(hit, `expected a ${axis} issue matching ${why}; got ${JSON.stringify(issues, null, 1)}`).toBeDefined();
  expect(hit!.fix).toMatch(fix);
}

describe('validity rules', () => {
  it('accepts the standard combinations', () => {
    expect(validateCombo(combo('matrix', 'l2', 'scalar', 'gd'))).toEqual([]);
    expect(validateCombo(combo('vector', 'l2', 'none', 'implicit'))).toEqual([]);
    expect(validateCombo(combo('mlp', 'huber', 'l2', 'gd', { memoryInit: 'learned' }))).toEqual([]);
  });
  it('KL retention needs a positive memory', () => {
    refusal(combo('matrix', 'l2', 'kl', 'gd'), 'retention', /positive memory/, /uniform/);
    expect(validateCombo(combo('matrix', 'l2', 'kl', 'gd', { memoryInit: 'uniform' }))).toEqual([]);
  });
  it('non-linear biases need a gradient-based learner', () => {
    for (const b of ['lp', 'l1', 'huber', 'robust']) refusal(combo('matrix', b, 'none', 'implicit'), 'bias', /gradient-based learner/, /One GD step/);
  });
  it('implicit GD only with the ℓ2 bias, a linear memory and quadratic retention', () => {
    refusal(combo('matrix', 'dot', 'none', 'implicit'), 'learner', /quadratic \(ℓ2\) bias/, /ℓ2 regression/);
    refusal(combo('mlp', 'l2', 'none', 'implicit', { memoryInit: 'learned' }), 'learner', /linear \(matrix or vector\) memory/, /Matrix/);
    refusal(combo('matrix', 'l2', 'elastic', 'implicit'), 'retention', /quadratic retention/, /One GD step/);
  });
  it('softmax attention needs ℓ2 / no retention / closed form', () => {
    refusal(combo('attention', 'dot', 'none', 'closed-form'), 'bias', /non-parametric/, /memory architecture/);
    refusal(combo('attention', 'l2', 'none', 'gd'), 'memory', /closed-form|solved exactly/, /Closed form/);
    refusal(combo('attention', 'l2', 'scalar', 'closed-form'), 'memory', /window/, /None/);
  });
  it('softmax attention refuses the options of a recurrent state, naming each', () => {
    expect(validateCombo(combo('attention', 'l2', 'none', 'closed-form', { convSize: 4, featureMap: 'silu', outputGate: 'sigmoid' }))).toEqual([]);
    refusal(combo('attention', 'l2', 'none', 'closed-form', { memoryInit: 'learned' }), 'block', /no recurrent state.*memory initialisation "learned" does not apply/, /zeros/);
    refusal(combo('attention', 'l2', 'none', 'closed-form', { dSkip: true, betaPerChannel: true }), 'block', /D skip, β per channel do not apply/, /Turn off D skip, β per channel/);
  });
  it('channel-wise decay and n_h steps need a matrix or vector memory', () => {
    refusal(combo('mlp', 'l2', 'channel', 'gd', { memoryInit: 'learned' }), 'retention', /key channels/, /Matrix/);
    refusal(combo('mlp', 'l2', 'none', 'multistep', { memoryInit: 'learned' }), 'learner', /sub-step/, /Matrix/);
  });
  it('parameter rules say why and what fixes it', () => {
    refusal(combo('mlp', 'l2', 'none', 'gd'), 'block', /never moves/, /learned/);
    refusal(combo('mlp', 'l2', 'kl', 'gd', { memoryInit: 'uniform' }), 'block', /symmetric/, /learned/);
    refusal(combo('matrix', 'l2', 'none', 'multistep', { dSkip: true }), 'block', /D skip/, /Turn off/);
    refusal(combo('mlp', 'l2', 'none', 'gd', { memoryInit: 'learned' }), 'memory', /d_k must equal d_v/, /equal/, { headDimK: 8, headDimV: 16 });
    refusal(combo('matrix', 'lp', 'none', 'gd', {}, { bias: { p: 1.5, eps: 0 } }), 'bias', /second derivative/, /ε > 0/);
    refusal(combo('matrix', 'l2', 'elastic', 'gd', {}, { retention: { surrogate: 'smooth', threshold: 0 } }), 'retention', /divides by γ/, /threshold/);
    refusal(combo('matrix', 'dot', 'scalar', 'gd', { eigenvalueRange: '[-1,1]' }), 'block', /eigenvalue/, /\[0, 1\]/);
    refusal(combo('matrix', 'l2', 'scalar', 'gd', { eigenvalueRange: '[-1,1]', betaActivation: 'softplus' }), 'block', /β ∈ \(0, 2\)/, /sigmoid/);
    refusal(combo('matrix', 'l2', 'kl', 'gd', { eigenvalueRange: '[-1,1]', memoryInit: 'uniform' }), 'block', /KL retention.*no such transition/, /\[0, 1\]/);
    refusal(combo('matrix', 'l2', 'lq', 'gd', { eigenvalueRange: '[-1,1]' }), 'block', /ℓq retention.*no such transition/, /acts linearly/);
    refusal(combo('matrix', 'l2', 'scalar', 'gd', { eigenvalueRange: '[-1,1]', valueTimesStep: true }, { retention: { parametrization: 'mamba2' } }), 'block', /Δ_t.*not doubled/, /value × step/);
    refusal(combo('matrix', 'l2', 'scalar', 'gd', { eigenvalueRange: '[-1,1]', qkNorm: 'none' }), 'block', /only when ‖k‖ = 1/, /l2/);
    refusal(combo('matrix', 'l2', 'channel', 'gd', { eigenvalueRange: '[-1,1]', keyFromDecay: true }, { retention: { parametrization: 'hgrn2' } }), 'block', /key tied to 1 − α_t/, /key from decay/);
    for (const r of ['none', 'constant', 'scalar', 'channel', 'l2', 'elastic']) expect(validateCombo(combo('matrix', 'l2', r, 'gd', { eigenvalueRange: '[-1,1]' })), r).toEqual([]);
    expect(validateCombo(combo('vector', 'l2', 'scalar', 'chunk', { eigenvalueRange: '[-1,1]' }))).toEqual([]);
    refusal(combo('matrix', 'dot', 'scalar', 'gd', { betaPerChannel: true, betaActivation: 'constant' }), 'block', /no effect: β is the constant 1/, /β activation/);
    refusal(combo('matrix', 'dot', 'scalar', 'gd', { betaPerChannel: true, valueTimesStep: true }, { retention: { parametrization: 'mamba2' } }), 'block', /no effect.*Δ_t/, /Turn off "β per channel"/);
    refusal(combo('matrix', 'dot', 'scalar', 'gd', { betaPerChannel: true, mlstmNormalizer: true, betaActivation: 'exp' }, { retention: { parametrization: 'sigmoid' } }), 'block', /no effect.*mLSTM input gate/, /Turn off/);
    refusal(combo('matrix', 'l2', 'scalar', 'gd', { mlstmNormalizer: true }), 'block', /mLSTM normaliser/, /dot-product/);
    refusal(combo('matrix', 'dot', 'scalar', 'gd', { mlstmNormalizer: true }), 'block', /exponential input gate/, /exp/);
    refusal(combo('matrix', 'dot', 'scalar', 'gd', { keyFromDecay: true }), 'block', /HGRN2/, /Channel-wise/);
    refusal(combo('matrix', 'dot', 'scalar', 'gd', { valueTimesStep: true }), 'block', /Mamba2/, /mamba2/);
    refusal(combo('matrix', 'l2', 'scalar', 'gd', {}, { retention: { aInitMin: 4, aInitMax: 2 } }), 'retention', /empty/, /aInitMin/);
    refusal(combo('mlp', 'l2', 'none', 'gd', { memoryInit: 'learned', betaPerChannel: true }), 'block', /value channels/, /β per channel/);
  });
  it('bad kinds and parameters are refused on their axis', () => {
    refusal(combo('matrix', 'l3', 'none', 'gd'), 'bias', /Unknown attentional bias "l3"/, /Correct/);
    refusal(combo('matrix', 'l2', 'none', 'chunk', {}, { learner: { chunkSize: 0 } }), 'learner', /chunkSize/, /Correct/);
    refusal(combo('matrix', 'l2', 'none', 'gd', { convSize: 'big' }), 'block', /convSize/, /block option/);
  });
  it('compatibleKinds reads the same rules', () => {
    expect(compatibleKinds('learner', 'implicit').bias).toEqual(['l2']);
    expect(compatibleKinds('memory', 'attention').learner).toEqual(['closed-form']);
    expect(compatibleKinds('retention', 'channel').memory).toEqual(['matrix', 'vector']);
  });
});

describe('scan input values', () => {
  const s = { batch: 1, time: 2, heads: 1, dk: 2, dv: 2 };
  const ok = { q: [0.1, 0.2, 0.3, 0.4], k: [0.6, 0.8, 1, 0], v: [1, 2, 3, 4], beta: [0.5, 0.5] };
  it('accept finite inputs in their domains', () => {
    const kl = resolveCombo(combo('matrix', 'l2', 'kl', 'gd', { memoryInit: 'learned' }, { retention: { decay: false } }));
    expect(scanInputIssues(kl, s, { ...ok, initialState: [0.25, 0.25, 0.25, 0.25] })).toEqual([]);
  });
  it('refuse non-finite values, naming the tensor and where', () => {
    const gdn = resolveCombo(combo('matrix', 'l2', 'none', 'gd'));
    const issues = scanInputIssues(gdn, s, { ...ok, k: [0.6, NaN, 1, Infinity] });
    expect(issues).toHaveLength(1);
    expect(issues[0].tensor).toBe('k');
    expect(issues[0].message).toMatch(/"k" has 2 non-finite values \(first: NaN at flat index 1\)/);
  });
  it('KL retention needs a strictly positive initial memory (log W); the momentum part may be anything', () => {
    const kl = resolveCombo(combo('matrix', 'l2', 'kl', 'gd', { memoryInit: 'learned' }, { retention: { decay: false } }));
    const [issue] = scanInputIssues(kl, s, { ...ok, initialState: [0.5, -0.1, 0.3, 0] });
    expect(issue.tensor).toBe('initialState');
    expect(issue.message).toMatch(/strictly positive.*2 entries ≤ 0 \(first: -0.1 in segment S, entry 1/);
    expect(issue.fix).toMatch(/positive initial memory/);
    const klMom = resolveCombo(combo('matrix', 'l2', 'kl', 'momentum', { memoryInit: 'learned' }, { retention: { decay: false } }));
    expect(scanInputIssues(klMom, s, { ...ok, eta: [0.5, 0.5], initialState: [0.25, 0.25, 0.25, 0.25, -1, 0, 1, -2] })).toEqual([]);
    expect(() => checkScanInputs(kl, s, { ...ok, initialState: [0.5, -0.1, 0.3, 0.2] })).toThrow(/KL retention takes log.*Fix: Give a positive initial memory/);
  });
  it('a data-dependent Huber threshold must be positive', () => {
    const huber = resolveCombo(combo('matrix', 'huber', 'none', 'gd', {}, { bias: { variant: 'norm', delta: 'data' } }));
    const [issue] = scanInputIssues(huber, s, { ...ok, delta: [0.5, -0.2] });
    expect(issue.tensor).toBe('delta');
    expect(issue.message).toMatch(/δ_t must be > 0.*-0.2 at flat index 1/);
  });
});

describe('presets', () => {
  const NAMES = ['linear-attention', 'retnet', 'gla', 'mamba2', 'hgrn2', 'mlstm', 'deltanet', 'gated-deltanet', 'deltaproduct', 'longhorn', 'ttt-linear', 'titans', 'moneta', 'yaad', 'memora', 'gated-deltanet-swa-hybrid'];
  it('are all present, named exactly', () => {
    expect(MIRAS_PRESETS.map((p) => p.name)).toEqual(NAMES);
  });
  it.each(NAMES)('%s builds a valid spec at several widths', (name) => {
    const p = MIRAS_PRESETS.find((x) => x.name === name)!;
    expect(p.citation).toMatch(/arXiv/);
    for (const dModel of [32, 64, 128, 768]) {
      const spec = ModelSpecSchema.parse(p.build({ vocabSize: 256, dModel, nLayers: 2 }));
      expect(validateSpecMiras(spec)).toEqual([]);
      for (const l of spec.layers) {
        if (l.mixer.type !== 'miras') continue;
        const cost = mixerCost(l.mixer, dModel);
        expect(cost.params.total).toBeGreaterThan(0);
        expect(cost.flopsPerToken.total).toBeGreaterThan(0);
        expect(cost.stateFloatsPerHead).toBeGreaterThan(0);
      }
    }
  });
  it('the hybrid alternates Gated DeltaNet and sliding-window attention', () => {
    const spec = MIRAS_PRESETS.find((p) => p.name === 'gated-deltanet-swa-hybrid')!.build({ vocabSize: 64, dModel: 64, nLayers: 4 });
    expect(spec.layers.map((l) => l.mixer.type)).toEqual(['miras', 'attention', 'miras', 'attention']);
    const a = spec.layers[1].mixer;
    expect(a.type === 'attention' && a.window).toBeGreaterThan(0);
  });
  it('cost: matrix state is dk·dv; momentum doubles it; RetNet params count projections', () => {
    const m = MIRAS_PRESETS.find((p) => p.name === 'gated-deltanet')!.build({ vocabSize: 64, dModel: 64, nLayers: 1 }).layers[0].mixer;
    if (m.type !== 'miras') throw new Error('expected miras');
    expect(mixerCost(m, 64).stateFloatsPerHead).toBe(m.headDimK * m.headDimV);
    const t = MIRAS_PRESETS.find((p) => p.name === 'titans')!.build({ vocabSize: 64, dModel: 64, nLayers: 1 }).layers[0].mixer;
    if (t.type !== 'miras') throw new Error('expected miras');
    // 2-layer MLP memory d→4d→d plus the same again for momentum
    expect(mixerCost(t, 64).stateFloatsPerHead).toBe(2 * (2 * 4 * t.headDimK * t.headDimK));
  });
});
