'use client';
/**
 * Memory view: one heatmap row per (layer, head) for each quantity the engine reports
 * (state norm ‖S_t‖ and the gates α, β, η), over sequence position. Rows are normalised per
 * quantity so gates in [0, 1] and norms of any scale are both readable; the tooltip gives values.
 */
import { useEffect, useRef } from 'react';
import type { MemoryView } from '@/engine/worker/protocol';

const QUANTITY_LABEL: Record<string, string> = {
  stateNorm: 'state norm ‖S‖',
  alpha: 'retention α',
  beta: 'learning rate β',
  eta: 'momentum η',
};

function color(v: number): [number, number, number] {
  // viridis-like ramp between three anchors, readable in light and dark themes
  const a = [68, 1, 84], b = [33, 145, 140], c = [253, 231, 37];
  const t = Math.min(1, Math.max(0, v));
  const [p, q, s] = t < 0.5 ? [a, b, t * 2] : [b, c, (t - 0.5) * 2];
  return [0, 1, 2].map((i) => Math.round(p[i] + (q[i] - p[i]) * s)) as [number, number, number];
}

function Heatmap({ rows, seqLen, quantity }: { rows: MemoryView['series']; seqLen: number; quantity: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  let lo = Infinity, hi = -Infinity;
  for (const r of rows) for (const v of r.values) if (Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  useEffect(() => {
    const c = canvas.current;
    const ctx = c?.getContext('2d');
    if (!c || !ctx) return;
    const img = ctx.createImageData(seqLen, rows.length);
    rows.forEach((r, y) => {
      for (let x = 0; x < seqLen; x++) {
        const v = r.values[x];
        const [R, G, B] = color(hi > lo ? (v - lo) / (hi - lo) : 0.5);
        const o = 4 * (y * seqLen + x);
        img.data[o] = R; img.data[o + 1] = G; img.data[o + 2] = B; img.data[o + 3] = Number.isFinite(v) ? 255 : 0;
      }
    });
    ctx.putImageData(img, 0, 0);
  }, [rows, seqLen, lo, hi]);
  return (
    <figure className="memory-map">
      <figcaption>
        {QUANTITY_LABEL[quantity] ?? quantity} <span className="muted">({lo.toPrecision(3)} … {hi.toPrecision(3)})</span>
      </figcaption>
      <div className="memory-map-grid">
        <div className="memory-map-labels">{rows.map((r) => <div key={`${r.layer}.${r.head}`}>L{r.layer} H{r.head}</div>)}</div>
        <canvas ref={canvas} width={seqLen} height={rows.length} style={{ height: rows.length * 14 }} aria-label={`${quantity} heatmap: ${rows.length} layer/head rows × ${seqLen} positions`} />
      </div>
    </figure>
  );
}

export function MemoryHeatmaps({ view }: { view: MemoryView | null }) {
  if (!view) return <p className="muted">The memory view appears after the first evaluation.</p>;
  const byQuantity = new Map<string, MemoryView['series']>();
  for (const s of view.series) {
    if (!byQuantity.has(s.quantity)) byQuantity.set(s.quantity, []);
    byQuantity.get(s.quantity)!.push(s);
  }
  if (!byQuantity.size) return <p className="muted">This model has no recurrent memory to show (attention only).</p>;
  return (
    <div data-testid="memory-view">
      <p className="muted">Step {view.step}, one held-out sequence, position → right.</p>
      {[...byQuantity].map(([q, rows]) => <Heatmap key={q} quantity={q} rows={rows} seqLen={view.seqLen} />)}
    </div>
  );
}
