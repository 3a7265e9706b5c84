/**
 * Every preset loads as an editable graph and lowers back to the same ModelSpec
 * (catalog defaults made explicit), at several sizes; the design survives export/import.
 */
import { describe, expect, it } from 'vitest';
import { ModelSpecSchema, AXES, type ModelSpec } from '@/engine/spec';
import { resolveCombo } from '@/engine/miras/catalog';
import { MIRAS_PRESETS } from '@/engine/presets/miras';
import { specToDesign, foldLayers } from '@/engine/design/raise';
import { analyzeDesign, designToSpec } from '@/engine/design/lower';
import { parseDesign, serializeDesign } from '@/engine/design/document';
import { designCosts } from '@/engine/design/cost';
import { allPresets } from './presets';

/** The spec with every Miras choice's defaults filled in, as the lowering writes it. */
function canonical(spec: ModelSpec): ModelSpec {
  const s = ModelSpecSchema.parse(spec);
  return {
    ...s,
    layers: s.layers.map((l) => {
      if (l.mixer.type !== 'miras') return l;
      const c = resolveCombo(l.mixer);
      const mixer = { ...l.mixer, block: { ...c.block } };
      for (const a of AXES) mixer[a] = { kind: c[a].kind, params: { ...c[a].params } };
      return { ...l, mixer };
    }),
  };
}

const SIZES = [
  { vocabSize: 256, dModel: 128, nLayers: 2 },
  { vocabSize: 97, dModel: 64, nLayers: 5 },
];

describe('specToDesign → designToSpec round trip', () => {
  const presets = allPresets();
  it('covers the registry', () => {
    expect(presets.length).toBeGreaterThanOrEqual(MIRAS_PRESETS.length);
  });
  for (const preset of presets) {
    for (const size of SIZES) {
      it(`${preset.name} at d=${size.dModel}, ${size.nLayers} layers`, () => {
        const spec = preset.build(size);
        const doc = specToDesign(spec, { name: preset.title, preset: preset.name });
        const a = analyzeDesign(doc);
        expect(a.issues.filter((i) => i.severity === 'error')).toEqual([]);
        expect(a.issues).toEqual([]); // no stray nodes either
        expect(a.spec).toEqual(canonical(spec));
        // Export and re-import give the identical document, which lowers the same way.
        const again = parseDesign(serializeDesign(doc));
        expect(again).toEqual(doc);
        expect(designToSpec(again)).toEqual(a.spec);
        // Costs exist for every mixer node.
        const costs = designCosts(a)!;
        for (const ids of a.layerNodes) expect(costs.perNode[ids.mixer].params).toBeGreaterThan(0);
        expect(costs.total.params).toBeGreaterThan(0);
      });
    }
  }
});

describe('stack folding', () => {
  it('folds identical layers into one stack and periodic hybrids into a period-2 stack', () => {
    const [deltanet] = allPresets().filter((p) => p.name === 'deltanet');
    const spec = deltanet.build({ vocabSize: 256, dModel: 64, nLayers: 6 });
    const chunks = foldLayers(spec.layers);
    expect(chunks).toHaveLength(1);
    expect(chunks[0].repeat).toBe(6);
    const doc = specToDesign(spec);
    expect(doc.nodes.filter((n) => n.type === 'stack')).toHaveLength(1);
    expect(doc.nodes.find((n) => n.type === 'stack')!.params.repeat).toBe(6);

    const a = spec.layers[0];
    const b = { mixer: { type: 'attention' as const, heads: 2, headDim: 32, window: 64 }, mlp: a.mlp };
    const hybrid = foldLayers([a, b, a, b, a, b, a]);
    expect(hybrid.map((c) => [c.layers.length, c.repeat])).toEqual([
      [2, 3],
      [1, 1],
    ]);
  });
});
