import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

const STEP_INCRS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000];

/** Tick labels that stay readable for learning rates (1e-4) as well as losses and tokens/s. */
export function formatTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a < 0.01) return v.toExponential(1);
  if (a >= 10000) return `${(v / 1000).toFixed(0)}k`;
  return String(Number(v.toPrecision(4)));
}

export interface ChartSeries {
  label: string;
  color: string;
  /** Draw points only (sparse series such as validation loss). */
  points?: boolean;
}

/**
 * A uPlot line chart over aligned data ([x, ...ys]). The plot is created once and fed new
 * data with setData, which stays well under a frame even with thousands of points. Data and
 * size changes are applied together, at most once per animation frame, and only while the
 * plot is visible: drawing a hidden plot and then again at its shown size cost every chart
 * two full redraws (about 60 ms of UI-thread CPU for the four live charts of a run).
 */
export function Chart({ title, data, series, xLabel = 'step', height = 180, log = false }: { title: string; data: [number[], ...(number | null)[][]]; series: ChartSeries[]; xLabel?: string; height?: number; log?: boolean }) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  // What the next draw applies: the newest data and the host's width (0 while hidden).
  const pending = useRef<{ data?: uPlot.AlignedData; width?: number }>({});
  const width = useRef(0);
  const frame = useRef(0);
  const draw = () => {
    frame.current = 0;
    const u = plot.current;
    if (!u || width.current === 0) return; // hidden: kept until the host has a size
    const p = pending.current;
    pending.current = {};
    u.batch(() => {
      if (p.width !== undefined) u.setSize({ width: p.width, height });
      if (p.data) u.setData(p.data);
    });
  };
  const shape = series.map((s) => s.label).join('|');

  useEffect(() => {
    const el = host.current!;
    const opts: uPlot.Options = {
      width: Math.max(240, el.clientWidth),
      height,
      legend: { show: true },
      scales: { x: { time: false }, y: log ? { distr: 3 } : {} },
      axes: [
        // Steps are whole numbers: no 1.5 ticks.
        { label: xLabel, stroke: 'currentColor', grid: { stroke: 'rgba(128,128,128,0.2)' }, incrs: STEP_INCRS, values: (_u, vals) => vals.map((v) => String(v)) },
        { stroke: 'currentColor', grid: { stroke: 'rgba(128,128,128,0.2)' }, size: 64, values: (_u, vals) => vals.map(formatTick) },
      ],
      series: [{ label: xLabel }, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, spanGaps: true, points: { show: s.points ?? false, size: 6 }, value: (_u: uPlot, v: number | null) => (v == null ? '—' : formatTick(v)) }))],
    };
    plot.current = new uPlot(opts, [[]] as unknown as uPlot.AlignedData, el);
    // The observer's own size, not el.clientWidth: reading layout here forced a layout per chart.
    const ro = new ResizeObserver(([entry]) => {
      // The host's height changes with the plot drawn into it: only a new width needs a redraw.
      const w = Math.round(entry.contentRect.width);
      if (w === width.current) return;
      width.current = w;
      if (width.current > 0) {
        pending.current.width = width.current;
        draw(); // before this frame paints
      }
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      cancelAnimationFrame(frame.current);
      frame.current = 0;
      plot.current?.destroy();
      plot.current = null;
    };
    // Re-create only when the set of series changes; data flows through setData below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [shape, height, log, xLabel]);

  useEffect(() => {
    pending.current.data = data as uPlot.AlignedData;
    frame.current ||= requestAnimationFrame(draw);
    // draw reads refs only; it is the same function in effect for every render.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [data, shape, height, log, xLabel]);

  const empty = data[0].length === 0;
  return (
    <figure className="chart" aria-label={title}>
      <figcaption>{title}</figcaption>
      {/* The plot stays mounted (hidden) so it keeps its state; the placeholder holds its place. */}
      <div ref={host} hidden={empty} />
      {empty && (
        <div className="chart-empty muted" style={{ height }}>
          No measurements yet.
        </div>
      )}
    </figure>
  );
}
