// The whole flow with the network off: a model downloaded once from the (mock) Hub, then —
// offline, after a reload served by the service worker — load the sample dataset, train a few
// steps, compare in the playground, and export the adapter. No request may reach the Hub.
import { readFile } from 'node:fs/promises';
import { expect, test, type Page } from '@playwright/test';
import { startMockHub, tinyModelRepo, type MockHub } from '../test/mock-hub';
import { unzipFiles } from '../src/worker/zip';
import { routeHubToMock } from './hub-support';
import { generateInPlayground } from './studio-support';

const REPO = 'acme/tiny-llama';
let hub: MockHub;

test.setTimeout(300_000);
test.beforeAll(async () => {
  hub = await startMockHub({ repos: { [REPO]: { files: tinyModelRepo({ hidden: 32 }) } } });
});
test.afterAll(() => hub.close());

async function serviceWorkerControls(page: Page) {
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
  await page.reload();
  await expect.poll(() => page.evaluate(() => navigator.serviceWorker.controller !== null), { message: 'service worker controls the page' }).toBe(true);
}

test('offline after one model download: dataset, training, playground and export all work', async ({ page, context }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await routeHubToMock(context, hub);

  // Online once: the app is precached and the model downloaded into the browser's storage.
  await page.goto('/#/model');
  await serviceWorkerControls(page);
  await page.getByLabel('Any Hugging Face model id').fill(REPO);
  await page.getByRole('button', { name: 'Use this model' }).click();
  await page.getByTestId('download-model').click();
  await expect(page.getByTestId('model-cached')).toBeVisible();

  // Offline from here on.
  await context.unrouteAll();
  await context.setOffline(true);
  hub.requests.length = 0;
  const offlineRequests: string[] = [];
  context.on('request', (r) => {
    if (!r.url().startsWith(`http://127.0.0.1:${process.env.E2E_PORT ?? 4173}/`)) offlineRequests.push(r.url());
  });
  await page.reload();
  await expect(page.getByTestId('model-choice')).toContainText(REPO);
  await expect(page.getByTestId('model-cached')).toBeVisible();

  await page.goto('/#/data');
  await page.getByTestId('load-sample').click();
  await expect(page.getByTestId('example-count')).toHaveText('300');
  await page.getByTestId('save-dataset').click();
  await expect(page.getByTestId('dataset-saved')).toBeVisible();

  await page.goto('/#/train');
  for (const [label, v] of [['Max steps', '3'], ['Validation split', '0.02'], ['Batch size', '1'], ['Gradient accumulation', '1'], ['Sequence length', '256'], ['Evaluate every', '3'], ['Checkpoint every', '3'], ['Sample every', '0'], ['Warm-up steps', '0']] as const) {
    await page.getByLabel(label, { exact: true }).fill(v);
  }
  await page.getByTestId('start-run').click();
  await expect(page.getByTestId('run-status')).toContainText('step 3 / 3 · completed', { timeout: 240_000 });

  await generateInPlayground(page, 'Dinner with Chen on Friday at 7 pm', 8);

  await page.goto('/#/adapters');
  const download = page.waitForEvent('download');
  await page.getByTestId('adapters').getByRole('button', { name: 'PEFT (.zip)' }).first().click();
  const zip = new Uint8Array(await readFile((await (await download).path())!));
  expect(unzipFiles(zip).map((f) => f.name).sort()).toEqual(['README.md', 'adapter_config.json', 'adapter_model.safetensors', 'training_settings.json']);
  await page.screenshot({ path: 'e2e/artifacts/offline-flow.png', fullPage: true });

  expect(hub.requests, 'requests that reached the Hub while offline').toEqual([]);
  expect(offlineRequests, 'requests to anything but the app while offline').toEqual([]);
  expect(errors).toEqual([]);
});
