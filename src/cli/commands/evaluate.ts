// `evaluate`: the base model, a prompted baseline and each adapter answer the same held-out
// prompts (greedy, batched on the GPU); src/eval scores the answers against the references,
// with intervals, paired wins/ties/losses and the verdict; each system's teacher-forced loss on
// the references comes from the `eval` command's code path (meanLoss).
import { basename, resolve } from 'node:path';
import { Generator } from '../../engine/model/generate';
import type { LoraParams } from '../../engine/model/lora-params';
import { promptIds, ReplyText, tokenizeExamples, type Example, type Message } from '../../data';
import { EvalLeakError, METRIC_IDS, assertDisjoint, evaluate, fewShotExamples, fewShotPrompt, resolveMetrics, toEvalSet, type EvalItem, type EvalReport, type Metric, type MeanInterval, type PairedComparison, type SystemId } from '../../eval';
import { num, optStr, str, type Values } from '../args';
import { type LoadedEngine, loadAdapter, loadEngine } from '../engine-model';
import { CliError } from '../model-dir';
import { parseDatasetFile, selectExamples } from '../dataset-file';
import { WEIGHTS_HELP, weightsFlag } from '../weights';
import { meanLoss } from './infer';

export const EVALUATE_OPTIONS = {
  model: { type: 'string' },
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

export const EVALUATE_HELP = `evaluate --model DIR --data FILE [--adapter DIR ...] [--baseline-system TEXT] [--baseline-shots N --train FILE]
  [--metrics ${METRIC_IDS.join(',')},regex:PATTERN,contains:TEXT (chosen from the references)]
  [--max-new-tokens N (128)] [--batch N (8)] [--seed N (0; few-shot draw and bootstrap)] [--exclude-invalid] [--json]
  Systems: base, the prompted baseline (with --baseline-system and/or --baseline-shots; shots come from --train,
  never from --data) and each adapter; same prompts, greedy. ${WEIGHTS_HELP}`;

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

interface System {
  name: string;
  kind: SystemId;
  adapterDir?: string;
  prompts: Message[][];
}

interface SystemResult {
  predictions: string[];
  loss: { loss: number; targets: number; perplexity: number };
}

/** The prompted baseline's conversation: its system text before the item's own, then the shots, then the item. */
function promptedMessages(item: EvalItem, shots: readonly EvalItem[], systemText: string | undefined): Message[] {
  const msgs = fewShotPrompt(item, shots);
  if (systemText === undefined) return msgs;
  const own = msgs.filter((m) => m.role === 'system').map((m) => m.content);
  return [{ role: 'system', content: [systemText, ...own].join('\n\n') }, ...msgs.filter((m) => m.role !== 'system')];
}

/** Distinct display names for the adapters (their folder names, numbered when two coincide). */
function adapterNames(dirs: readonly string[]): string[] {
  const base = dirs.map((d) => basename(resolve(d)) || d);
  return base.map((b, i) => (base.filter((x) => x === b).length > 1 ? `${b}#${i + 1}` : b)).map((b) => (b === 'base' || b === 'prompted' ? `adapter:${b}` : b));
}

async function runSystem(e: LoadedEngine, lora: LoraParams | null, sys: System, items: readonly EvalItem[], o: { maxNew: number; batch: number; stops: number[] }): Promise<SystemResult> {
  const { tokenizer: tok, opened } = e;
  const cfg = opened.config;
  const ids = sys.prompts.map((m) => promptIds(tok, m));
  ids.forEach((p, i) => {
    if (p.length >= cfg.maxPositionEmbeddings) throw new CliError(`${sys.name}: the prompt of row ${items[i].row} has ${p.length} tokens, the model's context is ${cfg.maxPositionEmbeddings}`);
  });
  const maxT = Math.min(cfg.maxPositionEmbeddings, Math.max(...ids.map((p) => p.length)) + o.maxNew);
  // The KV cache of a layer is one storage binding: fewer rows per batch when long prompts need it.
  const perSeq = maxT * cfg.numKvHeads * cfg.headDim * 4;
  const batch = Math.max(1, Math.min(o.batch, ids.length, Math.floor(e.ctx.caps.maxStorageBufferBindingSize / perSeq)));
  const gen = new Generator(e.model, lora, maxT, batch);
  const predictions: string[] = [];
  try {
    for (let i = 0; i < ids.length; i += batch) {
      const res = await gen.generateBatch(ids.slice(i, i + batch), { maxNewTokens: o.maxNew, stopTokens: o.stops, loraScale: lora ? 1 : 0 });
      res.forEach((r, j) => {
        const reply = new ReplyText(tok, ids[i + j]);
        for (const t of r.tokens) if (!o.stops.includes(t)) reply.push(t);
        predictions.push(reply.finish().text.trim());
      });
      process.stderr.write(`evaluate: ${sys.name} ${predictions.length}/${ids.length} answers\n`);
    }
  } finally {
    gen.destroy();
  }
  // Teacher-forced loss of the reference after the same prompt (the last assistant turn only,
  // so few-shot answers in the prompt are context, not scored).
  const examples: Example[] = sys.prompts.map((m, i) => ({ kind: 'chat', row: items[i].row, messages: [...m, { role: 'assistant', content: items[i].reference }] }));
  const tokd = await tokenizeExamples(tok, examples, { lossMode: 'last-assistant' });
  const longest = Math.max(8, ...tokd.examples.map((x) => x.inputIds.length));
  const T = Math.min(cfg.maxPositionEmbeddings, Math.ceil(longest / 8) * 8);
  const l = await meanLoss(e, lora, tokd.examples, { B: Math.min(4, examples.length), T, loraScale: 1 });
  return { predictions, loss: { loss: l.loss, targets: l.targets, perplexity: Math.exp(l.loss) } };
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
  const systems: System[] = [{ name: 'base', kind: 'base', prompts: items.map((i) => i.prompt) }];
  if (systemText !== undefined || shotsK > 0) systems.push({ name: 'prompted', kind: 'prompted', prompts: items.map((i) => promptedMessages(i, shots, systemText)) });
  adapterDirs.forEach((dir, i) => systems.push({ name: names[i], kind: 'tuned', adapterDir: dir, prompts: items.map((it) => it.prompt) }));

  const e = await loadEngine(str(v, 'model'), undefined, { weights: weightsFlag(v) });
  const results = new Map<string, SystemResult>();
  try {
    if (!e.tokenizer.hasChatTemplate) throw new CliError(`--model: the tokenizer has no chat template (tokenizer_config.json chat_template); evaluate renders prompts with it`);
    const stops = [...new Set([...e.opened.config.eosTokenIds, ...(e.tokenizer.eosTokenId !== null ? [e.tokenizer.eosTokenId] : [])])];
    for (const sys of systems) {
      const loaded = sys.adapterDir !== undefined ? await loadAdapter(e, sys.adapterDir) : null;
      try {
        results.set(sys.name, await runSystem(e, loaded?.lora ?? null, sys, items, { maxNew, batch, stops }));
      } finally {
        loaded?.lora.destroy();
      }
    }
  } finally {
    await e.close();
  }

  // src/eval compares base / prompted / one tuned system: one report per adapter (base and
  // prompted score the same in each, the bootstrap being seeded).
  const predictionsOf = (name: string) => results.get(name)!.predictions;
  const common = { references, rows: items.map((i) => i.row), metrics, bootstrap: { seed } };
  const basePreds: Partial<Record<SystemId, readonly string[]>> = { base: predictionsOf('base'), ...(results.has('prompted') ? { prompted: predictionsOf('prompted') } : {}) };
  const tuned = systems.filter((s) => s.kind === 'tuned');
  const reports: { name: string | null; report: EvalReport }[] = tuned.length === 0 ? [{ name: null, report: evaluate({ ...common, predictions: basePreds }) }] : tuned.map((s) => ({ name: s.name, report: evaluate({ ...common, predictions: { ...basePreds, tuned: predictionsOf(s.name) } }) }));
  const display = (id: SystemId, tunedName: string | null) => (id === 'tuned' ? tunedName! : id);

  const aggregates = new Map<string, Record<string, MeanInterval>>();
  const comparisons: { a: string; b: string; metric: string; result: PairedComparison }[] = [];
  const verdicts: { adapter: string | null; a: string; b: string; metric: string; outcome: string; text: string }[] = [];
  for (const { name, report } of reports) {
    for (const s of report.systems) aggregates.set(display(s, name), report.aggregates[s]!);
    for (const c of report.comparisons) {
      const a = display(c.a, name);
      const b = display(c.b, name);
      if (!comparisons.some((x) => x.a === a && x.b === b && x.metric === c.metric)) comparisons.push({ a, b, metric: c.metric, result: c.result });
    }
    if (report.verdict) verdicts.push({ adapter: name, a: display(report.verdict.a, name), b: display(report.verdict.b, name), metric: report.verdict.metric, outcome: report.verdict.outcome, text: report.verdict.text });
  }
  const first = reports[0].report;
  const examples = first.examples.map((ex, i) => ({
    index: ex.index,
    row: ex.row,
    reference: ex.reference,
    predictions: Object.fromEntries(systems.map((s) => [s.name, predictionsOf(s.name)[i]])),
    scores: Object.fromEntries(systems.map((s) => {
      const r = reports.find((x) => s.kind !== 'tuned' || x.name === s.name)!.report;
      return [s.name, r.examples[i].scores[s.kind]!];
    })),
  }));

  if (v.json) {
    out(JSON.stringify({
      n: items.length,
      skipped_rows: skippedRows,
      metrics: first.metrics,
      systems: systems.map((s) => ({ name: s.name, kind: s.kind, ...(s.adapterDir !== undefined ? { adapter: s.adapterDir } : {}), aggregates: aggregates.get(s.name), ...results.get(s.name)!.loss })),
      comparisons: comparisons.map((c) => ({ a: c.a, b: c.b, metric: c.metric, ...c.result })),
      verdicts,
      examples,
    }));
    return;
  }
  out(`evaluate: ${items.length} held-out examples${skippedRows.length ? ` (${skippedRows.length} rows skipped: nothing to grade)` : ''}; greedy, at most ${maxNew} new tokens; 95% bootstrap intervals`);
  const header = ['system', ...first.metrics.map((m) => m.label), 'loss', 'perplexity'];
  const rows = systems.map((s) => {
    const l = results.get(s.name)!.loss;
    return [s.name, ...first.metrics.map((m) => interval(aggregates.get(s.name)![m.id])), fmt(l.loss), fmt(l.perplexity)];
  });
  const widths = header.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j].length)));
  for (const r of [header, ...rows]) out(r.map((c, j) => c.padEnd(widths[j])).join('  ').trimEnd());
  if (comparisons.length > 0) out('');
  for (const c of comparisons) {
    const label = first.metrics.find((m) => m.id === c.metric)!.label;
    out(`${c.a} vs ${c.b} (${label}): ${c.result.wins} wins, ${c.result.ties} ties, ${c.result.losses} losses; difference ${interval(c.result.diff)}`);
  }
  if (verdicts.length > 0) out('');
  for (const vd of verdicts) out(`${vd.adapter !== null && tuned.length > 1 ? `${vd.adapter}: ` : ''}${vd.text}`);
}
