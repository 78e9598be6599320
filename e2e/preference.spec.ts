// DPO in the studio, in real Chromium on software WebGPU: a tiny random Llama imported as a local
// folder, a small file of preference pairs (TRL's prompt/chosen/rejected) on the Data screen, the
// Train screen switching to DPO for pairs (also for a dataset saved before pairs were recorded) and
// showing only DPO's settings, two DPO steps whose reward
// metrics (TRL's names) appear live and stay with the run, and a PEFT zip that says it was DPO.
import { readFile } from 'node:fs/promises';
import { expect, test } from '@playwright/test';
import { importTinyModel } from './studio-support';
import { unzipFiles } from '../src/worker/zip';

// Two DPO steps on a tiny model (kernel compilation dominates): about three minutes on a loaded 2-core box.
test.setTimeout(300_000);

/** 24 pairs: a polite answer is preferred to a curt one. */
const PAIRS = Array.from({ length: 24 }, (_, i) => JSON.stringify({ prompt: `Greet guest ${i}.`, chosen: `Hello guest ${i}, welcome!`, rejected: 'No.' })).join('\n') + '\n';

test('DPO on preference pairs: objective checks, live reward metrics stored with the run, the export names the objective', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await importTinyModel(page, { seed: 7 });

  // Data: the pairs are recognised as such, and the (default) SFT objective is said not to fit them.
  await page.goto('/#/data');
  await page.getByTestId('dataset-drop').locator('input[type=file]').setInputFiles({ name: 'greetings-pairs.jsonl', mimeType: 'application/jsonl', buffer: Buffer.from(PAIRS) });
  await expect(page.getByTestId('example-count')).toHaveText('24');
  await expect(page.getByTestId('dataset-objective')).toContainText('preference pairs (prompt, chosen, rejected): DPO or ORPO');
  await expect(page.getByTestId('objective-mismatch')).toContainText('the dataset holds 24 preference pairs');
  // The preview shows both completions of a pair after its prompt, each as trained text.
  const first = page.getByTestId('dataset-preview').locator('li').first();
  await expect(first).toContainText('Greet guest 0.');
  await expect(first.locator('[data-side="chosen"] mark.trained')).toHaveText('Hello guest 0, welcome!');
  await expect(first.locator('[data-side="rejected"] mark.trained')).toHaveText('No.');
  await page.getByTestId('save-dataset').click();
  await expect(page.getByTestId('dataset-saved')).toBeVisible();

  // Train: choosing the pairs switched the (SFT) objective to DPO, said so, and SFT is offered disabled with why.
  const objective = page.getByRole('combobox', { name: 'Objective', exact: true });
  const followsPairs = async () => {
    await expect(page.getByTestId('train-dataset')).toContainText('24 preference pairs');
    await expect(objective).toHaveValue('dpo');
    await expect(page.getByTestId('train-settings')).toContainText('Objective set to DPO: the dataset holds preference pairs.');
    await expect(objective.locator('option[value="sft"]')).toBeDisabled();
    await expect(objective.locator('option[value="orpo"]')).toBeEnabled();
    await expect(page.getByTestId('train-settings')).toContainText('Not offered: SFT needs one answer per example, and the dataset holds preference pairs.');
    await expect(page.getByTestId('train-settings')).not.toContainText('Cannot start');
  };
  await page.goto('/#/train');
  await followsPairs();
  // The same dataset as an older version saved it (no word on pairs) with SFT chosen: the stored file tells.
  await page.evaluate(() => {
    const edit = (key: string, f: (state: Record<string, Record<string, unknown>>) => void) => {
      const v = JSON.parse(localStorage.getItem(key)!);
      f(v.state);
      localStorage.setItem(key, JSON.stringify(v));
    };
    edit('lora-studio.dataset', (s) => delete s.saved.pairs);
    edit('lora-studio.train', (s) => (s.settings.objective = 'sft'));
  });
  await page.reload();
  await followsPairs();
  // DPO: its β and label smoothing are live, ORPO's λ is off with the reason.
  await expect(page.getByLabel('DPO beta (β)', { exact: true })).toBeEnabled();
  await expect(page.getByLabel('DPO label smoothing', { exact: true })).toBeEnabled();
  await expect(page.getByLabel('ORPO lambda (λ)', { exact: true })).toBeDisabled();
  await expect(page.getByTestId('train-settings')).toContainText('Not used: applies to ORPO only, and the objective is DPO.');
  for (const [label, v] of [['Max steps', '2'], ['Validation split', '0.17'], ['Batch size', '2'], ['Gradient accumulation', '1'], ['Sequence length', '128'], ['Evaluate every', '2'], ['Checkpoint every', '2'], ['Sample every', '0'], ['Warm-up steps', '0']] as const) {
    await page.getByLabel(label, { exact: true }).fill(v);
  }
  // A large step so that two steps move the rewards visibly (the chart of the same name shares the label).
  await page.getByRole('spinbutton', { name: 'Learning rate', exact: true }).fill('0.005');
  await expect(page.getByTestId('planned-steps')).toHaveText('2', { timeout: 60_000 });
  await page.getByTestId('start-run').click();
  await expect(page.getByTestId('run-status')).toContainText('step 2 / 2 · completed', { timeout: 240_000 });

  // The reward metrics under TRL's names, on the training pairs and on the held-out ones, and their charts.
  const metrics = page.getByTestId('preference-metrics');
  for (const name of ['rewards/chosen', 'rewards/rejected', 'rewards/accuracies', 'rewards/margins', 'logps/chosen', 'logps/rejected']) {
    await expect(metrics.getByTestId(`train-${name}`), name).toHaveText(/^-?\d/);
    await expect(metrics.getByTestId(`eval-${name}`), name).toHaveText(/^-?\d/);
  }
  const accuracy = Number(await metrics.getByTestId('train-rewards/accuracies').textContent());
  expect(accuracy).toBeGreaterThanOrEqual(0);
  expect(accuracy).toBeLessThanOrEqual(1);
  const charts = page.getByTestId('live-charts');
  for (const title of ['Loss', 'Rewards (β · log-ratio to the reference)', 'Reward accuracy (chosen above rejected)', 'Log-probabilities of the answers']) {
    await expect(charts.getByRole('figure', { name: title }).locator('.chart-empty'), title).toHaveCount(0);
  }
  await page.screenshot({ path: 'e2e/artifacts/train-dpo.png', fullPage: true });

  // Stored with the run: after a reload the Train screen draws them again from IndexedDB.
  await page.reload();
  await expect(page.getByText(/Curves of the latest run/)).toBeVisible();
  await expect(page.getByTestId('preference-metrics').getByTestId('eval-rewards/margins')).toHaveText(/^-?\d/);
  await expect(page.getByTestId('live-charts').getByRole('figure', { name: 'Reward accuracy (chosen above rejected)' }).locator('.chart-empty')).toHaveCount(0);

  // Runs: the run and its adapter say DPO; the PEFT zip carries the run record naming it.
  await page.goto('/#/adapters');
  await expect(page.getByTestId('run-objective').first()).toHaveText('DPO, β 0.1');
  await expect(page.getByTestId('adapter-objective').first()).toHaveText('preference: DPO');
  // Comparing runs: the metric is chosen among those the run measured, its rewards included.
  await page.getByRole('checkbox', { name: /^Compare / }).first().check();
  const metric = page.getByTestId('run-comparison').getByLabel('Metric compared');
  await expect(metric.locator('option')).toHaveCount(14);
  await expect(metric).toHaveValue('trainLoss');
  await metric.selectOption('eval_rewards/accuracies');
  await expect(page.getByTestId('run-comparison').getByRole('figure', { name: 'Reward accuracy, held-out pairs (eval_rewards/accuracies) of the selected runs' }).locator('.chart-empty')).toHaveCount(0);
  const download = page.waitForEvent('download');
  await page.getByTestId('adapters').getByRole('button', { name: 'PEFT (.zip)' }).first().click();
  const zip = unzipFiles(new Uint8Array(await readFile((await (await download).path())!)));
  expect(zip.map((f) => f.name).sort()).toEqual(['README.md', 'adapter_config.json', 'adapter_model.safetensors', 'training_settings.json']);
  const record = JSON.parse(new TextDecoder().decode(zip.find((f) => f.name === 'training_settings.json')!.bytes));
  expect(record.objective).toEqual({ kind: 'dpo', beta: 0.1, labelSmoothing: 0 });
  expect(record.settings.objective).toBe('dpo');
  expect(errors).toEqual([]);
});
