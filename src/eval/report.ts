// The comparison of base / prompted baseline / tuned on a held-out set: per-example scores,
// per-system means with intervals, paired comparisons and the verdict. Generation happens
// elsewhere (worker, CLI); this takes the texts each system produced.

import type { Metric } from './metric-set';
import { bootstrapMean, comparePaired, type BootstrapOptions, type MeanInterval, type PairedComparison } from './stats';
import { verdict, type SystemId, type Verdict } from './verdict';

/** What the caller produced: one prediction per reference, per system that was run. */
export interface EvalInput {
  references: readonly string[];
  /** Rows of the examples in their file, parallel to references (for the per-example table). */
  rows?: readonly number[];
  predictions: Partial<Record<SystemId, readonly string[]>>;
  metrics: readonly Metric[];
  bootstrap: BootstrapOptions;
}

export interface ExampleRow {
  index: number;
  row?: number;
  reference: string;
  predictions: Partial<Record<SystemId, string>>;
  /** scores[system][metric id] */
  scores: Partial<Record<SystemId, Record<string, number>>>;
}

export interface Comparison {
  a: SystemId;
  b: SystemId;
  metric: string;
  result: PairedComparison;
}

export interface EvalReport {
  n: number;
  systems: SystemId[];
  metrics: { id: string; label: string; comparable: boolean }[];
  /** aggregates[system][metric id] */
  aggregates: Partial<Record<SystemId, Record<string, MeanInterval>>>;
  comparisons: Comparison[];
  /** The headline: tuned vs prompted (else vs base) on the first comparable metric; absent without a pair to compare. */
  verdict?: Verdict & { a: SystemId; b: SystemId; metric: string };
  examples: ExampleRow[];
}

const ORDER: SystemId[] = ['base', 'prompted', 'tuned'];
// Comparisons worth making, the headline first: the tune must beat the cheaper alternatives.
const PAIRS: [SystemId, SystemId][] = [
  ['tuned', 'prompted'],
  ['tuned', 'base'],
  ['prompted', 'base'],
];

export function evaluate(input: EvalInput): EvalReport {
  const n = input.references.length;
  if (n === 0) throw new RangeError('evaluate: the evaluation set is empty');
  if (input.metrics.length === 0) throw new RangeError('evaluate: no metrics');
  const systems = ORDER.filter((s) => input.predictions[s] !== undefined);
  for (const s of systems) {
    const got = input.predictions[s]!.length;
    if (got !== n) throw new RangeError(`evaluate: ${s} has ${got} predictions for ${n} references`);
  }
  // perSystem[s][metric] = scores over examples
  const perSystem = new Map(systems.map((s) => [s, new Map(input.metrics.map((m) => [m.id, input.references.map((ref, i) => m.score(input.predictions[s]![i], ref))]))]));
  const scoresOf = (s: SystemId, metric: string) => perSystem.get(s)!.get(metric)!;

  const aggregates: EvalReport['aggregates'] = {};
  for (const s of systems) aggregates[s] = Object.fromEntries(input.metrics.map((m) => [m.id, bootstrapMean(scoresOf(s, m.id), input.bootstrap)]));

  const comparisons: Comparison[] = [];
  for (const [a, b] of PAIRS) {
    if (!perSystem.has(a) || !perSystem.has(b)) continue;
    for (const m of input.metrics) if (m.comparable) comparisons.push({ a, b, metric: m.id, result: comparePaired(scoresOf(a, m.id), scoresOf(b, m.id), input.bootstrap) });
  }

  const headline = comparisons[0];
  const headlineMetric = headline && input.metrics.find((m) => m.id === headline.metric)!;
  return {
    n,
    systems,
    metrics: input.metrics.map(({ id, label, comparable }) => ({ id, label, comparable })),
    aggregates,
    comparisons,
    verdict: headline && { ...verdict(headline.a, headline.b, headline.result, headlineMetric.label), a: headline.a, b: headline.b, metric: headline.metric },
    examples: input.references.map((reference, index) => ({
      index,
      row: input.rows?.[index],
      reference,
      predictions: Object.fromEntries(systems.map((s) => [s, input.predictions[s]![index]])),
      scores: Object.fromEntries(systems.map((s) => [s, Object.fromEntries(input.metrics.map((m) => [m.id, scoresOf(s, m.id)[index]]))])),
    })),
  };
}
