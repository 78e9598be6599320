// Training for real in Chromium's software WebGPU, on a tiny random Llama (test fixture)
// imported as a local folder: token statistics, live curves, a reload in the middle of the
// run, resume from the last checkpoint, the adapter in Runs, PEFT zip export.
import { mkdtemp, mkdir, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { buildTinyModel } from '../test/fixtures/tiny-model';
import { unzipFiles } from '../src/worker/zip';
import { trainerWorker } from './hub-support';

test.setTimeout(420_000);

test('train a tiny model: live curves, reload mid-run and lost device both resume from the checkpoint, adapter exports, playground', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const dir = join(await mkdtemp(join(tmpdir(), 'studio-e2e-')), 'tiny-llama');
  await mkdir(dir);
  for (const [name, data] of Object.entries(buildTinyModel({ seed: 7 }).files)) await writeFile(join(dir, name), data);

  // Model: import the folder into the browser's cache (through the worker).
  await page.goto('/#/model');
  await page.getByTestId('model-folder').locator('input[type=file]').setInputFiles(dir);
  await expect(page.getByTestId('model-cached')).toBeVisible();
  await expect(page.getByTestId('model-choice')).toContainText('tiny-llama');
  await expect(page.getByTestId('model-cache')).toContainText('tiny-llama');

  // Data: the sample, saved; tokens counted with the tiny model's tokenizer and template.
  await page.goto('/#/data');
  await page.getByTestId('load-sample').click();
  await expect(page.getByTestId('example-count')).toHaveText('300');
  await page.getByTestId('save-dataset').click();
  await expect(page.getByTestId('dataset-saved')).toBeVisible();
  await page.getByTestId('count-tokens').click();
  await expect(page.getByTestId('total-tokens')).toHaveText(/^[1-9]\d*$/);
  await expect(page.getByTestId('token-stats').locator('.tokens mark.trained').first()).toBeVisible();

  // Train: small shapes for a software GPU.
  await page.goto('/#/train');
  for (const [label, v] of [['Max steps', '8'], ['Validation split', '0.02'], ['Batch size', '2'], ['Gradient accumulation', '1'], ['Sequence length', '256'], ['Evaluate every', '4'], ['Checkpoint every', '2'], ['Sample every', '4'], ['Warm-up steps', '2']] as const) {
    await page.getByLabel(label, { exact: true }).fill(v);
  }
  await page.getByLabel(/^Prompts to try every/).fill('Lunch with Ana tomorrow at noon');
  // Long tasks on the UI thread while the worker trains (the UI must stay responsive).
  await page.evaluate(() => {
    const w = window as unknown as { __longTasks: number[] };
    w.__longTasks = [];
    new PerformanceObserver((list) => list.getEntries().forEach((e) => w.__longTasks.push(e.duration))).observe({ type: 'longtask' });
  });
  await page.getByTestId('start-run').click();
  const status = page.getByTestId('run-status');
  await expect(status).toContainText(/step [3-7] \/ 8 · running/, { timeout: 240_000 });
  await expect(page.getByTestId('live-charts').locator('.chart').first().locator('.chart-empty')).toHaveCount(0);
  await page.screenshot({ path: 'e2e/artifacts/train-running.png', fullPage: true });
  const longTasks = await page.evaluate(() => (window as unknown as { __longTasks: number[] }).__longTasks);
  console.log(`long tasks on the main thread while training: ${JSON.stringify(longTasks.map(Math.round))}`);
  expect(longTasks.filter((d) => d > 50), 'main-thread tasks over 50 ms while training').toEqual([]);

  // Reload in the middle of the run: the worker dies; the run must be resumable from its checkpoint.
  await page.reload();
  await expect(page.getByTestId('resumable')).toContainText('checkpoint at');
  await page.getByTestId('resumable').getByRole('button', { name: 'Resume from checkpoint' }).first().click();
  await expect(status).toContainText(/step [5-7] \/ 8 · running/, { timeout: 240_000 });

  // The GPU device is lost (as in a driver reset): the run stops cleanly and resumes on a new device.
  await (await trainerWorker(page)).evaluate('self.__loraStudioLoseDevice()');
  await expect(page.getByTestId('run-status')).toContainText('The GPU device was lost', { timeout: 60_000 });
  await expect(page.getByTestId('resumable')).toContainText('checkpoint at');
  await page.getByTestId('resumable').getByRole('button', { name: 'Resume from checkpoint' }).first().click();
  await expect(status).toContainText('step 8 / 8 · completed', { timeout: 240_000 });
  // Sample answers to the held-out prompt were generated with the adapter during training.
  await expect(page.getByTestId('samples').locator('li').first()).toContainText('Lunch with Ana tomorrow at noon');
  await page.screenshot({ path: 'e2e/artifacts/train.png', fullPage: true });

  // Runs: the run with its curve, the adapter, a PEFT zip.
  await page.goto('/#/adapters');
  await expect(page.getByTestId('runs')).toContainText('completed · 8/8');
  await page.getByRole('checkbox', { name: /^Compare / }).first().check();
  await expect(page.getByTestId('runs').locator('.chart-empty')).toHaveCount(0);
  const downloadPromise = page.waitForEvent('download');
  await page.getByTestId('adapters').getByRole('button', { name: 'PEFT (.zip)' }).first().click();
  const dl = await downloadPromise;
  const zip = new Uint8Array(await readFile((await dl.path())!));
  const names = unzipFiles(zip).map((f) => f.name).sort();
  expect(names).toEqual(['README.md', 'adapter_config.json', 'adapter_model.safetensors']);
  const config = JSON.parse(new TextDecoder().decode(unzipFiles(zip).find((f) => f.name === 'adapter_config.json')!.bytes));
  expect(config.peft_type).toBe('LORA');
  expect(config.base_model_name_or_path).toBe('tiny-llama');
  const ggufPromise = page.waitForEvent('download');
  await page.getByTestId('adapters').getByRole('button', { name: 'GGUF + Modelfile' }).first().click();
  const gguf = unzipFiles(new Uint8Array(await readFile((await (await ggufPromise).path())!)));
  const ggufFile = gguf.find((f) => f.name.endsWith('.gguf'))!;
  expect(new TextDecoder().decode(ggufFile.bytes.subarray(0, 4))).toBe('GGUF');
  expect(new TextDecoder().decode(gguf.find((f) => f.name === 'Modelfile')!.bytes)).toMatch(/ADAPTER \.\/.*\.gguf/);
  await page.screenshot({ path: 'e2e/artifacts/runs-after-training.png', fullPage: true });

  // Playground: the same prompt through the prompted baseline, the base model and the tuned one.
  await page.goto('/#/playground');
  await page.getByLabel('Prompt', { exact: true }).fill('Dinner with Chen on Friday at 7 pm');
  await page.getByLabel('Adapter', { exact: true }).selectOption({ index: 1 });
  await page.getByLabel('Max new tokens').fill('16');
  await expect(page.getByTestId('baseline-empty')).toBeVisible();
  await page.getByText('Baseline prompt: system prompt and few-shot examples').click();
  await page.getByLabel('System prompt').fill('Reply with one calendar line: Event | Day | Time.');
  await page.getByTestId('generate').click();
  const cols = page.getByTestId('playground-columns');
  for (const col of ['baseline', 'base', 'tuned']) await expect(cols.locator(`[data-col="${col}"] [data-testid="gen-stats"]`)).toContainText(/\d+ tokens/, { timeout: 120_000 });
  await page.screenshot({ path: 'e2e/artifacts/playground.png', fullPage: true });

  // After a reload: the run's notes, its adapter, and its curves on the Train screen are still there.
  await page.goto('/#/adapters');
  await page.getByRole('textbox', { name: /^Notes for / }).first().fill('rank 8 on the calendar sample');
  await page.getByRole('textbox', { name: /^Notes for / }).first().blur(); // blur saves the notes
  await page.waitForTimeout(500); // one IndexedDB put
  await page.reload();
  await expect(page.getByRole('textbox', { name: /^Notes for / }).first()).toHaveValue('rank 8 on the calendar sample');
  await expect(page.getByTestId('adapters').locator('tbody tr')).toHaveCount(1);
  await page.goto('/#/train');
  await expect(page.getByTestId('live-charts').locator('.chart').first().locator('.chart-empty')).toHaveCount(0);
  expect(errors).toEqual([]);
});
