// `evaluate` on Dawn: base, prompted baseline and two adapters on a tiny model and dataset.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './run-cli.testutil';
import { parseMetricIds } from './commands/evaluate';
import { randomAdapter, writePeftAdapter, writeTinyModel } from '../../test/fixtures/tiny-model';

let dir: string;
let modelDir: string;
let dataFile: string;
let trainFile: string;
const adapters: string[] = [];

const chat = (q: string, a: string) => JSON.stringify({ messages: [{ role: 'user', content: q }, { role: 'assistant', content: a }] });
// Prompts of different lengths, so batched rows sit at different positions.
const EVAL = [['hi', 'a b'], ['what is two plus two', '4'], ['name a colour of the sky at noon on a clear day', 'blue'], ['ok?', 'yes'], ['say the first three letters', 'a b c']];
const TRAIN = [['capital of france', 'paris'], ['one plus one', '2'], ['opposite of up', 'down'], ['say hello', 'hello']];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lora-evaluate-'));
  modelDir = join(dir, 'model');
  const model = await writeTinyModel(modelDir, { seed: 21, numKvHeads: 2, tied: false, headGain: 3 });
  for (const [i, seed] of [99, 7].entries()) {
    adapters.push(join(dir, `adapter${i + 1}`));
    await writePeftAdapter(adapters[i], randomAdapter(model, seed), model);
  }
  dataFile = join(dir, 'eval.jsonl');
  trainFile = join(dir, 'train.jsonl');
  await writeFile(dataFile, EVAL.map(([q, a]) => chat(q, a)).join('\n'));
  await writeFile(trainFile, TRAIN.map(([q, a]) => chat(q, a)).join('\n'));
});

afterAll(() => rm(dir, { recursive: true, force: true }));

const common = () => ['evaluate', '--model', modelDir, '--data', dataFile, '--adapter', adapters[0], '--adapter', adapters[1], '--baseline-system', 'Answer briefly.', '--baseline-shots', '2', '--train', trainFile, '--max-new-tokens', '6', '--weights', 'f32'];

describe('lora-studio evaluate', () => {
  it('JSON has every system, aggregate and row; batched generation equals --batch 1', async () => {
    const batched = await runCli([...common(), '--batch', '4', '--json']);
    expect(batched.code, batched.err).toBe(0);
    const single = await runCli([...common(), '--batch', '1', '--json']);
    expect(single.code, single.err).toBe(0);
    const b = JSON.parse(batched.out[0]);
    const s = JSON.parse(single.out[0]);
    const names = ['base', 'prompted', 'adapter1', 'adapter2'];
    expect(b.n).toBe(EVAL.length);
    expect(b.systems.map((x: { name: string }) => x.name)).toEqual(names);
    const metricIds = b.metrics.map((m: { id: string }) => m.id);
    expect(metricIds).toEqual(['em_norm', 'f1', 'length']); // short answers
    for (const sys of b.systems) {
      expect(Object.keys(sys.aggregates)).toEqual(metricIds);
      expect(Number.isFinite(sys.loss) && sys.loss > 0).toBe(true);
      expect(sys.perplexity).toBeCloseTo(Math.exp(sys.loss), 6);
      expect(sys.targets).toBeGreaterThan(0);
    }
    // The adapters change the model: their loss differs from the base model's.
    expect(Math.abs(b.systems[2].loss - b.systems[0].loss)).toBeGreaterThan(1e-3);
    expect(b.examples).toHaveLength(EVAL.length);
    b.examples.forEach((ex: { reference: string; predictions: Record<string, string>; scores: Record<string, Record<string, number>> }, i: number) => {
      expect(ex.reference).toBe(EVAL[i][1]);
      expect(Object.keys(ex.predictions)).toEqual(names);
      expect(Object.keys(ex.scores)).toEqual(names);
      for (const n of names) expect(Object.keys(ex.scores[n])).toEqual(metricIds);
    });
    // Means are the mean of the per-example scores.
    for (const sys of b.systems) {
      const mean = b.examples.reduce((acc: number, ex: { scores: Record<string, Record<string, number>> }) => acc + ex.scores[sys.name].f1, 0) / EVAL.length;
      expect(sys.aggregates.f1.mean).toBeCloseTo(mean, 12);
    }
    const pairs = b.comparisons.map((c: { a: string; b: string; metric: string }) => `${c.a}>${c.b}:${c.metric}`);
    for (const want of ['adapter1>prompted:em_norm', 'adapter1>base:f1', 'adapter2>prompted:f1', 'prompted>base:em_norm']) expect(pairs).toContain(want);
    expect(pairs.filter((p: string) => p === 'prompted>base:f1')).toHaveLength(1);
    for (const c of b.comparisons) expect(c.wins + c.ties + c.losses).toBe(EVAL.length);
    expect(b.verdicts.map((v: { a: string; b: string }) => `${v.a}>${v.b}`)).toEqual(['adapter1>prompted', 'adapter2>prompted']);
    for (const v of b.verdicts) expect(v.text.length).toBeGreaterThan(20);
    // Batch size changes nothing: same answers, scores, intervals and losses.
    expect(s).toEqual(b);
    // Progress went to stderr, not stdout.
    expect(batched.out).toHaveLength(1);
    expect(batched.err).toMatch(/evaluate: adapter2 5\/5 answers/);

    // The base system's answer to a prompt is what `generate` answers (same template, greedy).
    const g = await runCli(['generate', '--model', modelDir, '--prompt', EVAL[2][0], '--max-tokens', '6', '--json', '--weights', 'f32']);
    expect(g.code, g.err).toBe(0);
    expect(b.examples[2].predictions.base).toBe(JSON.parse(g.out[0]).text.trim());
  }, 600_000);

  it('prints a table, the paired counts and the verdict', async () => {
    const r = await runCli(['evaluate', '--model', modelDir, '--data', dataFile, '--adapter', adapters[0], '--baseline-system', 'Answer briefly.', '--max-new-tokens', '4', '--batch', '8', '--metrics', 'f1,regex:^(a|b),c$', '--weights', 'f32']);
    expect(r.code, r.err).toBe(0);
    const text = r.out.join('\n');
    expect(text).toMatch(/^system\s+token F1\s+matches \/\^\(a\|b\),c\$\/\s+loss\s+perplexity$/m);
    expect(text).toMatch(/^base\s+\d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\]/m);
    expect(text).toMatch(/^adapter1 vs prompted \(token F1\): \d+ wins, \d+ ties, \d+ losses; difference /m);
    expect(text).toMatch(/^The tune (beats|ties with|does not beat) the prompted baseline/m);
  }, 600_000);

  it('a tiny model trained on a format task (a fixed JSON answer) scores higher than its base on held-out rows', async () => {
    // The same task as the studio's e2e (e2e/shared-device.spec.ts, 'evaluation'): the random model never writes the answer.
    const rows = Array.from({ length: 120 }, (_, i) => chat(`note ${['lunch', 'call', 'gym', 'trip', 'class'][i % 5]} #${i}`, '{"ok":true}'));
    const trainData = join(dir, 'format-train.jsonl');
    const heldOut = join(dir, 'format-eval.jsonl');
    await writeFile(trainData, rows.slice(0, 100).join('\n'));
    await writeFile(heldOut, rows.slice(100).join('\n'));
    const formatModel = join(dir, 'format-model');
    await writeTinyModel(formatModel, { seed: 7 });
    const tuned = join(dir, 'format-adapter');
    const t = await runCli(['train', '--model', formatModel, '--data', trainData, '--out', tuned, '--steps', '12', '--lr', '0.01', '--schedule', 'constant', '--warmup', '0', '--batch', '4', '--grad-accum', '1', '--seq-len', '128', '--val-split', '0.05', '--eval-every', '12', '--checkpoint-every', '100', '--weights', 'f32']);
    expect(t.code, t.err).toBe(0);
    const r = await runCli(['evaluate', '--model', formatModel, '--data', heldOut, '--adapter', tuned, '--max-new-tokens', '16', '--weights', 'f32', '--json']);
    expect(r.code, r.err).toBe(0);
    const out = JSON.parse(r.out[0]);
    expect(out.metrics.map((m: { id: string }) => m.id)).toEqual(['json_fields', 'json', 'em', 'length']);
    const [base, tune] = out.systems as { name: string; aggregates: Record<string, { mean: number }> }[];
    for (const m of ['json_fields', 'json', 'em']) expect(tune.aggregates[m].mean, m).toBeGreaterThan(base.aggregates[m].mean);
    expect(out.verdicts[0]).toMatchObject({ a: 'format-adapter', b: 'base', metric: 'json_fields', outcome: 'beats' });
    expect(out.verdicts[0].text).toMatch(/^The tune beats the base model on \d+ of 20 held-out examples/);
  }, 600_000);

  it('refuses few-shot examples drawn from the evaluation set, and shots without --train', async () => {
    const leaky = join(dir, 'leaky.jsonl');
    await writeFile(leaky, [...TRAIN, EVAL[1]].map(([q, a]) => chat(q, a)).join('\n'));
    const r = await runCli(['evaluate', '--model', modelDir, '--data', dataFile, '--baseline-shots', '2', '--train', leaky]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/not held out: 1 example\(s\) also occur in the training set \(training row \d+ = evaluation row \d+\)/);
    const noTrain = await runCli(['evaluate', '--model', modelDir, '--data', dataFile, '--baseline-shots', '2']);
    expect(noTrain.code).toBe(1);
    expect(noTrain.err).toMatch(/--baseline-shots needs --train FILE/);
  });

  it('--metrics keeps commas inside a regex or contains argument', () => {
    expect(parseMetricIds('em,f1,regex:^(a|b),c$,chrf,contains:x,y')).toEqual(['em', 'f1', 'regex:^(a|b),c$', 'chrf', 'contains:x,y']);
  });
});
