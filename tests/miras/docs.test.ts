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
