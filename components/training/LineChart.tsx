'use client';
/** A live line chart on uPlot: series share the x axis (training step); null = no point at that step. */
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

const AXIS_TEXT = '#9aa4b2';
const GRID = '#2a313c';

export interface ChartSeries {
  label: string;
  color: string;
  /** Draw only points (sparse series such as held-out eval). */
  pointsOnly?: boolean;
}

export function LineChart(props: {
  title: string;
  series: ChartSeries[];
  /** [x, y1, y2, …] aligned arrays. */
  data: (number | null)[][];
  /** Changes whenever data changed (arrays are mutated in place for speed). */
  version: number;
  yLabel?: string;
  testId?: string;
  height?: number;
}) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const { title, series, yLabel, height = 180 } = props;

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const opts: uPlot.Options = {
      title,
      width: Math.max(200, el.clientWidth || 360),
      height,
      scales: { x: { time: false } },
      // uPlot draws on a canvas, so CSS variables do not reach it: the app's muted text and border colours.
      axes: [
        { label: 'step', stroke: AXIS_TEXT, grid: { stroke: GRID }, ticks: { stroke: GRID } },
        { label: yLabel ?? '', stroke: AXIS_TEXT, grid: { stroke: GRID }, ticks: { stroke: GRID } },
      ],
      series: [
        { label: 'step' },
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: s.pointsOnly ? 0 : 1.5,
          spanGaps: true,
          points: { show: !!s.pointsOnly, size: 6, fill: s.color, stroke: s.color },
        })),
      ],
      legend: { live: true },
    };
    const u = new uPlot(opts, props.data as uPlot.AlignedData, el);
    plot.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
    // Series layout changes rebuild the chart; data changes go through setData below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [title, yLabel, height, JSON.stringify(series)]);

  useEffect(() => {
    plot.current?.setData(props.data as uPlot.AlignedData);
  }, [props.version, props.data]);

  const points = props.data.slice(1).reduce((n, ys) => n + ys.filter((y) => y !== null && y !== undefined).length, 0);
  return <div ref={host} className="train-chart" data-testid={props.testId} data-points={points} role="img" aria-label={`${title} chart, ${points} points`} />;
}
