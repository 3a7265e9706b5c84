/**
 * The editor's graph store (zustand + zundo) under a drag: a node drag of many frames is one
 * undo step, and moves never bump the structure version that the lowering, shape inference,
 * costs and the compile check are keyed to.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { NodeChange } from '@xyflow/react';
import { useEditor, undo, redo, type EditorNode } from '@/components/editor/store';
import { presetDesign, GALLERY_PRESETS } from '@/components/editor/presets';

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
