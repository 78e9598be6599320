// The studio in real Chromium (software WebGPU): advisor outcomes, the data screen on the
// sample and on a malformed file, persistence across reloads (IndexedDB), adapter import and
// export, and a screenshot of every screen in e2e/artifacts/<screen>.png.
import { expect, test, type Page } from '@playwright/test';

const ARTIFACTS = 'e2e/artifacts';

function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return errors;
}

/** Answers the advisor's questions by their visible labels, in order. */
async function answer(page: Page, labels: string[]) {
  for (const label of labels) {
    await page.getByRole('radio', { name: new RegExp(`^${label}`) }).check();
    await page.getByRole('button', { name: 'Next' }).click();
  }
}

test('the advisor reaches every recommendation and offers the training path only for fine-tuning', async ({ page }) => {
  const errors = watchErrors(page);
  await page.goto('/#/advisor');
  const paths: [string[], string][] = [
    [['It does not know things', 'It changes'], 'retrieval'],
    [['Style, tone or format', 'Not yet'], 'prompt'],
    [['Style, tone or format', 'Yes, and it works'], 'keep-prompting'],
    [['Style, tone or format', 'Yes, and it is not enough', 'Some'], 'few-shot'],
    [['A narrow task', 'Yes, and it is not enough', 'Plenty'], 'fine-tune'],
    [['A big model works', 'Yes, and it works', 'Plenty'], 'fine-tune-smaller'],
    [['A big model works', 'Yes, and it works', 'Hardly any'], 'collect-data'],
    [['It answers, but not the way you prefer', 'Yes, and it is not enough', 'Plenty'], 'preference-tune'],
    [['It answers, but not the way you prefer', 'Yes, and it is not enough', 'Some'], 'collect-pairs'],
  ];
  for (const [labels, id] of paths) {
    await answer(page, labels);
    const rec = page.getByTestId('recommendation');
    await expect(rec).toHaveAttribute('data-rec', id);
    await expect(rec.getByRole('heading', { name: 'What it costs' })).toBeVisible();
    await expect(rec.getByTestId('go-data')).toHaveCount(['fine-tune', 'fine-tune-smaller', 'preference-tune'].includes(id) ? 1 : 0);
    if (id === 'fine-tune') await page.screenshot({ path: `${ARTIFACTS}/advisor.png`, fullPage: true });
    await rec.getByRole('button', { name: 'Start over' }).click();
  }
  // The machine check found the software adapter and judged the presets against its limits.
  await expect(page.getByTestId('machine-adapter')).not.toBeEmpty();
  // SmolLM2-135M at the balanced settings: the engine allocates under 1 GB (f32 weights on this adapter).
  await expect(page.getByTestId('model-fit').locator('tbody tr').first()).toContainText(/[\d.]+ MiB.*likely fits/);
  expect(errors).toEqual([]);
});

test('the sample dataset loads, is saved, and is still there after a reload', async ({ page }) => {
  const errors = watchErrors(page);
  await page.goto('/#/data');
  await page.getByTestId('load-sample').click();
  await expect(page.getByTestId('example-count')).toHaveText('300');
  await expect(page.getByTestId('invalid-count')).toHaveText('0');
  await expect(page.getByTestId('detected-format')).toContainText('Chat');
  await expect(page.getByTestId('dataset-preview').locator('mark.trained').first()).toBeVisible();
  await page.getByTestId('save-dataset').click();
  await expect(page.getByTestId('dataset-saved')).toContainText('300 examples');
  await page.screenshot({ path: `${ARTIFACTS}/data.png`, fullPage: true });
  await page.reload();
  await expect(page.getByTestId('dataset-saved')).toContainText('300 examples from calendar-lines.jsonl');
  await expect(page.getByTestId('example-count')).toHaveText('300'); // re-opened from IndexedDB
  expect(errors).toEqual([]);
});

test('a malformed file shows its row errors and needs consent before it can be used', async ({ page }) => {
  const errors = watchErrors(page);
  await page.goto('/#/data');
  const good = (i: number) => JSON.stringify({ messages: [{ role: 'user', content: `q${i}` }, { role: 'assistant', content: `a${i}` }] });
  const lines = [good(1), '{"messages": [', good(2), JSON.stringify({ messages: [{ role: 'wizard', content: 'x' }, { role: 'assistant', content: 'y' }] }), good(3), JSON.stringify({ messages: [{ role: 'user', content: 'only a question' }] })];
  await page.getByTestId('dataset-drop').locator('input[type=file]').setInputFiles({ name: 'broken.jsonl', mimeType: 'application/jsonl', buffer: Buffer.from(lines.join('\n')) });
  const table = page.getByTestId('row-errors');
  await expect(table).toBeVisible();
  await expect(page.getByTestId('invalid-count')).toHaveText('3');
  await expect(page.getByTestId('example-count')).toHaveText('3');
  // Line numbers of the three bad lines, with the field at fault where there is one.
  for (const line of ['2', '4', '6']) await expect(table.locator(`tr[data-line="${line}"]`).first()).toBeVisible();
  await expect(table.locator('tr[data-line="4"]')).toContainText('role');
  await expect(page.getByTestId('dataset-warnings').locator('[data-code="few-examples"]')).toBeVisible();
  const save = page.getByTestId('save-dataset');
  await expect(save).toBeDisabled();
  await page.getByTestId('consent-exclude').check();
  await expect(save).toBeEnabled();
  await page.screenshot({ path: `${ARTIFACTS}/data-errors.png`, fullPage: true });
  await save.click();
  await expect(page.getByTestId('dataset-saved')).toContainText('3 examples');
  expect(errors).toEqual([]);
});

test('model, train, playground, runs and gpu screens render and validate their inputs', async ({ page }) => {
  const errors = watchErrors(page);
  await page.goto('/#/model');
  await expect(page.getByTestId('memory-estimate')).toContainText(/training allocates [\d.]+ MiB of GPU memory \(f32 base weights\)/);
  await page.getByRole('radio', { name: /SmolLM2 360M/ }).check();
  await expect(page.getByTestId('model-choice')).toContainText('SmolLM2-360M-Instruct');
  await page.getByRole('radio', { name: /SmolLM2 135M/ }).check();
  await page.screenshot({ path: `${ARTIFACTS}/model.png`, fullPage: true });

  await page.goto('/#/train');
  await expect(page.getByTestId('train-settings')).toBeVisible();
  await page.getByRole('radio', { name: /Quick try/ }).check();
  await expect(page.getByLabel('Rank (r)')).toHaveValue('4');
  await page.getByLabel('Rank (r)').fill('0');
  await expect(page.getByTestId('train-settings')).toContainText('a whole number from 1 to 256');
  await page.getByLabel('Rank (r)').fill('8');
  // Longer than the model's positions (SmolLM2: 8192) is refused before anything starts.
  await page.getByLabel('Sequence length').fill('9000');
  await expect(page.getByTestId('start-blocked')).toContainText("max_position_embeddings (8192)");
  await expect(page.getByTestId('start-run')).toBeDisabled();
  await page.getByLabel('Sequence length').fill('512');
  await expect(page.getByTestId('start-blocked')).toHaveCount(0);
  // Train on (loss mask): all assistant turns by default; a choice survives a reload.
  const trainOn = page.getByLabel('Train on', { exact: true });
  await expect(trainOn).toHaveValue('all-assistant');
  await expect(trainOn.locator('option')).toHaveText(['all assistant turns (default)', 'last assistant turn only', 'everything, prompts included']);
  await trainOn.selectOption('last-assistant');
  await page.screenshot({ path: `${ARTIFACTS}/train.png`, fullPage: true });
  await page.reload();
  await expect(page.getByLabel('Train on', { exact: true })).toHaveValue('last-assistant');
  await page.getByLabel('Train on', { exact: true }).selectOption('all-assistant');

  await page.goto('/#/playground');
  await expect(page.getByTestId('playground-columns')).toBeVisible();
  await page.screenshot({ path: `${ARTIFACTS}/playground.png`, fullPage: true });

  await page.goto('/#/adapters');
  await expect(page.getByTestId('adapters')).toBeVisible();
  await page.screenshot({ path: `${ARTIFACTS}/runs.png`, fullPage: true });

  await page.goto('/#/gpu');
  await expect(page.getByTestId('gpu-adapter')).not.toBeEmpty();
  await page.screenshot({ path: `${ARTIFACTS}/gpu.png`, fullPage: true });
  expect(errors).toEqual([]);
});

test('dark theme and a narrow window keep every screen usable', async ({ page }) => {
  await page.setViewportSize({ width: 640, height: 900 });
  await page.goto('/#/data');
  await page.getByRole('combobox', { name: 'Theme' }).selectOption('dark');
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await page.getByTestId('load-sample').click();
  await expect(page.getByTestId('example-count')).toHaveText('300');
  // Nothing overflows the narrow window horizontally.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await page.screenshot({ path: `${ARTIFACTS}/data-dark-narrow.png` });
  await page.reload();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
});
