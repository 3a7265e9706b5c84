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
