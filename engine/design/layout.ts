/**
 * Auto-layout of a design graph with elkjs (layered, top to bottom, the model's flow direction).
 *
 * ELK's one-pass hierarchical mode (INCLUDE_CHILDREN) places the nodes of a "stack ×N" group
 * unevenly: long residual-skip edges crossing the group's border pull the column sideways and
 * the group is not sized from its children. So the layout here is bottom-up instead:
 *
 * 1. A Miras block and the axis choices plugged into it form one box (axes stacked on its left,
 *    in axis order, as the presets draw them). An axis choice that feeds nothing, or more than
 *    one block, is laid out as a node of its own.
 * 2. Each stack is laid out on its own first (recursively) and sized to fit its children plus
 *    padding and a header. In the graph around it, it is one box whose entry and exit ports sit
 *    exactly above and below the inner nodes the stream enters and leaves through, so the main
 *    column runs straight through the group.
 * 3. Every level is one flat ELK layered graph with ports at fixed positions (stream ports at the
 *    centre of a node's top and bottom, the residual's skip input on its right, axis outputs on
 *    the right), network-simplex placement with the stream's edges weighted to run straight.
 *
 * Positions come back relative to the parent stack, as React Flow and the design document store
 * them. `layoutProblems` checks a result (no overlaps, children inside their group) and is what
 * the tests assert for every preset.
 */
import ELK from 'elkjs/lib/elk.bundled.js';
import type { ElkExtendedEdge, ElkNode, ElkPort } from 'elkjs/lib/elk-api';
import { AXES } from '../spec';
import { isAxisType, nodeTypeDef } from './grammar';

export interface LayoutInputNode {
  id: string;
  type: string;
  parent: string | null;
  /** Measured size; stacks are sized by the layout. */
  width: number;
  height: number;
}
export interface LayoutInputEdge {
  source: string;
  sourceHandle: string | null;
  target: string;
  targetHandle: string | null;
}
export interface LayoutBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Spacing, in flow units. */
export const LAYOUT_SPACING = {
  /** Between consecutive layers (vertical gap between a node and the next one down the stream). */
  layer: 30,
  /** Between nodes side by side in one layer. */
  node: 28,
  /** Between an axis choice and the block it feeds. */
  axisGap: 44,
  /** Between stacked axis choices. */
  axisStack: 10,
  /** Inside a stack: header (title) and the other sides. */
  stackHeader: 40,
  stackPad: 20,
};

const elk = new ELK();

interface Member {
  id: string;
  width: number;
  height: number;
  /** Fixed port positions (relative to the member's box), by `in:<handle>` / `out:<handle>`. */
  ports: Map<string, { x: number; y: number; side: 'NORTH' | 'SOUTH' | 'EAST' | 'WEST' }>;
  /** Positions of what the box contains (the axes of a Miras block, the children of a stack), relative to the box. */
  inner: Map<string, LayoutBox>;
  /** Where inside the box the member's own node sits (a Miras block sits right of its axes). */
  self: { x: number; y: number };
}

/** The stream ports of a plain node at fixed positions, matching the editor's handles. */
function nodePorts(type: string, w: number, h: number): Member['ports'] {
  const ports: Member['ports'] = new Map();
  const def = nodeTypeDef(type);
  if (!def) return ports;
  for (const p of def.inputs) {
    if (p.type !== 'seq') continue; // axis inputs belong to Miras blocks, handled with their axes
    ports.set(`in:${p.id}`, p.id === 'skip' ? { x: w, y: h / 2, side: 'EAST' } : { x: w / 2, y: 0, side: 'NORTH' });
  }
  for (const p of def.outputs) ports.set(`out:${p.id}`, p.type === 'seq' ? { x: w / 2, y: h, side: 'SOUTH' } : { x: w, y: h / 2, side: 'EAST' });
  return ports;
}

/** Lays out a whole design. Returns a box per node: position relative to its parent, and its size (stacks: the fitted size). */
export async function layoutDesign(nodes: LayoutInputNode[], edges: LayoutInputEdge[]): Promise<Map<string, LayoutBox>> {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const parentOf = (id: string): string | null => {
    const p = byId.get(id)?.parent ?? null;
    return p && byId.get(p)?.type === 'stack' ? p : null;
  };
  // Axis choices that feed exactly one Miras block in the same group ride along with it.
  const attached = new Map<string, string[]>(); // block id -> axis node ids, in axis order
  const rider = new Set<string>();
  for (const n of nodes) {
    if (!isAxisType(n.type)) continue;
    const out = edges.filter((e) => e.source === n.id);
    const target = out.length === 1 ? byId.get(out[0].target) : undefined;
    if (target?.type !== 'miras' || parentOf(target.id) !== parentOf(n.id)) continue;
    rider.add(n.id);
    const list = attached.get(target.id) ?? [];
    list.push(n.id);
    attached.set(target.id, list);
  }
  const slot = (axisId: string) => {
    const e = edges.find((x) => x.source === axisId);
    const i = AXES.indexOf((e?.targetHandle ?? '') as (typeof AXES)[number]);
    return i < 0 ? AXES.length : i;
  };
  for (const list of attached.values()) list.sort((a, b) => slot(a) - slot(b));

  const children = new Map<string | null, string[]>();
  for (const n of nodes) {
    if (rider.has(n.id)) continue;
    const p = parentOf(n.id);
    children.set(p, [...(children.get(p) ?? []), n.id]);
  }
  // Which member of a container holds a node (the node itself, its Miras block, or the stack it is nested in).
  const holderIn = (container: string | null, id: string): string | null => {
    let cur: string | null = id;
    if (rider.has(id)) {
      const e = edges.find((x) => x.source === id);
      cur = e ? e.target : id;
    }
    while (cur !== null) {
      const p = parentOf(cur);
      if (p === container) return cur;
      cur = p;
    }
    return null;
  };

  const result = new Map<string, LayoutBox>();

  const mirasMember = (n: LayoutInputNode): Member => {
    const axes = (attached.get(n.id) ?? []).map((id) => byId.get(id)!);
    const axisW = axes.reduce((m, a) => Math.max(m, a.width), 0);
    const axisH = axes.reduce((s, a) => s + a.height, 0) + LAYOUT_SPACING.axisStack * Math.max(0, axes.length - 1);
    const left = axes.length ? axisW + LAYOUT_SPACING.axisGap : 0;
    const height = Math.max(n.height, axisH);
    const self = { x: left, y: (height - n.height) / 2 };
    const inner = new Map<string, LayoutBox>();
    let y = (height - axisH) / 2;
    for (const a of axes) {
      inner.set(a.id, { x: axisW - a.width, y, width: a.width, height: a.height });
      y += a.height + LAYOUT_SPACING.axisStack;
    }
    const cx = left + n.width / 2;
    const ports: Member['ports'] = new Map([
      ['in:in', { x: cx, y: 0, side: 'NORTH' as const }],
      ['out:out', { x: cx, y: height, side: 'SOUTH' as const }],
    ]);
    // Unattached axis inputs (an axis choice shared by several blocks) enter from the left.
    AXES.forEach((a, i) => ports.set(`in:${a}`, { x: 0, y: Math.min(height, self.y + 62 + i * 22), side: 'WEST' }));
    return { id: n.id, width: left + n.width, height, ports, inner, self };
  };

  /** Lays out the members of one container; returns their boxes relative to the container's content origin. */
  const layoutLevel = async (container: string | null): Promise<{ members: Map<string, Member>; pos: Map<string, { x: number; y: number }> }> => {
    const ids = children.get(container) ?? [];
    const members = new Map<string, Member>();
    for (const id of ids) {
      const n = byId.get(id)!;
      if (n.type === 'stack') members.set(id, await stackMember(n));
      else if (n.type === 'miras') members.set(id, mirasMember(n));
      else members.set(id, { id, width: n.width, height: n.height, ports: nodePorts(n.type, n.width, n.height), inner: new Map(), self: { x: 0, y: 0 } });
    }
    const elkEdges: ElkExtendedEdge[] = [];
    const used = new Map<string, Set<string>>();
    const portId = (member: string, key: string) => {
      const m = members.get(member)!;
      let k = key;
      if (!m.ports.has(k)) k = key.startsWith('in:') ? 'in:in' : 'out:out';
      if (!m.ports.has(k)) return null;
      (used.get(member) ?? used.set(member, new Set()).get(member)!).add(k);
      return `${member}::${k}`;
    };
    edges.forEach((e, i) => {
      const s = holderIn(container, e.source);
      const t = holderIn(container, e.target);
      if (s === null || t === null || s === t) return;
      // Into or out of a stack: through the stack's own entry/exit port.
      const sKey = s === e.source ? `out:${e.sourceHandle ?? 'out'}` : 'out:out';
      const tKey = t === e.target ? `in:${e.targetHandle ?? 'in'}` : 'in:in';
      const sp = portId(s, sKey);
      const tp = portId(t, tKey);
      if (!sp || !tp) return;
      const main = tKey === 'in:in' || tKey === 'in:branch';
      elkEdges.push({
        id: `e${i}`,
        sources: [sp],
        targets: [tp],
        layoutOptions: main ? { 'elk.layered.priority.straightness': '10', 'elk.layered.priority.shortness': '10' } : { 'elk.layered.priority.straightness': '0' },
      });
    });
    const elkChildren: ElkNode[] = ids.map((id) => {
      const m = members.get(id)!;
      const ports: ElkPort[] = [...m.ports.entries()]
        .filter(([k]) => used.get(id)?.has(k))
        .map(([k, p]) => ({ id: `${id}::${k}`, x: p.x, y: p.y, width: 0, height: 0, layoutOptions: { 'elk.port.side': p.side } }));
      return { id, width: m.width, height: m.height, ports, layoutOptions: { 'elk.portConstraints': 'FIXED_POS' } };
    });
    const graph: ElkNode = {
      id: `level:${container ?? 'root'}`,
      layoutOptions: {
        'elk.algorithm': 'layered',
        'elk.direction': 'DOWN',
        // Only node positions are used (React Flow draws the edges), so edges claim no room between layers.
        'elk.edgeRouting': 'POLYLINE',
        'elk.layered.spacing.edgeEdgeBetweenLayers': '0',
        'elk.padding': '[top=0,left=0,bottom=0,right=0]',
        'elk.layered.spacing.nodeNodeBetweenLayers': String(LAYOUT_SPACING.layer),
        'elk.spacing.nodeNode': String(LAYOUT_SPACING.node),
        'elk.layered.spacing.edgeNodeBetweenLayers': '0',
        'elk.spacing.edgeNode': '16',
        // Network simplex with the stream's edges weighted for straightness keeps the column
        // exactly straight (Brandes–Köpf left it off by a few pixels around residual skips).
        'elk.layered.nodePlacement.strategy': 'NETWORK_SIMPLEX',
        'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
        'elk.layered.crossingMinimization.forceNodeModelOrder': 'true',
        'elk.separateConnectedComponents': 'false',
      },
      children: elkChildren,
      edges: elkEdges,
    };
    const out = await elk.layout(graph);
    const pos = new Map<string, { x: number; y: number }>();
    let minX = Infinity;
    let minY = Infinity;
    for (const c of out.children ?? []) {
      minX = Math.min(minX, c.x ?? 0);
      minY = Math.min(minY, c.y ?? 0);
    }
    for (const c of out.children ?? []) pos.set(c.id, { x: (c.x ?? 0) - minX, y: (c.y ?? 0) - minY });
    return { members, pos };
  };

  /** Places a level's members (and what they carry) into `result`, offset by `origin`. */
  const place = (level: { members: Map<string, Member>; pos: Map<string, { x: number; y: number }> }, origin: { x: number; y: number }) => {
    for (const [id, m] of level.members) {
      const p = level.pos.get(id)!;
      const x = origin.x + p.x;
      const y = origin.y + p.y;
      const n = byId.get(id)!;
      if (n.type === 'stack') {
        result.set(id, { x, y, width: m.width, height: m.height });
        continue; // its children were placed relative to it already
      }
      result.set(id, { x: x + m.self.x, y: y + m.self.y, width: n.width, height: n.height });
      for (const [aid, b] of m.inner) result.set(aid, { x: x + b.x, y: y + b.y, width: b.width, height: b.height });
    }
  };

  const stackMember = async (n: LayoutInputNode): Promise<Member> => {
    const level = await layoutLevel(n.id);
    const pad = LAYOUT_SPACING.stackPad;
    const top = LAYOUT_SPACING.stackHeader;
    place(level, { x: pad, y: top });
    let w = 0;
    let h = 0;
    for (const [id, m] of level.members) {
      const p = level.pos.get(id)!;
      w = Math.max(w, p.x + m.width);
      h = Math.max(h, p.y + m.height);
    }
    const width = Math.max(240, w + 2 * pad);
    const height = Math.max(120, h + top + pad);
    // Entry and exit ports above/below the inner nodes the stream enters and leaves through.
    const inside = (id: string) => holderIn(n.id, id);
    const portX = (member: string | null | undefined, key: 'in:in' | 'out:out') => {
      const m = member ? level.members.get(member) : undefined;
      const p = member ? level.pos.get(member) : undefined;
      const port = m?.ports.get(key);
      return m && p && port ? pad + p.x + port.x : width / 2;
    };
    const byY = (ids: (string | null)[]) => ids.filter((id): id is string => id !== null).sort((a, b) => level.pos.get(a)!.y - level.pos.get(b)!.y);
    const entry = byY(edges.filter((e) => inside(e.target) !== null && inside(e.source) === null && (e.targetHandle ?? 'in') === 'in').map((e) => inside(e.target)));
    const exit = byY(edges.filter((e) => inside(e.source) !== null && inside(e.target) === null && isSeq(e)).map((e) => inside(e.source)));
    const ports: Member['ports'] = new Map([
      ['in:in', { x: portX(entry[0], 'in:in'), y: 0, side: 'NORTH' as const }],
      ['out:out', { x: portX(exit[exit.length - 1], 'out:out'), y: height, side: 'SOUTH' as const }],
    ]);
    return { id: n.id, width, height, ports, inner: new Map(), self: { x: 0, y: 0 } };
  };
  const isSeq = (e: LayoutInputEdge) => !isAxisType(byId.get(e.source)?.type ?? '');

  const root = await layoutLevel(null);
  place(root, { x: 0, y: 0 });
  return result;
}

/** Absolute boxes (positions are relative to the parent stack). */
export function absoluteBoxes(nodes: { id: string; parent: string | null }[], boxes: Map<string, LayoutBox>): Map<string, LayoutBox> {
  const parent = new Map(nodes.map((n) => [n.id, n.parent]));
  const abs = new Map<string, LayoutBox>();
  const get = (id: string, depth = 0): LayoutBox | undefined => {
    if (abs.has(id)) return abs.get(id);
    const b = boxes.get(id);
    if (!b || depth > 64) return b;
    const p = parent.get(id);
    const pb = p ? get(p, depth + 1) : undefined;
    const out = pb ? { ...b, x: b.x + pb.x, y: b.y + pb.y } : b;
    abs.set(id, out);
    return out;
  };
  for (const n of nodes) get(n.id);
  return abs;
}

/**
 * What is wrong with a layout, in words: nodes that overlap (other than a stack and what it
 * contains) and children that stick out of their stack. `boxes` are absolute.
 */
export function layoutProblems(nodes: { id: string; parent: string | null }[], boxes: Map<string, LayoutBox>, tolerance = 0.5): string[] {
  const problems: string[] = [];
  const parent = new Map(nodes.map((n) => [n.id, n.parent]));
  const isAncestor = (a: string, b: string) => {
    for (let p = parent.get(b) ?? null, k = 0; p !== null && k < 64; p = parent.get(p) ?? null, k++) if (p === a) return true;
    return false;
  };
  const ids = nodes.map((n) => n.id).filter((id) => boxes.has(id));
  for (let i = 0; i < ids.length; i++) {
    const a = boxes.get(ids[i])!;
    for (let j = i + 1; j < ids.length; j++) {
      if (isAncestor(ids[i], ids[j]) || isAncestor(ids[j], ids[i])) continue;
      const b = boxes.get(ids[j])!;
      const ox = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
      const oy = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
      if (ox > tolerance && oy > tolerance) problems.push(`${ids[i]} overlaps ${ids[j]} (${ox.toFixed(0)}×${oy.toFixed(0)})`);
    }
    const p = parent.get(ids[i]);
    const pb = p ? boxes.get(p) : undefined;
    if (pb && (a.x < pb.x - tolerance || a.y < pb.y - tolerance || a.x + a.width > pb.x + pb.width + tolerance || a.y + a.height > pb.y + pb.height + tolerance)) {
      problems.push(`${ids[i]} sticks out of its group ${p}`);
    }
  }
  return problems;
}
