// The Evaluate screen in real Chromium on software WebGPU: a tiny random Llama imported as a
// local folder, a two-step run on the sample dataset, then base, prompted baseline and the tune
// answer the run's validation split in the worker (surviving a trip to another screen); the
// results are stored with the run, exported, and compared on the Runs screen.
// (It does not show the tune scoring higher than its base: see the report of this branch.)
import { readFile } from 'node:fs/promises';
import { expect, test } from '@playwright/test';
import { importTinyModel } from './tiny-model';

test.setTimeout(420_000);

test('evaluate a trained run: progress, navigation, scores with intervals, verdict, examples, exports, Runs comparison', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await importTinyModel(page, 7);
  await page.goto('/#/data');
  await page.getByTestId('load-sample').click();
  await expect(page.getByTestId('example-count')).toHaveText('300');
  await page.getByTestId('save-dataset').click();
  await expect(page.getByTestId('dataset-saved')).toBeVisible();

  await page.goto('/#/train');
  await expect(page.getByTestId('planned-steps')).toHaveText(/^[1-9]\d*$/, { timeout: 60_000 });
  for (const [label, v] of [['Max steps', '2'], ['Validation split', '0.02'], ['Batch size', '2'], ['Gradient accumulation', '1'], ['Sequence length', '128'], ['Evaluate every', '2'], ['Checkpoint every', '2'], ['Sample every', '100'], ['Warm-up steps', '0']] as const) {
    await page.getByLabel(label, { exact: true }).fill(v);
  }
  await page.getByTestId('start-run').click();
  await expect(page.getByTestId('run-status')).toContainText('step 2 / 2 · completed', { timeout: 240_000 });

  await page.goto('/#/evaluate');
  await expect(page.getByTestId('eval-run')).toBeVisible();
  await page.getByLabel('Baseline system prompt').fill('Answer with the event as JSON.');
  await page.getByLabel('Few-shot examples').fill('1');
  await page.getByLabel('Max new tokens').fill('8');
  await page.getByTestId('eval-start').click();
  await expect(page.getByTestId('eval-progress')).toBeVisible();
  // The job lives in the worker: away and back, it is still going (or done), not lost.
  await page.goto('/#/adapters');
  await page.goto('/#/evaluate');
  const results = page.getByTestId('eval-results');
  await expect(results).toBeVisible({ timeout: 240_000 });
  await expect(page.getByTestId('eval-progress')).toHaveCount(0);
  await expect(page.getByTestId('verdict').first()).toContainText(/held-out examples/);
  const scores = page.getByTestId('eval-scores');
  await expect(scores.locator('tbody tr')).toHaveCount(3);
  await expect(scores.locator('tbody tr').first()).toContainText(/\d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\]/);
  await expect(page.getByTestId('eval-comparisons')).toContainText(/wins, \d+ ties, \d+ losses/);
  const n = await page.getByTestId('eval-examples').locator('tbody tr').count();
  expect(n).toBeGreaterThan(0);
  await page.getByTestId('eval-filter').selectOption('disagree');
  expect(await page.getByTestId('eval-examples').locator('tbody tr').count()).toBeLessThanOrEqual(n);
  await page.screenshot({ path: 'e2e/artifacts/evaluate.png', fullPage: true });

  const jsonDl = page.waitForEvent('download');
  await results.getByRole('button', { name: 'Everything (.json)' }).click();
  const json = JSON.parse(await readFile((await (await jsonDl).path())!, 'utf8'));
  expect(json.result.systems.map((s: { kind: string }) => s.kind)).toEqual(['base', 'prompted', 'tuned']);
  expect(json.result.examples).toHaveLength(n);
  const csvDl = page.waitForEvent('download');
  await results.getByRole('button', { name: 'Examples (.csv)' }).click();
  const csv = await readFile((await (await csvDl).path())!, 'utf8');
  expect(csv.split('\r\n')[0]).toMatch(/^example,row,system,prompt,reference,prediction,/);

  // Stored with the run: the Runs screen compares it (after a reload, from IndexedDB).
  await page.goto('/#/adapters');
  await page.reload();
  await expect(page.getByTestId('run-evaluations')).toContainText('validation split');
  await expect(page.getByTestId('run-evaluations')).toContainText('base:');
  expect(errors).toEqual([]);
});
