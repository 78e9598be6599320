// Which per-example rows the Evaluate screen shows: all, those where the systems' answers
// disagree, or those where the tune scored below the prompted baseline or the base.
import type { EvaluationRecord } from '../../persist/records';

export type RowFilter = 'all' | 'disagree' | 'worse';
type Result = EvaluationRecord['result'];
type Row = Result['examples'][number];

/** The headline metric: the verdict's, else the first comparable one, else the first. */
export function headlineMetric(r: Result): string {
  return r.verdicts[0]?.metric ?? r.metrics.find((m) => m.comparable)?.id ?? r.metrics[0].id;
}

export function filterRows(r: Result, filter: RowFilter, tuned: string): Row[] {
  if (filter === 'all') return r.examples;
  if (filter === 'disagree') return r.examples.filter((e) => new Set(r.systems.map((s) => e.predictions[s.name].trim())).size > 1);
  const metric = headlineMetric(r);
  const others = r.systems.filter((s) => s.kind !== 'tuned').map((s) => s.name);
  return r.examples.filter((e) => others.some((o) => e.scores[tuned][metric] < e.scores[o][metric]));
}
