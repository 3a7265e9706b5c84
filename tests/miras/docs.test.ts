import { readFileSync, existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generatedDocs } from '@/engine/miras/cli/generated-docs';

describe('generated docs are up to date', () => {
  const files = generatedDocs();
  it('covers the catalog and every Miras preset', () => {
    expect(Object.keys(files)).toContain('docs/miras.md');
    expect(Object.keys(files).filter((f) => f.startsWith('docs/presets/')).length).toBeGreaterThanOrEqual(16);
  });
  it.each(Object.keys(files))('%s matches the catalog (regenerate: npx tsx engine/miras/cli/docs.ts)', (path) => {
    expect(existsSync(path), `${path} is missing`).toBe(true);
    expect(readFileSync(path, 'utf8')).toBe(files[path]);
  });
});

describe('every preset has its page in docs/presets', () => {
  it('with its paper, recurrence, block details and four Miras choices', async () => {
    const { PRESETS } = await import('@/engine/presets');
    for (const p of PRESETS) {
      const path = `docs/presets/${p.name}.md`;
      expect(existsSync(path), path).toBe(true);
      const md = readFileSync(path, 'utf8');
      expect(md, path).toMatch(/\*\*Paper:\*\* .*arXiv \d{4}\.\d{4,5}/);
      expect(md, path).toContain('## Recurrence');
      expect(md, path).toContain('## Block');
      expect(md, path).toMatch(/The four Miras choices/);
      for (const axis of ['memory', 'bias', 'retention', 'learning algorithm']) expect(md, `${path}: ${axis}`).toMatch(new RegExp(axis));
    }
  });
});

describe('fla equivalents in docs/miras.md', () => {
  it('are valid combinations whose tensors the scan declares', async () => {
    const { FLA_EQUIVALENTS } = await import('@/engine/miras/docs');
    const { validateCombo } = await import('@/engine/miras/validate');
    const { resolveCombo } = await import('@/engine/miras/catalog');
    const { scanInputDecls } = await import('@/engine/miras/reference');
    for (const e of FLA_EQUIVALENTS) {
      expect(validateCombo(e.combo), e.fla).toEqual([]);
      const names = scanInputDecls(resolveCombo(e.combo), { batch: 1, time: 2, heads: 1, dk: 2, dv: 2 }).map((d) => d.name);
      for (const t of e.tensors.split(';')[0].split(',').map((x) => x.trim().split(/[ =[]/)[0])) expect(names, `${e.fla}: ${t}`).toContain(t);
    }
  });
});

describe('the scan tensor table in docs/miras.md', () => {
  it('gives every tensor the scan reads and writes, with the shape it has, for random valid combinations', async () => {
    const { SCAN_TENSORS, scanInputDecls, scanOutputDecls } = await import('@/engine/miras/reference');
    const { Rng, randomCombo } = await import('@/engine/miras/reference/random');
    const { stateLayout } = await import('@/engine/miras/cost');
    const rng = new Rng(8);
    const s = { batch: 2, time: 3, heads: 5, dk: 4, dv: 6 };
    const seen = new Set<string>();
    const { MIRAS_PRESETS } = await import('@/engine/presets/miras');
    const { resolveCombo } = await import('@/engine/miras/catalog');
    const mlstm = MIRAS_PRESETS.find((p) => p.name === 'mlstm')!.build({ vocabSize: 8, dModel: 16, nLayers: 1 }).layers[0].mixer;
    if (mlstm.type !== 'miras') throw new Error('mlstm is a Miras preset');
    // random draws rarely hit the mLSTM normaliser (matrix + dot + one GD step + a scalar decay): add the preset's
    for (let n = 0; n < 61; n++) {
      const c = n === 60 ? resolveCombo(mlstm) : randomCombo(rng, { memories: ['matrix', 'vector', 'mlp', 'attention'] });
      const nh = c.learner.kind === 'multistep' ? (c.learner.params.steps as number) : 1;
      const sym: Record<string, number> = { B: s.batch, T: s.time, "T'": s.time * nh, H: s.heads, dk: s.dk, dv: s.dv, stateSize: stateLayout(c, s.dk, s.dv).size };
      const documented = (name: string) => {
        const row = SCAN_TENSORS.find((t) => t.name === name);
        expect(row, `${name} is in the table`).toBeDefined();
        return row!.shape.split(' or ').map((alt) => alt.replace(/^\[|\]$/g, '').split(', ').map((d) => sym[d.trim()]));
      };
      for (const d of [...scanInputDecls(c, s), ...scanOutputDecls(c, s)]) {
        seen.add(d.name);
        const alts = documented(d.name);
        const plainMatrixState = d.name === 'finalState' || d.name === 'initialState' ? [[s.batch, s.heads, s.dk, s.dv]] : [];
        expect([...alts, ...plainMatrixState], `${d.name} [${d.shape}] for ${c.memory.kind}/${c.bias.kind}/${c.retention.kind}/${c.learner.kind}`).toContainEqual(d.shape);
      }
    }
    expect(SCAN_TENSORS.map((t) => t.name).filter((n) => !seen.has(n)), "tensors the draws never produced").toEqual([]);
  });
});
