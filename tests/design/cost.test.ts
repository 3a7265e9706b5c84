/** Costs shown in the editor agree with the model the engine builds. */
import { describe, expect, it } from 'vitest';
import { specToDesign } from '@/engine/design/raise';
import { analyzeDesign } from '@/engine/design/lower';
import { designCosts, engineParamCount } from '@/engine/design/cost';
import { allPresets } from './presets';

describe('design costs', () => {
  it('the model total is the engine\'s parameter count, for every preset', () => {
    for (const p of allPresets()) {
      const spec = p.build({ vocabSize: 97, dModel: 64, nLayers: 3 });
      const costs = designCosts(analyzeDesign(specToDesign(spec)))!;
      expect(costs.total.params, p.name).toBe(engineParamCount(spec));
    }
  });

  it('the per-block counts (catalog cost model + structure) add up to the engine\'s count', () => {
    const mismatches: string[] = [];
    for (const p of allPresets()) {
      const spec = p.build({ vocabSize: 97, dModel: 64, nLayers: 3 });
      const costs = designCosts(analyzeDesign(specToDesign(spec)))!;
      if (costs.blockParams !== costs.total.params) mismatches.push(`${p.name}: blocks sum to ${costs.blockParams}, the engine builds ${costs.total.params}`);
    }
    expect(mismatches).toEqual([]);
  });

  it('attention costs grow with the window, Miras state does not depend on T', () => {
    const swa = allPresets().find((p) => p.name === 'sliding-window-attention')!;
    const spec = swa.build({ vocabSize: 97, dModel: 64, nLayers: 1 });
    const a = analyzeDesign(specToDesign(spec));
    const short = designCosts(a, 64)!;
    const long = designCosts(a, 4096)!;
    expect(long.total.flopsPerToken).toBeGreaterThanOrEqual(short.total.flopsPerToken);
    const dn = allPresets().find((p) => p.name === 'deltanet')!;
    const b = analyzeDesign(specToDesign(dn.build({ vocabSize: 97, dModel: 64, nLayers: 1 })));
    expect(designCosts(b, 64)!.total.stateFloats).toBe(designCosts(b, 4096)!.total.stateFloats);
  });
});
