// Held-out evaluation, pure (runs in the worker and the CLI; no DOM, no node:*, no engine):
//
//   const { items, skippedRows } = toEvalSet(evalExamples);
//   const shots = fewShotExamples(trainExamples, evalExamples, 3, seed);   // throws EvalLeakError on overlap
//   // generate: base(item.prompt), prompted(fewShotPrompt(item, shots)), tuned(item.prompt)
//   const metrics = resolveMetrics(items.map((i) => i.reference), userMetricIds);
//   const report = evaluate({ references, rows, predictions: { base, prompted, tuned }, metrics, bootstrap: { seed } });
//   report.verdict?.text; aggregatesCsv(report); examplesCsv(report); reportJson(report);

export { chrf, chrfFromStatistics, chrfStatistics, exactMatch, exactMatchNormalized, lengthRatio, rougeL, rougeLScore, squadNormalize, tokenF1 } from './metrics';
export { jsonFieldAgreement, jsonValid, parseJsonOutput } from './json';
export { METRIC_IDS, chooseMetricIds, metricFromId, resolveMetrics } from './metric-set';
export type { Metric } from './metric-set';
export { bootstrapMean, comparePaired } from './stats';
export type { BootstrapOptions, MeanInterval, PairedComparison } from './stats';
export { verdict } from './verdict';
export type { Outcome, SystemId, Verdict } from './verdict';
export { EvalLeakError, assertDisjoint, assertShotsHeldOut, fewShotExamples, fewShotPrompt, toEvalItem, toEvalSet, writtenShots } from './eval-set';
export type { EvalItem, EvalSet } from './eval-set';
export { evaluate } from './report';
export type { Comparison, EvalInput, EvalReport, ExampleRow } from './report';
export { aggregatesCsv, examplesCsv, reportJson, toCsv, toJson } from './serialize';
export { combineEvaluation, promptedMessages, resolveBaseline, resultAggregatesCsv, resultExamplesCsv, systemPrompt } from './compare';
export type { BaselinePrompt, EvalSystem, EvaluationResult, SystemOutput } from './compare';
