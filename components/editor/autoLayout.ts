'use client';
/**
 * Auto-layout with elkjs (layered, top to bottom). Handles are passed as ELK ports with
 * fixed sides so the layout respects which side each port sits on (React Flow #3603);
 * stacks are laid out with their children (hierarchyHandling INCLUDE_CHILDREN). Axis choices
 * plugged into a Miras block are not layered: they are stacked beside their block afterwards,
 * the way the presets draw them.
 */
import ELK, { type ElkExtendedEdge, type ElkNode, type ElkPort } from 'elkjs/lib/elk.bundled.js';
import type { Edge } from '@xyflow/react';
import { AXES } from '@/engine/spec';
import { isAxisType, nodeTypeDef } from '@/engine/design/grammar';
import { LAYOUT } from '@/engine/design/raise';
import type { EditorNode } from './store';

const elk = new ELK();

function ports(n: EditorNode): ElkPort[] {
  const def = nodeTypeDef(n.type ?? '');
  if (!def) return [];
  const side = (id: string, dir: 'in' | 'out') => {
    if (dir === 'out') return def.outputs[0]?.type === 'seq' ? 'SOUTH' : 'EAST';
    // The skip input is drawn on the right, but laying it out as a top input keeps the column straight.
    if (id === 'in' || id === 'branch' || id === 'skip') return 'NORTH';
    return 'WEST';
  };
  return [
    ...def.inputs.map((p, i) => ({ id: `${n.id}::in::${p.id}`, layoutOptions: { 'elk.port.side': side(p.id, 'in'), 'elk.port.index': String(i) } })),
    ...def.outputs.map((p, i) => ({ id: `${n.id}::out::${p.id}`, layoutOptions: { 'elk.port.side': side(p.id, 'out'), 'elk.port.index': String(i) } })),
  ];
}

export async function layoutGraph(allNodes: EditorNode[], allEdges: Edge[]): Promise<EditorNode[]> {
  // Axis nodes that feed exactly one Miras block ride along with it.
  const byId = new Map(allNodes.map((n) => [n.id, n]));
  const attached = new Map<string, { block: string; slot: number }>();
  for (const n of allNodes) {
    if (!isAxisType(n.type ?? '')) continue;
    const out = allEdges.filter((e) => e.source === n.id);
    const target = out.length === 1 ? byId.get(out[0].target) : undefined;
    if (target?.type === 'miras' && target.parentId === n.parentId) attached.set(n.id, { block: target.id, slot: AXES.indexOf(out[0].targetHandle as (typeof AXES)[number]) });
  }
  const nodes = allNodes.filter((n) => !attached.has(n.id));
  const edges = allEdges.filter((e) => !attached.has(e.source));
  const size = (n: EditorNode) => ({ width: n.measured?.width ?? n.width ?? 210, height: n.measured?.height ?? n.height ?? 60 });
  const AXIS_ROOM = LAYOUT.axisWidth + 40;
  const toElk = (n: EditorNode): ElkNode => {
    const children = nodes.filter((c) => c.parentId === n.id);
    if (n.type === 'miras') {
      // A Miras block reserves room on its left for its axis choices; its stream ports stay on its own centre line.
      const { width, height } = size(n);
      const h = Math.max(height, 4 * (LAYOUT.heights.axis + 8) - 30);
      const mid = AXIS_ROOM + width / 2;
      return {
        id: n.id,
        width: width + AXIS_ROOM,
        height: h,
        layoutOptions: { 'elk.portConstraints': 'FIXED_POS' },
        ports: [
          { id: `${n.id}::in::in`, x: mid, y: 0, width: 1, height: 1, layoutOptions: { 'elk.port.side': 'NORTH' } },
          ...AXES.map((a, i) => ({ id: `${n.id}::in::${a}`, x: 0, y: 20 + i * 20, width: 1, height: 1, layoutOptions: { 'elk.port.side': 'WEST' } })),
          { id: `${n.id}::out::out`, x: mid, y: h, width: 1, height: 1, layoutOptions: { 'elk.port.side': 'SOUTH' } },
        ],
      };
    }
    return {
      id: n.id,
      ...(children.length ? {} : size(n)),
      ports: ports(n),
      layoutOptions: {
        'elk.portConstraints': 'FIXED_SIDE',
        ...(children.length ? { 'elk.padding': '[top=40,left=16,bottom=16,right=16]' } : {}),
      },
      children: children.map(toElk),
    };
  };
  const elkEdges: ElkExtendedEdge[] = edges.map((e) => ({
    id: e.id,
    sources: [`${e.source}::out::${e.sourceHandle ?? 'out'}`],
    targets: [`${e.target}::in::${e.targetHandle ?? 'in'}`],
  }));
  const graph: ElkNode = {
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'DOWN',
      'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
      'elk.layered.spacing.nodeNodeBetweenLayers': '28',
      'elk.spacing.nodeNode': '24',
      'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
      'elk.layered.nodePlacement.bk.fixedAlignment': 'BALANCED',
      'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',

    },
    children: nodes.filter((n) => !n.parentId).map(toElk),
    edges: elkEdges,
  };
  const out = await elk.layout(graph);
  const pos = new Map<string, { x: number; y: number; width?: number; height?: number }>();
  const walk = (n: ElkNode) => {
    for (const c of n.children ?? []) {
      const shift = byId.get(c.id)?.type === 'miras' ? AXIS_ROOM : 0;
      pos.set(c.id, { x: (c.x ?? 0) + shift, y: c.y ?? 0, width: c.width, height: c.height });
      walk(c);
    }
  };
  walk(out);
  for (const [id, { block, slot }] of attached) {
    const b = pos.get(block);
    if (b) pos.set(id, { x: b.x - AXIS_ROOM + 10, y: b.y - 10 + slot * (LAYOUT.heights.axis + 8) });
  }
  return allNodes.map((n) => {
    const p = pos.get(n.id);
    if (!p) return n;
    const next: EditorNode = { ...n, position: { x: p.x, y: p.y } };
    if (n.type === 'stack' && p.width && p.height) {
      next.width = p.width;
      next.height = p.height;
      next.style = { ...n.style, width: p.width, height: p.height };
    }
    return next;
  });
}
