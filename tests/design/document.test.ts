/** The design file format: versioned, migrated, and clear about what is wrong. */
import { describe, expect, it } from 'vitest';
import { DESIGN_FORMAT, DESIGN_VERSION, DesignFileError, emptyDesign, parseDesign, serializeDesign, type Migration } from '@/engine/design/document';

describe('design documents', () => {
  it('round-trips an empty design', () => {
    const d = emptyDesign('x');
    expect(parseDesign(serializeDesign(d))).toEqual(d);
  });

  it('rejects non-JSON with a clear message', () => {
    expect(() => parseDesign('{ not json')).toThrowError(DesignFileError);
    expect(() => parseDesign('{ not json')).toThrow(/not valid JSON/);
  });

  it('rejects other JSON files, and recognises a bare ModelSpec', () => {
    expect(() => parseDesign('[1,2]')).toThrow(/not a Miras Studio design/);
    expect(() => parseDesign({ hello: 1 })).toThrow(/"format" is missing/);
    expect(() => parseDesign({ dModel: 64, layers: [] })).toThrow(/looks like a ModelSpec/);
  });

  it('refuses files from a newer app and unknown versions', () => {
    expect(() => parseDesign({ format: DESIGN_FORMAT, version: DESIGN_VERSION + 1, nodes: [], edges: [] })).toThrow(/newer Miras Studio .*version 2.*up to 1/);
    expect(() => parseDesign({ format: DESIGN_FORMAT, version: '1', nodes: [], edges: [] })).toThrow(/unknown schema version "1"/);
  });

  it('names the malformed field', () => {
    expect(() => parseDesign({ format: DESIGN_FORMAT, version: 1, nodes: [{ id: 'a', type: 'norm', position: { x: 'left', y: 0 } }], edges: [] })).toThrow(
      /malformed: nodes\.0\.position\.x/,
    );
    expect(() =>
      parseDesign({ format: DESIGN_FORMAT, version: 1, nodes: [{ id: 'a', type: 'norm', position: { x: 0, y: 0 } }], edges: [{ id: 'e', source: 'a', target: 'zz' }] }),
    ).toThrow(/edge "e" refers to a node that does not exist/);
    expect(() =>
      parseDesign({
        format: DESIGN_FORMAT,
        version: 1,
        nodes: [
          { id: 'a', type: 'norm', position: { x: 0, y: 0 } },
          { id: 'a', type: 'mlp', position: { x: 0, y: 0 } },
        ],
        edges: [],
      }),
    ).toThrow(/node id "a" appears twice/);
  });

  it('runs the migration chain for older versions', () => {
    // A hypothetical version-0 file kept positions as [x, y]; a migration step lifts it to version 1.
    const steps: Migration[] = [
      {
        from: 0,
        describe: 'positions as objects',
        migrate: (d) => ({ ...d, nodes: (d.nodes as { pos: [number, number] }[]).map(({ pos, ...n }) => ({ ...n, position: { x: pos[0], y: pos[1] } })) }),
      },
    ];
    const migrated = parseDesign({ format: DESIGN_FORMAT, version: 0, name: 'old', nodes: [{ id: 'a', type: 'norm', pos: [3, 4] }], edges: [] }, steps);
    expect(migrated.version).toBe(DESIGN_VERSION);
    expect(migrated.nodes[0].position).toEqual({ x: 3, y: 4 });
    // Without the step, version 0 is unknown; with a gap in the chain, the missing step is named.
    expect(() => parseDesign({ format: DESIGN_FORMAT, version: 0, nodes: [], edges: [] })).toThrow(/unknown schema version 0; this app reads versions 1 to 1/);
    const gap: Migration[] = [{ from: -1, describe: 'gap', migrate: (d) => d }];
    expect(() => parseDesign({ format: DESIGN_FORMAT, version: 0, nodes: [], edges: [] }, gap)).toThrow(/No migration from design schema version 0 to 1/);
  });
});
