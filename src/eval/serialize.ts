// An evaluation report as files: CSV (RFC 4180) for spreadsheets and JSON for programs.

import type { EvalReport } from './report';

export type CsvCell = string | number | boolean | null | undefined;

/**
 * One RFC 4180 field: quoted when it holds a quote, comma, CR or LF, quotes doubled. Numbers at
 * full precision; null, undefined and non-finite numbers (no score) are empty.
 */
export function csvField(v: CsvCell): string {
  if (v === null || v === undefined || (typeof v === 'number' && !Number.isFinite(v))) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** RFC 4180 text: CRLF after every record, including the last. */
export function toCsv(rows: readonly (readonly CsvCell[])[]): string {
  return rows.map((r) => r.map(csvField).join(',') + '\r\n').join('');
}

/** One line per system and metric: system, metric, n, mean, ci_low, ci_high, level. */
export function aggregatesCsv(report: EvalReport): string {
  const rows: CsvCell[][] = [['system', 'metric', 'n', 'mean', 'ci_low', 'ci_high', 'level']];
  for (const s of report.systems) {
    for (const m of report.metrics) {
      const a = report.aggregates[s]![m.id];
      rows.push([s, m.id, a.n, a.mean, a.lo, a.hi, a.level]);
    }
  }
  return toCsv(rows);
}

/** One line per example and system (long format): example, row, system, reference, prediction, then one column per metric. */
export function examplesCsv(report: EvalReport): string {
  const rows: CsvCell[][] = [['example', 'row', 'system', 'reference', 'prediction', ...report.metrics.map((m) => m.id)]];
  for (const e of report.examples) {
    for (const s of report.systems) rows.push([e.index, e.row, s, e.reference, e.predictions[s], ...report.metrics.map((m) => e.scores[s]![m.id])]);
  }
  return toCsv(rows);
}

/** The whole report as JSON (aggregates, comparisons, verdict, per-example rows); non-finite numbers become null. */
export function reportJson(report: EvalReport): string {
  return toJson(report);
}

/** Indented JSON where non-finite numbers (no score) become null instead of failing or vanishing. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2);
}
