'use client';
/**
 * Editor state: the React Flow graph in a zustand store, with undo/redo from zundo.
 * History records only what the design document holds (ids, types, positions, params,
 * parents, edges) — selection and measurement changes are not undo steps — and a node
 * drag is one step, not one per frame.
 */
import { addEdge, applyEdgeChanges, applyNodeChanges, type Connection, type Edge, type EdgeChange, type Node, type NodeChange } from '@xyflow/react';
import { create } from 'zustand';
import { temporal } from 'zundo';
import { connectionError } from '@/engine/design/grammar';
import { DESIGN_FORMAT, DESIGN_VERSION, type DesignDoc } from '@/engine/design/document';
import { typedEdge } from './factory';

export type ParamValue = number | string | boolean;
export interface DesignNodeData extends Record<string, unknown> {
  kind?: string;
  params: Record<string, ParamValue>;
}
export type EditorNode = Node<DesignNodeData>;

interface EditorState {
  name: string;
  preset: string | null;
  nodes: EditorNode[];
  edges: Edge[];
  /** Bumped on every change the lowering can see (not on moves or selection). */
  structureVersion: number;
  onNodesChange(changes: NodeChange<EditorNode>[]): void;
  onEdgesChange(changes: EdgeChange[]): void;
  onConnect(c: Connection): void;
  addNodes(nodes: EditorNode[], edges?: Edge[]): void;
  updateNode(id: string, patch: { kind?: string; params?: Record<string, ParamValue> }): void;
  setName(name: string): void;
  loadDesign(doc: DesignDoc): void;
  replaceGraph(nodes: EditorNode[], edges: Edge[]): void;
}

/**
 * The part of the state that history and the design document care about. zundo calls this on
 * every set (drag frames included), so it is cached: per node object (a drag frame replaces
 * only the moved nodes) and per state (a frame's "after" is the next frame's "before").
 */
const nodeViews = new WeakMap<EditorNode, EditorNode>();
const edgeViews = new WeakMap<Edge[], Edge[]>();
function nodeView(n: EditorNode): EditorNode {
  let v = nodeViews.get(n);
  if (!v) {
    v = {
      id: n.id,
      type: n.type,
      position: n.position,
      data: n.data,
      ...(n.parentId ? { parentId: n.parentId } : {}),
      ...(n.type === 'stack' ? { style: n.style, width: n.width, height: n.height } : {}),
    };
    nodeViews.set(n, v);
  }
  return v;
}
type DocSource = Pick<EditorState, 'name' | 'nodes' | 'edges' | 'structureVersion' | 'preset'>;
let lastView: { src: DocSource; view: ReturnType<typeof buildDocView> } | null = null;
function buildDocView(s: DocSource) {
  let edges = edgeViews.get(s.edges);
  if (!edges) {
    edges = s.edges.map((e): Edge => ({ id: e.id, source: e.source, target: e.target, sourceHandle: e.sourceHandle, targetHandle: e.targetHandle, type: e.type, data: e.data }));
    edgeViews.set(s.edges, edges);
  }
  return { name: s.name, preset: s.preset, structureVersion: s.structureVersion, nodes: s.nodes.map(nodeView), edges };
}
function docView(s: DocSource) {
  // Inside a gesture whose undo step is recorded, zundo's snapshots are compared with nothing and
  // dropped (see `equality` below): skip building 300 node views per drag frame.
  if (batchOpen && batchRecorded && lastView) return lastView.view;
  const l = lastView?.src;
  if (!l || l.nodes !== s.nodes || l.edges !== s.edges || l.name !== s.name || l.preset !== s.preset || l.structureVersion !== s.structureVersion) {
    const view = buildDocView(s);
    lastView = { src: { name: s.name, preset: s.preset, nodes: s.nodes, edges: s.edges, structureVersion: s.structureVersion }, view };
    return view;
  }
  return lastView!.view;
}
type DocView = ReturnType<typeof docView>;

function sameDoc(a: DocView, b: DocView): boolean {
  if (a === b) return true;
  if (a.name !== b.name || a.structureVersion !== b.structureVersion || a.nodes.length !== b.nodes.length || a.edges.length !== b.edges.length) return false;
  for (let i = 0; i < a.nodes.length; i++) {
    const x = a.nodes[i];
    const y = b.nodes[i];
    if (x.id !== y.id || x.position.x !== y.position.x || x.position.y !== y.position.y || x.data !== y.data || x.parentId !== y.parentId || x.width !== y.width || x.height !== y.height) return false;
  }
  return true;
}

/**
 * Batching: while a batch is open (a node drag, or typing in one inspector field), only the
 * first change records an undo step, so one gesture undoes in one step.
 */
let batchOpen = false;
let batchRecorded = false;
export function beginBatch() {
  batchOpen = true;
  batchRecorded = false;
}
export function endBatch() {
  batchOpen = false;
  batchRecorded = false;
}
/** Groups the changes made in this tick (React Flow removes edges and nodes in two calls). */
function tickBatch() {
  if (batchOpen) return;
  beginBatch();
  queueMicrotask(endBatch);
}

export function designToFlow(doc: DesignDoc): { nodes: EditorNode[]; edges: Edge[] } {
  const nodes: EditorNode[] = doc.nodes.map((n) => ({
    id: n.id,
    type: n.type,
    position: { ...n.position },
    data: { ...(n.kind !== undefined ? { kind: n.kind } : {}), params: { ...n.params } },
    ...(n.parent ? { parentId: n.parent } : {}),
    ...(n.size ? { width: n.size.width, height: n.size.height, style: { width: n.size.width, height: n.size.height } } : {}),
  }));
  // React Flow needs parents before their children.
  nodes.sort((a, b) => Number(a.type !== 'stack') - Number(b.type !== 'stack'));
  const typeOf = new Map(doc.nodes.map((n) => [n.id, n.type]));
  const edges: Edge[] = doc.edges.map((e) => typedEdge(e, typeOf.get(e.source)));
  return { nodes, edges };
}

export function flowToDesign(s: Pick<EditorState, 'name' | 'preset' | 'nodes' | 'edges'>, viewport?: DesignDoc['viewport']): DesignDoc {
  return {
    format: DESIGN_FORMAT,
    version: DESIGN_VERSION,
    name: s.name,
    preset: s.preset,
    nodes: s.nodes.map((n) => {
      const w = n.width ?? n.measured?.width;
      const h = n.height ?? n.measured?.height;
      return {
        id: n.id,
        type: n.type ?? 'unknown',
        position: { x: n.position.x, y: n.position.y },
        parent: n.parentId ?? null,
        ...(n.type === 'stack' && w && h ? { size: { width: w, height: h } } : {}),
        ...(n.data.kind !== undefined ? { kind: n.data.kind } : {}),
        params: { ...n.data.params },
      };
    }),
    edges: s.edges.map((e) => ({ id: e.id, source: e.source, sourceHandle: e.sourceHandle ?? null, target: e.target, targetHandle: e.targetHandle ?? null })),
    ...(viewport ? { viewport } : {}),
  };
}

export const useEditor = create<EditorState>()(
  temporal(
    (set, get) => ({
      name: 'Untitled design',
      preset: null,
      nodes: [],
      edges: [],
      structureVersion: 0,
      onNodesChange(changes) {
        const pos = changes.find((c) => c.type === 'position');
        if (pos && pos.type === 'position' && pos.dragging && !batchOpen) beginBatch();
        const structural = changes.some((c) => c.type === 'remove' || c.type === 'add' || c.type === 'replace');
        if (structural) tickBatch();
        set((s) => ({ nodes: applyNodeChanges(changes, s.nodes), structureVersion: s.structureVersion + (structural ? 1 : 0) }));
        if (pos && pos.type === 'position' && !pos.dragging) endBatch();
      },
      onEdgesChange(changes) {
        const structural = changes.some((c) => c.type === 'remove' || c.type === 'add' || c.type === 'replace');
        if (structural) tickBatch();
        set((s) => ({ edges: applyEdgeChanges(changes, s.edges), structureVersion: s.structureVersion + (structural ? 1 : 0) }));
      },
      onConnect(c) {
        const s = get();
        if (connectionError({ nodes: s.nodes.map((n) => ({ id: n.id, type: n.type ?? '' })), edges: s.edges }, c, { replace: true })) return;
        const edge = typedEdge({ ...c, id: `e-${c.source}-${c.sourceHandle ?? 'out'}-${c.target}-${c.targetHandle ?? 'in'}` }, s.nodes.find((n) => n.id === c.source)?.type);
        // An input takes one edge: connecting into a taken input replaces what was there (one undo step).
        const kept = s.edges.filter((e) => !(e.target === c.target && (e.targetHandle ?? 'in') === (c.targetHandle ?? 'in')));
        set({ edges: addEdge(edge, kept), structureVersion: s.structureVersion + 1 });
      },
      addNodes(nodes, edges = []) {
        set((s) => ({
          nodes: [...s.nodes.map((n) => (n.selected ? { ...n, selected: false } : n)), ...nodes],
          edges: [...s.edges, ...edges],
          structureVersion: s.structureVersion + 1,
        }));
      },
      updateNode(id, patch) {
        set((s) => ({
          nodes: s.nodes.map((n) =>
            n.id === id
              ? {
                  ...n,
                  data: {
                    ...n.data,
                    ...(patch.kind !== undefined ? { kind: patch.kind } : {}),
                    params: patch.params ? patch.params : n.data.params,
                  },
                }
              : n,
          ),
          structureVersion: s.structureVersion + 1,
        }));
      },
      setName(name) {
        set({ name });
      },
      loadDesign(doc) {
        const { nodes, edges } = designToFlow(doc);
        set((s) => ({ name: doc.name, preset: doc.preset, nodes, edges, structureVersion: s.structureVersion + 1 }));
      },
      replaceGraph(nodes, edges) {
        set((s) => ({ nodes, edges, structureVersion: s.structureVersion + 1 }));
      },
    }),
    {
      limit: 200,
      partialize: (s) => docView(s) as unknown as EditorState,
      // Inside a gesture whose step is already recorded there is nothing to compare.
      equality: (a, b) => (batchOpen && batchRecorded) || sameDoc(a as unknown as DocView, b as unknown as DocView),
      // One undo step per gesture: record the state before its first change, skip the rest.
      handleSet: (handleSet) => (pastState, replace, currentState, deltaState) => {
        if (batchOpen) {
          if (batchRecorded) return;
          batchRecorded = true;
        }
        (handleSet as (...a: unknown[]) => void)(pastState, replace, currentState, deltaState);
      },
    },
  ),
);

export const undo = () => useEditor.temporal.getState().undo();
export const redo = () => useEditor.temporal.getState().redo();
