// Does the tune beat the prompt, in the studio (real Chromium, software WebGPU): the tiny random
// Llama imported as a local folder learns a fixed JSON answer it cannot produce untrained; the
// prompted baseline is written once on the Playground and found on the Evaluate screen; base,
// prompted baseline and the tune answer the run's held-out split in the worker (surviving a trip
// to another screen); the tune must score higher than the base model and win the verdict. The
// result is stored with the run, exported, and compared on the Runs screen.
import { readFile } from 'node:fs/promises';
import { expect, test } from '@playwright/test';
import { importTinyModel, saveDataset, trainToCompletion } from './studio-support';

// Import, 12 training steps and three systems on 20 held-out rows: ~6 min on a 2-core box at load 14.
test.setTimeout(480_000);

/** A format task: whatever the note, the answer is the same JSON object. */
const ANSWER = '{"ok":true}';
function formatRows(n: number): string {
  const what = ['lunch', 'dinner', 'call', 'meeting', 'gym', 'dentist', 'review', 'party', 'trip', 'class'];
  const who = ['Ana', 'Chen', 'Bo', 'Dee', 'Eli', 'Fay', 'Gus'];
  return Array.from({ length: n }, (_, i) => JSON.stringify({ messages: [{ role: 'user', content: `${what[i % 10]} with ${who[i % 7]} #${i}` }, { role: 'assistant', content: ANSWER }] })).join('\n');
}

interface Aggregate {
  mean: number;
}
interface ResultJson {
  settings: { systemPrompt: string; fewShotText: string; shots: number };
  result: {
    n: number;
    metrics: { id: string }[];
    systems: { name: string; kind: string; aggregates: Record<string, Aggregate> }[];
    comparisons: { a: string; b: string; metric: string; wins: number; losses: number; diff: Aggregate }[];
    verdicts: { a: string; b: string; metric: string; outcome: string; text: string }[];
    examples: unknown[];
  };
}

test('the tune learns a format the base cannot produce and beats base and prompted baseline on held-out rows; progress, navigation, exports, Runs comparison', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await importTinyModel(page);
  await saveDataset(page, { name: 'ok-json.jsonl', text: formatRows(100), examples: 100 });
  await trainToCompletion(page, {
    'Max steps': '12',
    'Validation split': '0.2',
    'Batch size': '4',
    'Gradient accumulation': '1',
    'Sequence length': '128',
    'Learning rate': '0.01',
    Schedule: 'constant',
    'Warm-up steps': '0',
    'Evaluate every': '12',
    'Checkpoint every': '12',
    'Sample every': '100',
  });

  // The prompted baseline, written on the Playground: the Evaluate screen scores this same one.
  const system = 'Reply with one JSON object.';
  const written = `user: tea with Zed\nassistant: ${ANSWER}`;
  await page.goto('/#/playground');
  await page.getByText('Baseline prompt: system prompt and few-shot examples').click();
  await page.getByLabel('System prompt').fill(system);
  await page.getByLabel('Few-shot examples').fill(written);
  await page.goto('/#/evaluate');
  await expect(page.getByTestId('eval-run')).toBeVisible();
  await expect(page.getByLabel('Baseline system prompt')).toHaveValue(system);
  await expect(page.getByLabel('Few-shot examples', { exact: true })).toHaveValue(written);
  await page.getByLabel('Examples drawn from the training rows').fill('1');
  await page.getByLabel('Max new tokens').fill('16');
  await page.getByTestId('eval-start').click();
  await expect(page.getByTestId('eval-progress')).toBeVisible();
  // The job lives in the worker: away and back, it is still going (or done), not lost.
  await page.goto('/#/adapters');
  await page.goto('/#/evaluate');
  // And so are the choices it was started with.
  await expect(page.getByLabel('Max new tokens')).toHaveValue('16');
  await expect(page.getByLabel('Examples drawn from the training rows')).toHaveValue('1');
  const results = page.getByTestId('eval-results');
  await expect(results).toBeVisible({ timeout: 240_000 });
  await expect(page.getByTestId('eval-progress')).toHaveCount(0);
  const scores = page.getByTestId('eval-scores');
  await expect(scores.locator('tbody tr')).toHaveCount(3);
  await expect(scores.locator('tbody tr').first()).toContainText(/\d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\]/);
  await expect(page.getByTestId('eval-comparisons')).toContainText(/wins, \d+ ties, \d+ losses/);
  const n = await page.getByTestId('eval-examples').locator('tbody tr').count();
  expect(n).toBe(20); // 20% of 100 rows held out
  await page.getByTestId('eval-filter').selectOption('disagree');
  expect(await page.getByTestId('eval-examples').locator('tbody tr').count()).toBeLessThanOrEqual(n);
  await page.screenshot({ path: 'e2e/artifacts/evaluate.png', fullPage: true });

  const jsonDl = page.waitForEvent('download');
  await results.getByRole('button', { name: 'Everything (.json)' }).click();
  const json = JSON.parse(await readFile((await (await jsonDl).path())!, 'utf8')) as ResultJson;
  const r = json.result;
  expect(json.settings).toMatchObject({ systemPrompt: system, fewShotText: written, shots: 1 });
  expect(r.systems.map((s) => s.kind)).toEqual(['base', 'prompted', 'tuned']);
  expect(r.examples).toHaveLength(n);
  // JSON references: the metrics were chosen for JSON, led by per-field agreement.
  expect(r.metrics.map((m) => m.id)).toEqual(['json_fields', 'json', 'em', 'length']);
  // The point of the feature: on held-out rows the tune scores higher than its base and than the
  // prompted baseline on the headline metric, and the verdict (shown on screen) says so.
  const [base, prompted, tuned] = r.systems;
  const [v] = r.verdicts;
  expect(v).toMatchObject({ a: tuned.name, b: 'prompted', metric: 'json_fields', outcome: 'beats' });
  for (const other of [base, prompted]) {
    expect(tuned.aggregates.json_fields.mean, `${tuned.name} vs ${other.name}`).toBeGreaterThan(other.aggregates.json_fields.mean);
    const c = r.comparisons.find((x) => x.a === tuned.name && x.b === other.name && x.metric === 'json_fields')!;
    expect(c.wins).toBeGreaterThan(c.losses);
    expect(c.diff.mean).toBeGreaterThan(0);
  }
  expect(v.text).toMatch(/^The tune beats the prompted baseline on \d+ of 20 held-out examples/);
  await expect(page.getByTestId('verdict').first()).toHaveText(v.text);
  const cell = (system: string) => scores.locator(`tr[data-system="${system}"] td[data-metric="json_fields"]`);
  await expect(cell(tuned.name)).toContainText(tuned.aggregates.json_fields.mean.toFixed(3));
  await expect(cell('base')).toContainText(base.aggregates.json_fields.mean.toFixed(3));

  const csvDl = page.waitForEvent('download');
  await results.getByRole('button', { name: 'Examples (.csv)' }).click();
  const csv = await readFile((await (await csvDl).path())!, 'utf8');
  expect(csv.split('\r\n')[0]).toBe('example,row,system,prompt,reference,prediction,json_fields,json,em,length');

  // Stored with the run: the Runs screen compares it (after a reload, from IndexedDB).
  await page.goto('/#/adapters');
  await page.reload();
  await expect(page.getByTestId('run-evaluations')).toContainText('validation split');
  await expect(page.getByTestId('run-evaluations')).toContainText('base:');
  expect(errors).toEqual([]);
});
