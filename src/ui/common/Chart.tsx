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
 * data with setData, which stays well under a frame even with thousands of points.
 */
export function Chart({ title, data, series, xLabel = 'step', height = 180, log = false }: { title: string; data: [number[], ...(number | null)[][]]; series: ChartSeries[]; xLabel?: string; height?: number; log?: boolean }) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
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
    const ro = new ResizeObserver(() => el.clientWidth > 0 && plot.current?.setSize({ width: el.clientWidth, height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
    // Re-create only when the set of series changes; data flows through setData below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [shape, height, log, xLabel]);

  useEffect(() => {
    plot.current?.setData(data as uPlot.AlignedData);
  }, [data]);

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
