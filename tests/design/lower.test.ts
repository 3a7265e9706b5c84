/** designToSpec: errors in words, located on the node or edge at fault. */
import { describe, expect, it } from 'vitest';
import { analyzeDesign, designToSpec, DesignError } from '@/engine/design/lower';
import { specToDesign } from '@/engine/design/raise';
import type { DesignDoc } from '@/engine/design/document';
import { allPresets } from './presets';

const preset = (name: string, nLayers = 2) => {
  const p = allPresets().find((x) => x.name === name)!;
  return specToDesign(p.build({ vocabSize: 64, dModel: 64, nLayers }), { preset: name });
};
const errors = (doc: DesignDoc) => analyzeDesign(doc).issues.filter((i) => i.severity === 'error');
const clone = (d: DesignDoc): DesignDoc => structuredClone(d);

describe('designToSpec errors', () => {
  it('says what to do on an empty canvas', () => {
    const doc: DesignDoc = { format: 'miras-studio/design', version: 1, name: 'x', preset: null, nodes: [], edges: [] };
    expect(errors(doc)[0].message).toMatch(/canvas is empty/);
    expect(() => designToSpec(doc)).toThrow(DesignError);
  });

  it('puts a missing axis on the Miras block', () => {
    const doc = clone(preset('deltanet', 1));
    const edge = doc.edges.find((e) => e.targetHandle === 'retention')!;
    doc.edges = doc.edges.filter((e) => e !== edge);
    const errs = errors(doc);
    expect(errs).toHaveLength(1);
    expect(errs[0].nodeId).toBe(edge.target);
    expect(errs[0].message).toMatch(/no retention gate/);
  });

  it('puts an ill-defined combination on the axis node at fault (KL retention needs a positive memory)', () => {
    const doc = clone(preset('memora', 1));
    const miras = doc.nodes.find((n) => n.type === 'miras')!;
    miras.params.memoryInit = 'zeros';
    const errs = errors(doc);
    const ret = doc.nodes.find((n) => n.type === 'retention')!;
    expect(errs.some((e) => e.nodeId === ret.id && /positive memory/.test(e.message) && /Fix:/.test(e.message))).toBe(true);
  });

  it('puts an out-of-range parameter on its node', () => {
    const doc = clone(preset('deltanet', 1));
    const mlp = doc.nodes.find((n) => n.type === 'mlp')!;
    mlp.params.hidden = 0;
    const errs = errors(doc);
    expect(errs[0].nodeId).toBe(mlp.id);
    expect(errs[0].message).toMatch(/MLP: hidden: .*>=1/);
  });

  it('puts a type-mismatched edge (from a hand-edited file) on the edge', () => {
    const doc = clone(preset('deltanet', 1));
    const e = doc.edges.find((x) => x.targetHandle === 'memory')!;
    e.targetHandle = 'retention';
    doc.edges = doc.edges.filter((x) => x === e || x.targetHandle !== 'retention');
    const errs = errors(doc);
    expect(errs[0].edgeId).toBe(e.id);
    expect(errs[0].message).toMatch(/memory architecture cannot plug into the retention gate port/);
  });

  it('needs a final norm before the head', () => {
    const doc = clone(preset('deltanet', 1));
    const fn = doc.nodes.find((n) => n.id === 'final.norm')!;
    const into = doc.edges.find((e) => e.target === fn.id)!;
    const out = doc.edges.find((e) => e.source === fn.id)!;
    doc.nodes = doc.nodes.filter((n) => n !== fn);
    doc.edges = doc.edges.filter((e) => e !== into && e !== out);
    doc.edges.push({ id: 'direct', source: into.source, sourceHandle: 'out', target: out.target, targetHandle: 'in' });
    const errs = errors(doc);
    expect(errs[0].edgeId).toBe('direct');
    expect(errs[0].message).toMatch(/preceded by a final Norm/);
  });

  it('requires one norm kind and flags the norm that differs', () => {
    const doc = clone(preset('deltanet', 1));
    const n = doc.nodes.filter((x) => x.type === 'norm')[1];
    n.params.kind = 'layernorm';
    const errs = errors(doc);
    expect(errs[0].nodeId).toBe(n.id);
    expect(errs[0].message).toMatch(/share one kind/);
  });

  it('flags a sublayer whose output does not reach a residual skip', () => {
    const doc = clone(preset('deltanet', 1));
    const skip = doc.edges.find((e) => e.targetHandle === 'skip')!;
    doc.edges = doc.edges.filter((e) => e !== skip);
    const errs = errors(doc);
    expect(errs[0].nodeId).toBe(skip.source);
    expect(errs[0].message).toMatch(/must split into a Norm and the skip input of a Residual/);
  });

  it('warns about nodes that are not part of the model but still lowers', () => {
    const doc = clone(preset('deltanet', 1));
    doc.nodes.push({ id: 'stray', type: 'mlp', position: { x: 0, y: 0 }, parent: null, params: { hidden: 32 } });
    const a = analyzeDesign(doc);
    expect(a.spec).not.toBeNull();
    expect(a.issues).toEqual([{ severity: 'warning', nodeId: 'stray', message: 'MLP is not connected to the model and is ignored.' }]);
  });

  it('repeats the layers of a Stack ×N and changing N changes the layer count', () => {
    const doc = clone(preset('deltanet', 3));
    const stack = doc.nodes.find((n) => n.type === 'stack')!;
    expect(designToSpec(doc).layers).toHaveLength(3);
    stack.params.repeat = 7;
    expect(designToSpec(doc).layers).toHaveLength(7);
  });

  it('infers the stream shape on every sequence edge', () => {
    const a = analyzeDesign(preset('deltanet', 1));
    expect(Object.values(a.edgeShapes)).toContain('B×T×64');
  });
});
