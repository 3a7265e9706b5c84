'use client';
/** New nodes with catalog/grammar defaults, and copy/paste with fresh ids. */
import type { Edge } from '@xyflow/react';
import { AXES } from '@/engine/spec';
import { STRUCTURE_PARAMS, connectionError, isAxisType, portOf, type StructureType } from '@/engine/design/grammar';
import { axisEntries, axisParamsSchema, blockParamsSchema } from '@/engine/design/catalog';
import { schemaDefaults } from '@/engine/design/form';
import type { EditorNode, ParamValue } from './store';

let seq = 0;
export function freshId(prefix: string): string {
  seq = (seq + 1) % 1e6;
  return `${prefix}-${Date.now().toString(36)}${seq.toString(36)}`;
}

export function defaultParams(type: string, kind?: string): Record<string, ParamValue> {
  if (isAxisType(type)) return schemaDefaults(axisParamsSchema(type, kind ?? axisEntries(type)[0]?.kind ?? ''));
  if (type === 'miras') return { ...schemaDefaults(STRUCTURE_PARAMS.miras), ...schemaDefaults(blockParamsSchema()) };
  if (type in STRUCTURE_PARAMS) return schemaDefaults(STRUCTURE_PARAMS[type as StructureType]);
  return {};
}

export function makeNode(type: string, kind: string | undefined, position: { x: number; y: number }, parentId?: string): EditorNode {
  const k = isAxisType(type) ? (kind ?? axisEntries(type)[0]?.kind) : undefined;
  const node: EditorNode = {
    id: freshId(type),
    type,
    position,
    data: { ...(k !== undefined ? { kind: k } : {}), params: defaultParams(type, k) },
    selected: true,
    ...(parentId ? { parentId } : {}),
  };
  if (type === 'stack') Object.assign(node, { width: 520, height: 380, style: { width: 520, height: 380 } });
  return node;
}

/** Edges carry their port type so the edge component can colour and label them without store lookups. */
export function typedEdge(e: Pick<Edge, 'id' | 'source' | 'target' | 'sourceHandle' | 'targetHandle'>, sourceType: string | undefined): Edge {
  const port = sourceType ? portOf(sourceType, 'out', e.sourceHandle) : undefined;
  return { ...e, type: 'typed', data: { portType: port?.type ?? 'seq' } };
}

/** Copies of `nodes` (and the edges among them) with new ids, shifted by `offset`. */
export function duplicate(nodes: EditorNode[], edges: Edge[], offset: number): { nodes: EditorNode[]; edges: Edge[] } {
  const ids = new Map(nodes.map((n) => [n.id, freshId(n.type ?? 'node')]));
  const outNodes = nodes.map((n) => {
    const parentCopied = n.parentId && ids.has(n.parentId);
    const copy: EditorNode = {
      ...n,
      id: ids.get(n.id)!,
      position: parentCopied ? { ...n.position } : { x: n.position.x + offset, y: n.position.y + offset },
      data: { ...n.data, params: { ...n.data.params } },
      selected: true,
      measured: undefined,
    };
    if (n.parentId) {
      if (parentCopied) copy.parentId = ids.get(n.parentId);
      else copy.parentId = n.parentId;
    }
    return copy;
  });
  outNodes.sort((a, b) => Number(a.type !== 'stack') - Number(b.type !== 'stack'));
  const outEdges = edges
    .filter((e) => ids.has(e.source) && ids.has(e.target))
    .map((e) => ({ ...e, id: freshId('e'), source: ids.get(e.source)!, target: ids.get(e.target)!, selected: false }));
  return { nodes: outNodes, edges: outEdges };
}

/** Default axis nodes (first catalog entry per axis) to the left of a Miras block, connected. */
export function withDefaultAxes(block: EditorNode): { nodes: EditorNode[]; edges: Edge[] } {
  const nodes = AXES.map((axis, i) => ({
    ...makeNode(axis, undefined, { x: block.position.x - 250, y: block.position.y - 30 + i * 70 }, block.parentId),
    selected: false,
  }));
  const edges = nodes.map((n, i) => typedEdge({ id: freshId('e'), source: n.id, sourceHandle: 'out', target: block.id, targetHandle: AXES[i] }, n.type));
  return { nodes, edges };
}

/**
 * Building a model block by block: a new stream node attaches after the selected node when that
 * node's stream output is still free (a Residual takes it as its branch, and its skip from the
 * stream that entered the sublayer: the input of the nearest Norm upstream). Returns the edges,
 * each checked against the grammar; none when nothing fits, so the node just lands unconnected.
 */
export function autoConnectEdges(nodes: EditorNode[], edges: Edge[], added: EditorNode): Edge[] {
  const selected = nodes.filter((n) => n.selected);
  if (selected.length !== 1) return [];
  const prev = selected[0];
  const out = portOf(prev.type ?? '', 'out', 'out');
  const input = added.type === 'residual' ? 'branch' : 'in';
  if (out?.type !== 'seq' || portOf(added.type ?? '', 'in', input)?.type !== 'seq') return [];
  // Free: no stream edge leaves it yet (a skip into a Residual does not count).
  if (edges.some((e) => e.source === prev.id && e.targetHandle !== 'skip')) return [];
  const graph = { nodes: [...nodes, added].map((n) => ({ id: n.id, type: n.type ?? '' })), edges: [...edges] };
  const want: Pick<Edge, 'source' | 'sourceHandle' | 'target' | 'targetHandle'>[] = [{ source: prev.id, sourceHandle: 'out', target: added.id, targetHandle: input }];
  if (added.type === 'residual') {
    const into = (id: string) => edges.find((e) => e.target === id && (e.targetHandle ?? 'in') === 'in');
    let cur: string | undefined = prev.id;
    for (let k = 0; cur && k < 16; k++) {
      const node = nodes.find((n) => n.id === cur);
      const e = into(cur);
      if (node?.type === 'norm') {
        if (e) want.push({ source: e.source, sourceHandle: e.sourceHandle ?? 'out', target: added.id, targetHandle: 'skip' });
        break;
      }
      cur = e?.source;
    }
  }
  const typeOf = new Map([...nodes, added].map((n) => [n.id, n.type]));
  const made: Edge[] = [];
  for (const w of want) {
    if (connectionError(graph, w)) continue;
    const edge = typedEdge({ ...w, id: `e-${w.source}-${w.sourceHandle}-${w.target}-${w.targetHandle}` }, typeOf.get(w.source));
    graph.edges.push(edge);
    made.push(edge);
  }
  return made;
}
