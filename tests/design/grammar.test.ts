/** The graph grammar: typed ports, one edge per input, no cycles, reasons in words. */
import { describe, expect, it } from 'vitest';
import { AXES } from '@/engine/spec';
import { connectionError, nodeTypeDef, portOf, reaches, STRUCTURE_TYPES } from '@/engine/design/grammar';

const nodes = [
  { id: 'emb', type: 'embedding' },
  { id: 'n1', type: 'norm' },
  { id: 'm', type: 'miras' },
  { id: 'r', type: 'residual' },
  { id: 'ret', type: 'retention' },
  { id: 'mem', type: 'memory' },
  { id: 'head', type: 'head' },
];

describe('connection grammar', () => {
  const g = { nodes, edges: [] as { source: string; target: string; sourceHandle?: string | null; targetHandle?: string | null }[] };

  it('accepts a retention gate into the retention port', () => {
    expect(connectionError(g, { source: 'ret', sourceHandle: 'out', target: 'm', targetHandle: 'retention' })).toBeNull();
  });

  it('refuses a retention gate anywhere else, saying why', () => {
    for (const port of ['memory', 'bias', 'learner', 'in']) {
      const why = connectionError(g, { source: 'ret', sourceHandle: 'out', target: 'm', targetHandle: port });
      expect(why).toMatch(/retention gate cannot plug into/);
    }
    expect(connectionError(g, { source: 'ret', sourceHandle: 'out', target: 'n1', targetHandle: 'in' })).toMatch(/takes a sequence stream/);
  });

  it('refuses the sequence stream into an axis port', () => {
    expect(connectionError(g, { source: 'emb', sourceHandle: 'out', target: 'm', targetHandle: 'memory' })).toMatch(/sequence stream .* cannot plug into the memory architecture port/);
  });

  it('refuses a second edge into the same input', () => {
    const g2 = { nodes, edges: [{ source: 'mem', sourceHandle: 'out', target: 'm', targetHandle: 'memory' }] };
    expect(connectionError(g2, { source: 'mem', sourceHandle: 'out', target: 'm', targetHandle: 'memory' })).toMatch(/already connected/);
  });

  it('refuses cycles and self-loops', () => {
    const g3 = {
      nodes,
      edges: [
        { source: 'emb', sourceHandle: 'out', target: 'n1', targetHandle: 'in' },
        { source: 'n1', sourceHandle: 'out', target: 'm', targetHandle: 'in' },
        { source: 'm', sourceHandle: 'out', target: 'r', targetHandle: 'branch' },
      ],
    };
    expect(reaches(g3, 'emb', 'r')).toBe(true);
    expect(connectionError(g3, { source: 'r', sourceHandle: 'out', target: 'n1', targetHandle: 'in' })).toMatch(/already connected|cycle/);
    const g4 = { nodes: [...nodes, { id: 'n2', type: 'norm' }], edges: g3.edges };
    expect(connectionError({ ...g4, edges: [...g4.edges, { source: 'r', sourceHandle: 'out', target: 'n2', targetHandle: 'in' }] }, { source: 'n2', sourceHandle: 'out', target: 'm', targetHandle: 'in' })).toMatch(/already connected/);
    expect(connectionError(g4, { source: 'r', sourceHandle: 'out', target: 'r', targetHandle: 'skip' })).toMatch(/cannot feed itself/);
    const g5 = { nodes: [...nodes, { id: 'n2', type: 'norm' }], edges: [{ source: 'n1', sourceHandle: 'out', target: 'n2', targetHandle: 'in' }] };
    expect(connectionError(g5, { source: 'n2', sourceHandle: 'out', target: 'n1', targetHandle: 'in' })).toMatch(/cycle/);
  });

  it('refuses unknown handles and missing nodes', () => {
    expect(connectionError(g, { source: 'emb', sourceHandle: 'nope', target: 'n1', targetHandle: 'in' })).toMatch(/has no output/);
    expect(connectionError(g, { source: 'ghost', sourceHandle: 'out', target: 'n1', targetHandle: 'in' })).toMatch(/not on the canvas/);
  });

  it('gives every structure type and axis a definition with typed ports', () => {
    for (const t of STRUCTURE_TYPES) expect(nodeTypeDef(t)?.type).toBe(t);
    for (const a of AXES) expect(portOf(a, 'out', 'out')?.type).toBe(a);
    expect(nodeTypeDef('miras')!.inputs.map((p) => p.type)).toEqual(['seq', ...AXES]);
  });
});
