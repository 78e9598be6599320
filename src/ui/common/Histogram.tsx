import { histogram } from './format';

/** A small accessible bar chart of lengths (SVG; the numbers are in the table caption). */
export function Histogram({ values, bins = 20, unit, label }: { values: number[]; bins?: number; unit: string; label: string }) {
  const { edges, counts } = histogram(values, bins);
  const max = Math.max(1, ...counts);
  const W = 600;
  const H = 120;
  const bw = W / bins;
  return (
    <figure className="histogram">
      <svg viewBox={`0 0 ${W} ${H + 18}`} role="img" aria-label={`${label}: ${values.length} examples, from ${edges[0]} to ${edges.at(-1)} ${unit}`}>
        {counts.map((c, i) => (
          <rect key={i} x={i * bw + 1} y={H - (c / max) * H} width={bw - 2} height={(c / max) * H} className="bar">
            <title>
              {edges[i]}–{edges[i + 1] - 1} {unit}: {c}
            </title>
          </rect>
        ))}
        <text x={0} y={H + 14} className="axis">
          0
        </text>
        <text x={W} y={H + 14} textAnchor="end" className="axis">
          {edges.at(-1)} {unit}
        </text>
      </svg>
      <figcaption className="muted">{label}</figcaption>
    </figure>
  );
}
