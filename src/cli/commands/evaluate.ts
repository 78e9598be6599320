// `evaluate`: the base model, a prompted baseline and each adapter answer the same held-out
// prompts (greedy, batched on the GPU); src/eval scores the answers against the references,
// with intervals, paired wins/ties/losses and the verdict (eval/compare, shared with the studio);
// each system's teacher-forced loss on the references comes from train/held-out (as `eval`'s).
import { basename, resolve } from 'node:path';
import { greedyAnswers, referenceLoss, type HeldOutModel } from '../../train/held-out';
import { EvalLeakError, METRIC_IDS, assertDisjoint, combineEvaluation, fewShotExamples, resolveMetrics, systemPrompt, toEvalSet, type EvalItem, type EvalSystem, type Metric, type MeanInterval, type SystemOutput } from '../../eval';
import { num, optStr, str, type Values } from '../args';
import { loadAdapter, loadEngine } from '../engine-model';
import { CliError, MODEL_HELP, MODEL_OPTIONS, modelArgs } from '../model-dir';
import { parseDatasetFile, selectExamples } from '../dataset-file';
import { WEIGHTS_HELP, weightsFlag } from '../weights';

export const EVALUATE_OPTIONS = {
  ...MODEL_OPTIONS,
  data: { type: 'string' },
  adapter: { type: 'string', multiple: true },
  'baseline-system': { type: 'string' },
  'baseline-shots': { type: 'string' },
  train: { type: 'string' },
  metrics: { type: 'string' },
  'max-new-tokens': { type: 'string' },
  batch: { type: 'string' },
  seed: { type: 'string' },
  'exclude-invalid': { type: 'boolean' },
  weights: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const EVALUATE_HELP = `evaluate --model DIR|FILE.gguf --data FILE [--adapter DIR ...] [--baseline-system TEXT] [--baseline-shots N --train FILE]
  [--metrics ${METRIC_IDS.join(',')},regex:PATTERN,contains:TEXT (chosen from the references)]
  [--max-new-tokens N (128)] [--batch N (8)] [--seed N (0; few-shot draw and bootstrap)] [--exclude-invalid] [--json]
  Systems: base, the prompted baseline (with --baseline-system and/or --baseline-shots; shots come from --train,
  never from --data) and each adapter; same prompts, greedy. ${WEIGHTS_HELP}
  ${MODEL_HELP}`;

/**
 * Metric ids from --metrics: comma-separated, but a regex:/contains: argument may itself hold
 * commas, so a piece that starts no known id continues the previous argument.
 */
export function parseMetricIds(s: string): string[] {
  const ids: string[] = [];
  for (const piece of s.split(',')) {
    const starts = METRIC_IDS.includes(piece.trim()) || /^(regex|contains):/.test(piece.trim());
    const prev = ids.length - 1;
    if (!starts && prev >= 0 && /^(regex|contains):/.test(ids[prev])) ids[prev] += `,${piece}`;
    else ids.push(piece.trim());
  }
  return ids.filter(Boolean);
}

/** Distinct display names for the adapters (their folder names, numbered when two coincide). */
function adapterNames(dirs: readonly string[]): string[] {
  const base = dirs.map((d) => basename(resolve(d)) || d);
  return base.map((b, i) => (base.filter((x) => x === b).length > 1 ? `${b}#${i + 1}` : b)).map((b) => (b === 'base' || b === 'prompted' ? `adapter:${b}` : b));
}

const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
const interval = (m: MeanInterval) => `${fmt(m.mean)} [${fmt(m.lo)}, ${fmt(m.hi)}]`;

export async function evaluateCommand(v: Values, out: (l: string) => void): Promise<void> {
  const dataFile = str(v, 'data');
  const maxNew = num(v, 'max-new-tokens', 128, { int: true, min: 1 });
  const batch = num(v, 'batch', 8, { int: true, min: 1, max: 1024 });
  const shotsK = num(v, 'baseline-shots', 0, { int: true, min: 0 });
  const seed = num(v, 'seed', 0, { int: true, min: 0 });
  const systemText = optStr(v, 'baseline-system');
  const trainFile = optStr(v, 'train');
  const adapterDirs = Array.isArray(v.adapter) ? v.adapter : [];
  if (shotsK > 0 && !trainFile) throw new CliError('--baseline-shots needs --train FILE: the shots come from the training set, never from the evaluation set');
  const excludeInvalid = v['exclude-invalid'] === true;
  const evalExamples = selectExamples(dataFile, await parseDatasetFile(dataFile), { excludeInvalid, purpose: 'evaluate' });
  const { items, skippedRows } = toEvalSet(evalExamples);
  if (items.length === 0) throw new CliError(`--data ${dataFile}: no example with a user turn followed by an assistant answer to grade`);
  let shots: EvalItem[] = [];
  if (trainFile) {
    const train = selectExamples(trainFile, await parseDatasetFile(trainFile), { excludeInvalid, purpose: 'evaluate' });
    try {
      assertDisjoint(train, evalExamples);
      shots = fewShotExamples(train, evalExamples, shotsK, seed);
    } catch (err) {
      if (err instanceof EvalLeakError) throw new CliError(`--train ${trainFile} / --data ${dataFile}: ${err.message}`, { cause: err });
      throw err;
    }
    if (shots.length < shotsK) throw new CliError(`--train ${trainFile}: only ${shots.length} usable examples for --baseline-shots ${shotsK}`);
  }
  const references = items.map((i) => i.reference);
  let metrics: Metric[];
  try {
    metrics = resolveMetrics(references, v.metrics === undefined ? undefined : parseMetricIds(str(v, 'metrics')));
  } catch (err) {
    throw new CliError(`--metrics: ${(err as Error).message}`, { cause: err });
  }

  const names = adapterNames(adapterDirs);
  const systems: EvalSystem[] = [{ name: 'base', kind: 'base' }];
  if (systemText !== undefined || shotsK > 0) systems.push({ name: 'prompted', kind: 'prompted' });
  adapterDirs.forEach((dir, i) => systems.push({ name: names[i], kind: 'tuned', adapter: dir }));

  const e = await loadEngine(str(v, 'model'), undefined, { weights: weightsFlag(v), model: modelArgs(v) });
  const outputs = new Map<string, SystemOutput>();
  try {
    if (!e.tokenizer.hasChatTemplate) throw new CliError(`--model: the tokenizer has no chat template (tokenizer_config.json chat_template); evaluate renders prompts with it`);
    for (const sys of systems) {
      const loaded = sys.adapter !== undefined ? await loadAdapter(e, sys.adapter) : null;
      try {
        const m: HeldOutModel = { ctx: e.ctx, model: e.model, tok: e.tokenizer, lora: loaded?.lora ?? null };
        const prompts = items.map((it) => systemPrompt(sys.kind, it, { shots, systemText }));
        const predictions = await greedyAnswers(m, prompts, {
          maxNewTokens: maxNew,
          batch,
          label: (i) => `row ${items[i].row}`,
          onProgress: (done) => process.stderr.write(`evaluate: ${sys.name} ${done}/${items.length} answers\n`),
        }).catch((err: unknown) => {
          throw err instanceof Error && /^the prompt of /.test(err.message) ? new CliError(`${sys.name}: ${err.message}`, { cause: err }) : err;
        });
        const loss = await referenceLoss(m, prompts, references, items.map((it) => it.row));
        outputs.set(sys.name, { predictions, loss });
      } finally {
        loaded?.lora.destroy();
      }
    }
  } finally {
    await e.close();
  }

  const result = combineEvaluation({ items, skippedRows, systems, outputs, metrics, seed });
  if (v.json) {
    out(JSON.stringify(result));
    return;
  }
  const tunedCount = systems.filter((s) => s.kind === 'tuned').length;
  out(`evaluate: ${items.length} held-out examples${skippedRows.length ? ` (${skippedRows.length} rows skipped: nothing to grade)` : ''}; greedy, at most ${maxNew} new tokens; 95% bootstrap intervals`);
  const header = ['system', ...result.metrics.map((m) => m.label), 'loss', 'perplexity'];
  const rows = result.systems.map((s) => [s.name, ...result.metrics.map((m) => interval(s.aggregates[m.id])), fmt(s.loss ?? NaN), fmt(s.perplexity ?? NaN)]);
  const widths = header.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j].length)));
  for (const r of [header, ...rows]) out(r.map((c, j) => c.padEnd(widths[j])).join('  ').trimEnd());
  if (result.comparisons.length > 0) out('');
  for (const c of result.comparisons) {
    const label = result.metrics.find((m) => m.id === c.metric)!.label;
    out(`${c.a} vs ${c.b} (${label}): ${c.wins} wins, ${c.ties} ties, ${c.losses} losses; difference ${interval(c.diff)}`);
  }
  if (result.verdicts.length > 0) out('');
  for (const vd of result.verdicts) out(`${vd.adapter !== null && tunedCount > 1 ? `${vd.adapter}: ` : ''}${vd.text}`);
}
