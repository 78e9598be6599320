// Held-out evaluation of a run in the worker: the base model, the prompted baseline (the
// playground's system prompt and written few-shot examples, plus examples drawn from the run's
// training rows; never from the evaluation set), the run's adapter and optionally other adapters of the same base answer the same prompts
// greedily (batched: train/held-out); eval/compare scores them; the result is stored with the
// run. It runs here, not in the page, so it goes on while the user moves between screens.
import type { GpuContext } from '../engine/gpu/context';
import { TrainingSession } from '../train/session';
import { greedyAnswers, referenceLoss, type HeldOutModel } from '../train/held-out';
import { tokenizeExamples, trainingData, type Example } from '../data';
import { EvalLeakError, METRIC_IDS, assertDisjoint, assertShotsHeldOut, resolveBaseline, type BaselinePrompt, chooseMetricIds, combineEvaluation, fewShotExamples, metricFromId, resolveMetrics, resultAggregatesCsv, resultExamplesCsv, systemPrompt, toEvalSet, toJson, type EvalSystem, type SystemOutput } from '../eval';
import { newId } from '../persist/db';
import { getAdapter, getEvaluation, getRun, saveEvaluation } from '../persist/repo';
import type { EvalSource, EvaluationRecord, RunRecord } from '../persist/records';
import { trainingExamples } from './dataset-service';
import { loadAdapter, loadBase } from './generation-service';
import { CancelledError, endJob, startJob } from './jobs';

/** The prompted baseline is the studio's one (BaselinePrompt: shared with the Playground) plus `shots` drawn examples. */
export interface EvaluateRequest extends BaselinePrompt {
  runId: string;
  source: EvalSource;
  /** Adapters of other runs on the same base, compared too. */
  otherAdapterIds: string[];
  /** Metric ids (eval/metric-set), after the chosen ones with autoMetrics; none at all = chosen from the references. */
  metrics: string[];
  /** Start from the metrics chosen from the references (then add `metrics`: a regex, a substring). */
  autoMetrics?: boolean;
  maxNewTokens: number;
  /** Few-shot examples of the prompted baseline drawn from the run's training rows (after the written ones). */
  shots: number;
  /** Seeds the few-shot draw and the bootstrap. */
  seed: number;
  /** Also measure each system's teacher-forced loss on the references. */
  referenceLoss: boolean;
  /** Prompts decoded together. */
  batch?: number;
}

export interface EvaluateProgress {
  /** 'answers' or 'loss', of `system`. */
  phase: 'prepare' | 'answers' | 'loss';
  system: string;
  /** Units of work (answers, and one per system for the loss) done and in all. */
  done: number;
  total: number;
  /** Estimated time left from the pace so far, or null before the first batch. */
  etaMs: number | null;
  message: string;
}

let running: string | null = null;

/** Why other GPU work must wait (an evaluation holds the model and adapters), or null. */
/** Whether an evaluation holds the GPU (and the playground's model), for gpuBusyReason. */
export function evaluationRunning(): boolean {
  return running !== null;
}

export function validateRequest(req: EvaluateRequest): void {
  if (!Number.isInteger(req.maxNewTokens) || req.maxNewTokens < 1 || req.maxNewTokens > 4096) throw new Error(`Max new tokens must be a whole number from 1 to 4096 (got ${req.maxNewTokens}).`);
  if (!Number.isInteger(req.shots) || req.shots < 0 || req.shots > 64) throw new Error(`Few-shot examples must be a whole number from 0 to 64 (got ${req.shots}).`);
  if (!Number.isInteger(req.seed) || req.seed < 0) throw new Error(`The seed must be a whole number ≥ 0 (got ${req.seed}).`);
}

/**
 * The run's examples split as its training split them (the same tokenization, the same seeded
 * split of the tokenized examples), as raw examples: training rows and held-out rows.
 */
export async function runSplit(run: RunRecord, tok: HeldOutModel['tok']): Promise<{ train: Example[]; val: Example[] }> {
  const { examples } = await trainingExamples(run.datasetId);
  const split = TrainingSession.splitRows(trainingData(await tokenizeExamples(tok, examples, { lossMode: run.settings.lossMode })), run.settings);
  const valRows = new Set(split.val);
  const trained = new Set(split.train);
  // Rows the run could not tokenize (or, for pairs, could not train) are in neither list.
  return { train: examples.filter((e) => trained.has(e.row)), val: examples.filter((e) => valRows.has(e.row)) };
}

/** Display names: the run's own adapter under the run's name, others under theirs, made distinct. */
function uniqueName(name: string, taken: Set<string>): string {
  let n = name;
  for (let i = 2; taken.has(n) || n === 'base' || n === 'prompted'; i++) n = `${name} (${i})`;
  taken.add(n);
  return n;
}

export async function evaluateRun(ctx: GpuContext, jobId: string, req: EvaluateRequest, onProgress: (p: EvaluateProgress) => void = () => {}): Promise<EvaluationRecord> {
  validateRequest(req);
  // Malformed written examples are refused before anything is loaded.
  const baseline = resolveBaseline(req);
  if (running) throw new Error('An evaluation is running. Cancel it (or wait for it to finish) to start another one.');
  running = jobId;
  const signal = startJob(jobId);
  const check = () => {
    if (signal.aborted) throw new CancelledError();
  };
  try {
    const run = await getRun(req.runId);
    if (!run) throw new Error('That run no longer exists.');
    if (!run.adapterId) throw new Error(`The run “${run.name}” has no adapter yet: evaluate it once it has finished (or was stopped).`);
    onProgress({ phase: 'prepare', system: '', done: 0, total: 1, etaMs: null, message: 'Opening the model and the data…' });
    const l = await loadBase(ctx, run.model);
    check();
    const split = await runSplit(run, l.tok);
    let evalExamples: Example[];
    if (req.source.kind === 'validation') {
      evalExamples = split.val;
      if (evalExamples.length === 0) throw new Error(`The run “${run.name}” kept no validation split (validation split ${run.settings.valSplit}): evaluate it on a separate dataset.`);
    } else {
      evalExamples = (await trainingExamples(req.source.datasetId)).examples;
    }
    let drawn;
    try {
      // Throws when the evaluation set shares an example with the run's training rows.
      assertDisjoint(split.train, evalExamples);
      drawn = fewShotExamples(split.train, evalExamples, req.shots, req.seed);
    } catch (e) {
      if (e instanceof EvalLeakError) throw new Error(`${req.source.kind === 'dataset' ? `“${req.source.datasetName}”` : 'The validation split'}: ${e.message}`, { cause: e });
      throw e;
    }
    if (drawn.length < req.shots) throw new Error(`Only ${drawn.length} training examples can serve as few-shot examples (asked for ${req.shots}).`);
    const { items, skippedRows } = toEvalSet(evalExamples);
    if (items.length === 0) throw new Error('No example of the evaluation set has a user turn followed by an answer to grade.');
    assertShotsHeldOut(baseline.shots, items);
    const shots = [...baseline.shots, ...drawn];
    const systemText = baseline.systemText;
    const references = items.map((i) => i.reference);
    const metrics = resolveMetrics(references, req.autoMetrics ? [...chooseMetricIds(references), ...req.metrics] : req.metrics);

    const taken = new Set<string>();
    const systems: (EvalSystem & { adapterId?: string })[] = [{ name: 'base', kind: 'base' }];
    if (systemText !== undefined || shots.length > 0) systems.push({ name: 'prompted', kind: 'prompted' });
    systems.push({ name: uniqueName(run.name, taken), kind: 'tuned', adapter: run.adapterId, adapterId: run.adapterId });
    for (const id of req.otherAdapterIds.filter((id) => id !== run.adapterId)) {
      const rec = await getAdapter(id);
      if (!rec) throw new Error('One of the chosen adapters was deleted.');
      if (rec.baseModel !== run.model.id) throw new Error(`The adapter “${rec.name}” was trained on ${rec.baseModel}, not on ${run.model.id}: only adapters of the same base compare.`);
      systems.push({ name: uniqueName(rec.name, taken), kind: 'tuned', adapter: id, adapterId: id });
    }

    // Progress in answers; the reference loss counts as one answer's worth per example.
    const perSystem = items.length * (req.referenceLoss ? 2 : 1);
    const total = perSystem * systems.length;
    const started = performance.now();
    let base = 0;
    const report = (phase: EvaluateProgress['phase'], system: string, done: number) => {
      const elapsed = performance.now() - started;
      const all = base + done;
      onProgress({ phase, system, done: all, total, etaMs: all > 0 ? (elapsed / all) * (total - all) : null, message: phase === 'answers' ? `${system}: ${done} of ${items.length} answers` : `${system}: loss of the references` });
    };
    const outputs = new Map<string, SystemOutput>();
    const rows = items.map((i) => i.row);
    for (const sys of systems) {
      check();
      const lora = sys.adapterId ? await loadAdapter(l, sys.adapterId) : null;
      const m: HeldOutModel = { ctx, model: l.model, tok: l.tok, lora };
      const prompts = items.map((it) => systemPrompt(sys.kind, it, { shots, systemText }));
      report('answers', sys.name, 0);
      const predictions = await greedyAnswers(m, prompts, { maxNewTokens: req.maxNewTokens, batch: req.batch ?? 8, signal, label: (i) => `row ${items[i].row}`, onProgress: (done) => report('answers', sys.name, done) });
      check();
      let loss: SystemOutput['loss'];
      if (req.referenceLoss) {
        report('loss', sys.name, items.length);
        loss = await referenceLoss(m, prompts, references, rows, signal);
      }
      outputs.set(sys.name, { predictions, loss });
      base += perSystem;
      report(req.referenceLoss ? 'loss' : 'answers', sys.name, 0);
    }
    check();
    const result = combineEvaluation({ items, skippedRows, systems: systems.map(({ adapterId: _a, ...s }) => s), outputs, metrics, seed: req.seed });
    const record: EvaluationRecord = {
      id: newId('eval'),
      runId: run.id,
      createdAt: Date.now(),
      source: req.source,
      settings: { metrics: result.metrics.map((m) => m.id), maxNewTokens: req.maxNewTokens, shots: req.shots, systemPrompt: req.systemPrompt, fewShotText: req.fewShotText, seed: req.seed },
      result,
    };
    await saveEvaluation(record);
    return record;
  } catch (e) {
    if (signal.aborted) throw new CancelledError();
    throw e;
  } finally {
    endJob(jobId, signal);
    running = null;
  }
}

/** The metrics a user can pick (regex: and contains: take an argument typed beside them). */
export function metricCatalog(): { id: string; label: string }[] {
  return METRIC_IDS.map((id) => ({ id, label: metricFromId(id).label }));
}

/** A stored evaluation as files: JSON (the whole result; non-finite numbers null) or CSV (aggregates, examples). */
export async function exportEvaluation(id: string, format: 'json' | 'aggregates.csv' | 'examples.csv'): Promise<{ fileName: string; text: string }> {
  const rec = await getEvaluation(id);
  if (!rec) throw new Error('That evaluation was deleted.');
  const stem = `evaluation-${rec.runId}-${new Date(rec.createdAt).toISOString().slice(0, 19).replace(/:/g, '')}`;
  if (format === 'json') return { fileName: `${stem}.json`, text: toJson(rec) };
  return { fileName: `${stem}-${format}`, text: format === 'aggregates.csv' ? resultAggregatesCsv(rec.result) : resultExamplesCsv(rec.result) };
}
