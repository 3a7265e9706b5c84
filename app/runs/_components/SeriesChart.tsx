'use client';
/**
 * A metric's curve(s) on uPlot: one line per run (the bucket mean) with a shaded min/max band,
 * from the downsampled series the API returns. Several runs overlay on a shared step axis.
 */
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartLine {
  label: string;
  color: string;
  steps: number[];
  values: number[];
  min: number[];
  max: number[];
}

function withAlpha(hex: string, a: number): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${a})`;
}

export function SeriesChart({ title, lines, height = 220 }: { title: string; lines: ChartLine[]; height?: number }) {
  const host = useRef<HTMLDivElement>(null);
  const points = lines.reduce((a, l) => a + l.steps.length, 0);

  useEffect(() => {
    const el = host.current;
    if (!el || points === 0) return;
    // Align every line on the union of steps; missing points are null (gaps are spanned).
    const xs = [...new Set(lines.flatMap((l) => l.steps))].sort((a, b) => a - b);
    const at = new Map(xs.map((x, i) => [x, i]));
    const data: (number | null)[][] = [xs];
    const series: uPlot.Series[] = [{ label: 'step' }];
    const bands: uPlot.Band[] = [];
    for (const l of lines) {
      const cols = [l.values, l.max, l.min].map((src) => {
        const col: (number | null)[] = new Array(xs.length).fill(null);
        l.steps.forEach((s, i) => (col[at.get(s)!] = src[i]));
        return col;
      });
      const base = data.length;
      data.push(...cols);
      series.push(
        { label: l.label, stroke: l.color, width: 1.5, spanGaps: true, points: { show: l.steps.length < 60 } },
        { label: `${l.label} max`, stroke: 'transparent', spanGaps: true, points: { show: false } },
        { label: `${l.label} min`, stroke: 'transparent', spanGaps: true, points: { show: false } },
      );
      bands.push({ series: [base + 1, base + 2], fill: withAlpha(l.color, 0.18) });
    }
    const plot = new uPlot(
      {
        width: Math.max(240, el.clientWidth || 480),
        height,
        scales: { x: { time: false } },
        axes: [{ label: 'step', stroke: '#9aa4b2', grid: { stroke: '#2a313c' } }, { stroke: '#9aa4b2', grid: { stroke: '#2a313c' }, size: 60 }],
        // Run names and colours are listed above the charts; uPlot's legend would also list the band series.
        legend: { show: false },
        series,
        bands,
      },
      data as uPlot.AlignedData,
      el,
    );
    const ro = new ResizeObserver(() => plot.setSize({ width: Math.max(240, el.clientWidth), height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.destroy();
    };
  }, [lines, height, points]);

  return (
    <figure className="series-chart" data-testid={`curve-${title}`} data-points={points}>
      <figcaption>{title}</figcaption>
      {points === 0 ? <p className="muted">No points recorded.</p> : <div ref={host} className="series-chart-plot" />}
    </figure>
  );
}
