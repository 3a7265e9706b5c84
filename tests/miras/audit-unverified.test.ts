/**
 * docs/miras.md "unverified paper details" (engine/miras/docs.ts UNVERIFIED_DETAILS): every test file it names as
 * relying on a [U] detail exists, and every [U]-dependent catalog parameter it names is a real parameter with the
 * default the section states. Keeps the section from pointing at tests or defaults that are gone.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { UNVERIFIED_DETAILS } from '@/engine/miras/docs';
import { defaultParams } from '@/engine/miras/catalog';
import { MIRAS_PRESETS } from '@/engine/presets/miras';

describe('unverified paper details in docs/miras.md', () => {
  it('name test files that exist', () => {
    for (const u of UNVERIFIED_DETAILS) for (const f of u.testFiles) expect(existsSync(f), `${u.item}: ${f}`).toBe(true);
  });
  it('state the defaults the catalog has', () => {
    expect(defaultParams('bias', 'l1').sharpness).toBe(10);
    expect(defaultParams('bias', 'lp').eps).toBe(1e-6);
    expect(defaultParams('bias', 'robust').eps).toBe(1e-6);
    expect(defaultParams('retention', 'lq').form).toBe('aryateja');
    expect(defaultParams('retention', 'kl').axis).toBe('key');
    const moneta = MIRAS_PRESETS.find((p) => p.name === 'moneta')!.build({ vocabSize: 16, dModel: 64, nLayers: 1 }).layers[0].mixer;
    expect(moneta.type === 'miras' && moneta.retention.kind).toBe('lq');
    expect(moneta.type === 'miras' && (moneta.retention.params.form ?? defaultParams('retention', 'lq').form)).toBe('aryateja');
  });
});
