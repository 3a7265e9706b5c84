'use client';
/**
 * Auto-layout with elkjs (layered, top to bottom). Handles are passed as ELK ports with
 * fixed sides so the layout respects which side each port sits on (React Flow #3603);
 * stacks are laid out with their children (hierarchyHandling INCLUDE_CHILDREN).
 */
import ELK, { type ElkExtendedEdge, type ElkNode, type ElkPort } from 'elkjs/lib/elk.bundled.js';
import type { Edge } from '@xyflow/react';
import { nodeTypeDef } from '@/engine/design/grammar';
import type { EditorNode } from './store';

const elk = new ELK();

function ports(n: EditorNode): ElkPort[] {
  const def = nodeTypeDef(n.type ?? '');
  if (!def) return [];
  const side = (id: string, dir: 'in' | 'out') => {
    if (dir === 'out') return def.outputs[0]?.type === 'seq' ? 'SOUTH' : 'EAST';
    if (id === 'skip') return 'EAST';
    if (id === 'in' || id === 'branch') return 'NORTH';
    return 'WEST';
  };
  return [
    ...def.inputs.map((p, i) => ({ id: `${n.id}::in::${p.id}`, layoutOptions: { 'elk.port.side': side(p.id, 'in'), 'elk.port.index': String(i) } })),
    ...def.outputs.map((p, i) => ({ id: `${n.id}::out::${p.id}`, layoutOptions: { 'elk.port.side': side(p.id, 'out'), 'elk.port.index': String(i) } })),
  ];
}

export async function layoutGraph(nodes: EditorNode[], edges: Edge[]): Promise<EditorNode[]> {
  const size = (n: EditorNode) => ({ width: n.measured?.width ?? n.width ?? 210, height: n.measured?.height ?? n.height ?? 60 });
  const toElk = (n: EditorNode): ElkNode => {
    const children = nodes.filter((c) => c.parentId === n.id);
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
    },
    children: nodes.filter((n) => !n.parentId).map(toElk),
    edges: elkEdges,
  };
  const out = await elk.layout(graph);
  const pos = new Map<string, { x: number; y: number; width?: number; height?: number }>();
  const walk = (n: ElkNode) => {
    for (const c of n.children ?? []) {
      pos.set(c.id, { x: c.x ?? 0, y: c.y ?? 0, width: c.width, height: c.height });
      walk(c);
    }
  };
  walk(out);
  return nodes.map((n) => {
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
