/**
 * The design as a read-only graph, rendered on the server as SVG (no script needed): the editor's
 * own document when the run saved one, else the layout engine/design/raise.ts makes from the spec.
 */
import { LAYOUT, specToDesign } from '@/engine/design/raise';
import { parseDesign, type DesignDoc, type DesignNode } from '@/engine/design/document';
import { ModelSpecSchema } from '@/engine/spec';

const AXIS_TYPES = new Set(['memory', 'bias', 'retention', 'learner']);
const COLOR: Record<string, string> = {
  memory: 'var(--memory, #5aa9e6)',
  bias: 'var(--bias, #c37be0)',
  retention: 'var(--retention, #e0a34e)',
  learner: 'var(--learner, #52c49b)',
  attention: 'var(--accent, #6aa9ff)',
  miras: 'var(--accent, #6aa9ff)',
};

function toDoc(graph: unknown, spec: unknown): DesignDoc | null {
  if (graph) {
    try {
      return parseDesign(graph);
    } catch {
      // fall through to the spec
    }
  }
  const parsed = ModelSpecSchema.safeParse(spec);
  return parsed.success ? specToDesign(parsed.data) : null;
}

function paramText(n: DesignNode): string {
  const entries = Object.entries(n.params).filter(([k]) => k !== 'repeat');
  return entries
    .slice(0, 3)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? +v.toPrecision(4) : v}`)
    .join(' · ');
}

export function DesignGraph({ graph, spec, title }: { graph: unknown; spec: unknown; title: string }) {
  const doc = toDoc(graph, spec);
  if (!doc || doc.nodes.length === 0) return <p className="muted">This design has no graph to show.</p>;
  const byId = new Map(doc.nodes.map((n) => [n.id, n]));
  const abs = new Map<string, { x: number; y: number; w: number; h: number }>();
  const place = (n: DesignNode, depth = 0): { x: number; y: number; w: number; h: number } => {
    const done = abs.get(n.id);
    if (done) return done;
    const parent = n.parent && depth < 16 ? byId.get(n.parent) : undefined;
    const origin = parent ? place(parent, depth + 1) : { x: 0, y: 0 };
    const w = n.size?.width ?? (AXIS_TYPES.has(n.type) ? LAYOUT.axisWidth : LAYOUT.width);
    const h = n.size?.height ?? LAYOUT.heights[n.type] ?? 50;
    const box = { x: origin.x + n.position.x, y: origin.y + n.position.y, w, h };
    abs.set(n.id, box);
    return box;
  };
  doc.nodes.forEach((n) => place(n));
  const boxes = [...abs.values()];
  const pad = 12;
  const minX = Math.min(...boxes.map((b) => b.x)) - pad;
  const minY = Math.min(...boxes.map((b) => b.y)) - pad;
  const width = Math.max(...boxes.map((b) => b.x + b.w)) - minX + pad;
  const height = Math.max(...boxes.map((b) => b.y + b.h)) - minY + pad;
  const stacks = doc.nodes.filter((n) => n.type === 'stack');
  const blocks = doc.nodes.filter((n) => n.type !== 'stack');
  return (
    <svg
      className="design-graph"
      data-testid="design-graph"
      role="img"
      aria-label={`Model graph of ${title}: ${blocks.length} blocks`}
      viewBox={`${minX} ${minY} ${width} ${height}`}
      width={Math.min(width, 720)}
      preserveAspectRatio="xMidYMin meet"
    >
      {stacks.map((n) => {
        const b = abs.get(n.id)!;
        return (
          <g key={n.id}>
            <rect x={b.x} y={b.y} width={b.w} height={b.h} rx={10} className="dg-stack" />
            <text x={b.x + 10} y={b.y + 20} className="dg-stack-label">
              Stack ×{String(n.params.repeat ?? '?')}
            </text>
          </g>
        );
      })}
      {doc.edges.map((e) => {
        const s = abs.get(e.source);
        const t = abs.get(e.target);
        if (!s || !t) return null;
        const horizontal = s.x + s.w <= t.x;
        const [x1, y1, x2, y2] = horizontal ? [s.x + s.w, s.y + s.h / 2, t.x, t.y + t.h / 2] : [s.x + s.w / 2, s.y + s.h, t.x + t.w / 2, t.y];
        const d = horizontal
          ? `M${x1},${y1} C${(x1 + x2) / 2},${y1} ${(x1 + x2) / 2},${y2} ${x2},${y2}`
          : `M${x1},${y1} C${x1},${(y1 + y2) / 2} ${x2},${(y1 + y2) / 2} ${x2},${y2}`;
        return <path key={e.id} d={d} className="dg-edge" />;
      })}
      {blocks.map((n) => {
        const b = abs.get(n.id)!;
        const color = COLOR[n.type] ?? 'var(--structure, #6b7a90)';
        return (
          <g key={n.id}>
            <rect x={b.x} y={b.y} width={b.w} height={b.h} rx={6} className="dg-node" style={{ stroke: color }} />
            <rect x={b.x} y={b.y} width={4} height={b.h} rx={2} style={{ fill: color }} />
            <text x={b.x + 12} y={b.y + 18} className="dg-title">
              {n.kind ? `${n.type}: ${n.kind}` : n.type}
            </text>
            <text x={b.x + 12} y={b.y + 34} className="dg-params">
              {paramText(n).slice(0, 40)}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
