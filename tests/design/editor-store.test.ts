/**
 * The editor's graph store (zustand + zundo) under a drag: a node drag of many frames is one
 * undo step, and moves never bump the structure version that the lowering, shape inference,
 * costs and the compile check are keyed to.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { NodeChange } from '@xyflow/react';
import { flowToDesign, useEditor, undo, redo, type EditorNode } from '@/components/editor/store';
import { presetDesign, GALLERY_PRESETS } from '@/components/editor/presets';
import { autoConnectEdges, makeNode, withDefaultAxes } from '@/components/editor/factory';
import { emptyDesign } from '@/engine/design/document';
import { analyzeDesign } from '@/engine/design/lower';

const deltanet = GALLERY_PRESETS.find((p) => p.name === 'deltanet')!;

/** What React Flow sends while a node is dragged: position changes with dragging = true, then false. */
function drag(ids: string[], frames: number, dx: number) {
  const s = useEditor.getState();
  const start = new Map(s.nodes.map((n) => [n.id, n.position]));
  for (let f = 1; f <= frames; f++) {
    const changes: NodeChange<EditorNode>[] = ids.map((id) => ({ type: 'position', id, position: { x: start.get(id)!.x + (f * dx) / frames, y: start.get(id)!.y }, dragging: f < frames }));
    useEditor.getState().onNodesChange(changes);
  }
}
const pos = (id: string) => useEditor.getState().nodes.find((n) => n.id === id)!.position;
const history = () => useEditor.temporal.getState().pastStates.length;

beforeEach(() => {
  useEditor.getState().loadDesign(presetDesign(deltanet));
  useEditor.temporal.getState().clear();
});

describe('editor store under a drag', () => {
  it('records one undo step per drag, not one per frame, and undo puts the node back', () => {
    const before = { ...pos('L0.mlp') };
    const version = useEditor.getState().structureVersion;
    drag(['L0.mlp'], 60, 300);
    expect(pos('L0.mlp').x).toBeCloseTo(before.x + 300);
    expect(history()).toBe(1);
    expect(useEditor.getState().structureVersion).toBe(version);
    undo();
    expect(pos('L0.mlp')).toEqual(before);
    redo();
    expect(pos('L0.mlp').x).toBeCloseTo(before.x + 300);
  });

  it('dragging every node is one step too; selection changes are no step at all', () => {
    const ids = useEditor.getState().nodes.map((n) => n.id);
    useEditor.getState().onNodesChange(ids.map((id) => ({ type: 'select', id, selected: true })));
    expect(history()).toBe(0);
    const version = useEditor.getState().structureVersion;
    drag(ids, 40, -120);
    drag(ids, 40, 50);
    expect(history()).toBe(2);
    expect(useEditor.getState().structureVersion).toBe(version);
    // History holds the document, not selection or measurements.
    const past = useEditor.temporal.getState().pastStates[0] as { nodes: EditorNode[] };
    expect(past.nodes.every((n) => n.selected === undefined && n.measured === undefined)).toBe(true);
  });

  it('an edit bumps the structure version and is its own step', () => {
    const version = useEditor.getState().structureVersion;
    const mlp = useEditor.getState().nodes.find((n) => n.id === 'L0.mlp')!;
    useEditor.getState().updateNode('L0.mlp', { params: { ...mlp.data.params, hidden: 1024 } });
    expect(useEditor.getState().structureVersion).toBe(version + 1);
    expect(history()).toBe(1);
    undo();
    expect(useEditor.getState().nodes.find((n) => n.id === 'L0.mlp')!.data.params.hidden).toBe(mlp.data.params.hidden);
  });
});

describe('building block by block', () => {
  /** What adding from the palette does: the node, its axes for a Miras block, and the edges to the selected node. */
  function add(type: string) {
    const s = useEditor.getState();
    const node = makeNode(type, undefined, { x: 0, y: 0 });
    const auto = autoConnectEdges(s.nodes, s.edges, node);
    if (type === 'miras') {
      const axes = withDefaultAxes(node);
      s.addNodes([node, ...axes.nodes], [...axes.edges, ...auto]);
    } else s.addNodes([node], auto);
    return node.id;
  }

  it('wires a pre-norm layer, residual skips included, into a model that lowers', () => {
    useEditor.getState().loadDesign(emptyDesign());
    const ids = ['embedding', 'norm', 'shortConv', 'miras', 'residual', 'norm', 'mlp', 'residual', 'norm', 'head'].map(add);
    const { edges } = useEditor.getState();
    expect(edges).toHaveLength(9 + 2 + 4);
    const skip = (res: string) => edges.find((e) => e.target === res && e.targetHandle === 'skip')?.source;
    expect(skip(ids[4])).toBe(ids[0]); // the first residual adds the embedding's stream
    expect(skip(ids[7])).toBe(ids[4]); // the second adds the first residual's
    const bias = useEditor.getState().nodes.find((n) => n.type === 'bias')!;
    useEditor.getState().updateNode(bias.id, { kind: 'l2', params: {} });
    const a = analyzeDesign(flowToDesign(useEditor.getState()));
    expect(a.issues.filter((i) => i.severity === 'error')).toEqual([]);
    expect(a.spec?.layers).toHaveLength(1);
    expect(a.spec?.layers[0].mlp).toBeDefined();
  });

  it('attaches nothing when the selected output is taken, or the types do not fit', () => {
    useEditor.getState().loadDesign(emptyDesign());
    const emb = add('embedding');
    add('norm');
    // Re-select the embedding: its stream output already feeds the norm.
    useEditor.getState().onNodesChange(useEditor.getState().nodes.map((n) => ({ type: 'select' as const, id: n.id, selected: n.id === emb })));
    const s = useEditor.getState();
    expect(autoConnectEdges(s.nodes, s.edges, makeNode('mlp', undefined, { x: 0, y: 0 }))).toEqual([]);
    // An axis choice has no stream input.
    useEditor.getState().onNodesChange(s.nodes.map((n) => ({ type: 'select' as const, id: n.id, selected: n.type === 'norm' })));
    const t = useEditor.getState();
    expect(autoConnectEdges(t.nodes, t.edges, makeNode('retention', undefined, { x: 0, y: 0 }))).toEqual([]);
  });
});
