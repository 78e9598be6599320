// An evaluation of several named systems (base, the prompted baseline, one or more adapters) on
// the same held-out items, as one result: what the CLI prints (and its --json object), what the
// studio stores with a run and exports. The worker and the CLI generate; this composes the
// per-system prompts before and the scoring after (report.ts compares base / prompted / one tune,
// so there is one report per adapter, base and prompted scoring the same in each).
import type { Message } from '../data/types';
import { fewShotPrompt, writtenShots, type EvalItem } from './eval-set';
import type { Metric } from './metric-set';
import { evaluate, type EvalReport } from './report';
import type { MeanInterval, PairedComparison } from './stats';
import type { Outcome, SystemId } from './verdict';
import { toCsv, type CsvCell } from './serialize';

/** A system under evaluation: base, prompted or an adapter (tuned), named for people. */
export interface EvalSystem {
  name: string;
  kind: SystemId;
  /** Where the adapter came from (a folder, a stored adapter's id). */
  adapter?: string;
}

/** What a system produced on the items: its answers and, when measured, the references' loss. */
export interface SystemOutput {
  predictions: readonly string[];
  loss?: { loss: number; targets: number; perplexity: number };
}

export interface EvaluationResult {
  n: number;
  skipped_rows: number[];
  metrics: EvalReport['metrics'];
  systems: (EvalSystem & { aggregates: Record<string, MeanInterval>; loss?: number; targets?: number; perplexity?: number })[];
  comparisons: ({ a: string; b: string; metric: string } & PairedComparison)[];
  /** One per adapter: the tune against the prompted baseline (else the base). */
  verdicts: { adapter: string | null; a: string; b: string; metric: string; outcome: Outcome; text: string }[];
  examples: { index: number; row?: number; prompt: string; reference: string; predictions: Record<string, string>; scores: Record<string, Record<string, number>> }[];
}

/**
 * The prompted baseline as the studio keeps it, one definition for the Playground (which shows
 * it answering a prompt) and the Evaluate screen (which scores it on held-out rows, adding
 * examples drawn from the training rows): a system prompt and hand-written few-shot examples.
 */
export interface BaselinePrompt {
  /** '' or blank = none. */
  systemPrompt: string;
  /** "user: …" / "assistant: …" lines (see writtenShots). */
  fewShotText: string;
}

/** The baseline's system text (undefined when blank) and its written shots; throws on malformed examples. */
export function resolveBaseline(b: BaselinePrompt): { systemText?: string; shots: EvalItem[] } {
  return { systemText: b.systemPrompt.trim() ? b.systemPrompt : undefined, shots: writtenShots(b.fewShotText) };
}

/** The prompted baseline's conversation: its system text before the item's own, then the shots, then the item. */
export function promptedMessages(item: EvalItem, shots: readonly EvalItem[], systemText: string | undefined): Message[] {
  const msgs = fewShotPrompt(item, shots);
  if (systemText === undefined) return msgs;
  const own = msgs.filter((m) => m.role === 'system').map((m) => m.content);
  return [{ role: 'system', content: [systemText, ...own].join('\n\n') }, ...msgs.filter((m) => m.role !== 'system')];
}

/** The conversation a system is given for an item: the prompted baseline's, or the item's own. */
export function systemPrompt(kind: SystemId, item: EvalItem, baseline: { shots: readonly EvalItem[]; systemText?: string }): Message[] {
  return kind === 'prompted' ? promptedMessages(item, baseline.shots, baseline.systemText) : item.prompt;
}

/** The item's question as one line of the per-example table: its last user turn. */
const promptText = (item: EvalItem) => item.prompt.filter((m) => m.role === 'user').at(-1)?.content ?? '';

export function combineEvaluation(input: {
  items: readonly EvalItem[];
  skippedRows: readonly number[];
  systems: readonly EvalSystem[];
  outputs: ReadonlyMap<string, SystemOutput>;
  metrics: readonly Metric[];
  seed: number;
}): EvaluationResult {
  const { items, systems, outputs } = input;
  const names = systems.map((s) => s.name);
  if (new Set(names).size !== names.length) throw new Error(`combineEvaluation: system names must differ (${names.join(', ')})`);
  const predictionsOf = (name: string) => {
    const o = outputs.get(name);
    if (!o) throw new Error(`combineEvaluation: no answers from ${name}`);
    return o.predictions;
  };
  const base = systems.filter((s) => s.kind !== 'tuned');
  if (base.filter((s) => s.kind === 'base').length > 1 || base.filter((s) => s.kind === 'prompted').length > 1) throw new Error('combineEvaluation: one base and one prompted system at most');
  const common = { references: items.map((i) => i.reference), rows: items.map((i) => i.row), metrics: input.metrics, bootstrap: { seed: input.seed } };
  const basePreds: Partial<Record<SystemId, readonly string[]>> = Object.fromEntries(base.map((s) => [s.kind, predictionsOf(s.name)]));
  const tuned = systems.filter((s) => s.kind === 'tuned');
  const reports: { sys: EvalSystem | null; report: EvalReport }[] =
    tuned.length === 0 ? [{ sys: null, report: evaluate({ ...common, predictions: basePreds }) }] : tuned.map((s) => ({ sys: s, report: evaluate({ ...common, predictions: { ...basePreds, tuned: predictionsOf(s.name) } }) }));
  const display = (id: SystemId, sys: EvalSystem | null) => (id === 'tuned' ? sys!.name : base.find((s) => s.kind === id)!.name);
  const reportOf = (s: EvalSystem) => reports.find((x) => s.kind !== 'tuned' || x.sys === s)!.report;

  const comparisons: EvaluationResult['comparisons'] = [];
  const verdicts: EvaluationResult['verdicts'] = [];
  for (const { sys, report } of reports) {
    for (const c of report.comparisons) {
      const a = display(c.a, sys);
      const b = display(c.b, sys);
      if (!comparisons.some((x) => x.a === a && x.b === b && x.metric === c.metric)) comparisons.push({ a, b, metric: c.metric, ...c.result });
    }
    const v = report.verdict;
    if (v) verdicts.push({ adapter: sys?.name ?? null, a: display(v.a, sys), b: display(v.b, sys), metric: v.metric, outcome: v.outcome, text: v.text });
  }
  const first = reports[0].report;
  return {
    n: items.length,
    skipped_rows: [...input.skippedRows],
    metrics: first.metrics,
    systems: systems.map((s) => ({ ...s, aggregates: reportOf(s).aggregates[s.kind]!, ...outputs.get(s.name)!.loss })),
    comparisons,
    verdicts,
    examples: first.examples.map((ex, i) => ({
      index: ex.index,
      row: ex.row,
      prompt: promptText(items[i]),
      reference: ex.reference,
      predictions: Object.fromEntries(systems.map((s) => [s.name, predictionsOf(s.name)[i]])),
      scores: Object.fromEntries(systems.map((s) => [s.name, reportOf(s).examples[i].scores[s.kind]!])),
    })),
  };
}

/** One line per system and metric: system, kind, metric, n, mean, ci_low, ci_high, level (and the reference loss). */
export function resultAggregatesCsv(r: EvaluationResult): string {
  const rows: CsvCell[][] = [['system', 'kind', 'metric', 'n', 'mean', 'ci_low', 'ci_high', 'level']];
  for (const s of r.systems) {
    for (const m of r.metrics) {
      const a = s.aggregates[m.id];
      rows.push([s.name, s.kind, m.id, a.n, a.mean, a.lo, a.hi, a.level]);
    }
    if (s.loss !== undefined) rows.push([s.name, s.kind, 'reference_loss', s.targets, s.loss, null, null, null]);
  }
  return toCsv(rows);
}

/** One line per example and system (long format): example, row, system, prompt, reference, prediction, one column per metric. */
export function resultExamplesCsv(r: EvaluationResult): string {
  const rows: CsvCell[][] = [['example', 'row', 'system', 'prompt', 'reference', 'prediction', ...r.metrics.map((m) => m.id)]];
  for (const e of r.examples) {
    for (const s of r.systems) rows.push([e.index, e.row, s.name, e.prompt, e.reference, e.predictions[s.name], ...r.metrics.map((m) => e.scores[s.name][m.id])]);
  }
  return toCsv(rows);
}
