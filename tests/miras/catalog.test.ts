import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AXES } from '@/engine/spec';
import { BlockParamsSchema, CATALOG, catalogEntry, catalogJson, defaultParams, resolveCombo } from '@/engine/miras/catalog';

const REQUIRED: Record<string, string[]> = {
  memory: ['vector', 'matrix', 'mlp', 'attention'],
  bias: ['dot', 'l2', 'lp', 'l1', 'huber', 'robust'],
  retention: ['none', 'constant', 'scalar', 'channel', 'l2', 'elastic', 'lq', 'kl'],
  learner: ['gd', 'momentum', 'multistep', 'implicit', 'chunk'],
};

describe('block catalog', () => {
  it('has every option the issue requires on each axis', () => {
    for (const axis of AXES) {
      const kinds = CATALOG[axis].map((e) => e.kind);
      for (const k of REQUIRED[axis]) expect(kinds, `${axis}/${k}`).toContain(k);
    }
  });

  it('every entry is complete: label, summary, math, derivative, citation, defaults, documented params', () => {
    for (const axis of AXES) {
      const seen = new Set<string>();
      for (const e of CATALOG[axis]) {
        const id = `${axis}/${e.kind}`;
        expect(seen.has(e.kind), `${id} duplicated`).toBe(false);
        seen.add(e.kind);
        expect(e.axis, id).toBe(axis);
        for (const f of ['label', 'summary', 'math', 'derivative', 'citation'] as const) expect(e[f].length, `${id}.${f}`).toBeGreaterThan(f === 'label' ? 2 : 10);
        expect(e.citation, `${id} cites a paper`).toMatch(/arXiv|et al\./);
        // every field has a default and help text
        const defaults = e.params.parse({});
        const json = z.toJSONSchema(e.params, { io: 'input' }) as { properties?: Record<string, { default?: unknown; help?: string }> };
        for (const [name, prop] of Object.entries(json.properties ?? {})) {
          expect(prop.default, `${id}.${name} default`).toBeDefined();
          expect(prop.help, `${id}.${name} help`).toBeTruthy();
          expect((defaults as Record<string, unknown>)[name], `${id}.${name}`).toEqual(prop.default);
        }
        for (const r of e.requires) {
          for (const k of r.kinds) expect(catalogEntry(r.axis, k), `${id} requires unknown ${r.axis}/${k}`).toBeDefined();
          expect(r.why.length).toBeGreaterThan(10);
        }
      }
    }
  });

  it('every numeric parameter (entries and block options) has a range: a lower and an upper bound', () => {
    const schemas: [string, z.ZodObject][] = [['block', BlockParamsSchema], ...AXES.flatMap((a) => CATALOG[a].map((e) => [`${a}/${e.kind}`, e.params] as [string, z.ZodObject]))];
    let numeric = 0;
    for (const [id, schema] of schemas) {
      const json = z.toJSONSchema(schema, { io: 'input' }) as { properties?: Record<string, Record<string, unknown>> };
      for (const [name, p] of Object.entries(json.properties ?? {})) {
        if (p.type !== 'number' && p.type !== 'integer') continue;
        numeric++;
        expect(p.minimum ?? p.exclusiveMinimum, `${id}.${name} lower bound`).toBeTypeOf('number');
        expect(p.maximum ?? p.exclusiveMaximum, `${id}.${name} upper bound`).toBeTypeOf('number');
      }
    }
    expect(numeric).toBeGreaterThan(20);
  });

  it('block options have defaults and help', () => {
    const json = z.toJSONSchema(BlockParamsSchema, { io: 'input' }) as { properties: Record<string, { default?: unknown; help?: string }> };
    for (const [name, prop] of Object.entries(json.properties)) {
      expect(prop.default, name).toBeDefined();
      expect(prop.help, name).toBeTruthy();
    }
    for (const k of ['convSize', 'qkNorm', 'featureMap', 'betaActivation', 'gateRank', 'outputNorm', 'outputGate', 'mlstmNormalizer', 'dSkip', 'eigenvalueRange']) {
      expect(json.properties[k], k).toBeDefined();
    }
  });

  it('catalogJson is plain JSON the editor can read', () => {
    const j = catalogJson();
    expect(JSON.parse(JSON.stringify(j))).toEqual(j);
    expect(Object.keys(j.axes)).toEqual([...AXES]);
  });

  it('resolveCombo fills defaults and names the axis of a bad parameter', () => {
    const c = resolveCombo({ memory: { kind: 'matrix' }, bias: { kind: 'lp' }, retention: { kind: 'lq' }, learner: { kind: 'gd' } });
    expect(c.bias.params).toEqual(defaultParams('bias', 'lp'));
    expect(c.block.convSize).toBe(4);
    expect(() => resolveCombo({ memory: { kind: 'matrix' }, bias: { kind: 'lp', params: { p: 100 } }, retention: { kind: 'none' }, learner: { kind: 'gd' } })).toThrow(
      /ℓp regression.*p/,
    );
    expect(() => resolveCombo({ memory: { kind: 'tensor' }, bias: { kind: 'l2' }, retention: { kind: 'none' }, learner: { kind: 'gd' } })).toThrow(
      /Unknown memory architecture "tensor".*matrix/,
    );
    expect(() => resolveCombo({ memory: { kind: 'matrix' }, bias: { kind: 'l2', params: { typo: 1 } }, retention: { kind: 'none' }, learner: { kind: 'gd' } })).toThrow(/typo/);
  });
});
