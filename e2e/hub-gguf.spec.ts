// A GGUF base from the Hub: a mocked GGUF repository's files are listed with their quant types,
// one is picked by default, the tokenizer repo is prefilled from the card's base_model, and the
// download ends cached like a local GGUF import (model.gguf with the original tokenizer).
import { expect, test } from '@playwright/test';
import { startMockHub, type MockHub } from '../test/mock-hub';
import { buildTinyModel, TOKENIZER_FILES, tinyGgufBytes } from '../test/fixtures/tiny-model';
import { routeHubToMock } from './hub-support';

test.setTimeout(120_000);
let hub: MockHub;

test.beforeAll(async () => {
  const m = buildTinyModel({ layers: 2, hiddenSize: 64, numHeads: 4, numKvHeads: 2, intermediateSize: 96, seed: 61 });
  hub = await startMockHub({
    repos: {
      'acme/tiny-GGUF': { files: { 'README.md': '---\nbase_model: acme/tiny-original\n---\n', 'tiny-Q8_0.gguf': await tinyGgufBytes(m, 'Q8_0'), 'tiny-Q4_0.gguf': await tinyGgufBytes(m, 'Q4_0') } },
      'acme/tiny-original': { files: Object.fromEntries(TOKENIZER_FILES.map((f) => [f, m.files[f] as string])) },
    },
  });
});
test.afterAll(() => hub.close());

test('a GGUF repo on the Hub: files listed, one picked, tokenizer from base_model, downloaded and cached', async ({ page, context }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await routeHubToMock(context, hub);
  await page.goto('/#/model');
  await page.getByLabel('Any Hugging Face model id').fill('acme/tiny-GGUF');
  await page.getByRole('button', { name: 'Use this model' }).click();
  const list = page.getByTestId('hub-gguf');
  await expect(list).toContainText('tiny-Q8_0.gguf');
  await expect(list).toContainText('Q4_0');
  await expect(page.getByLabel('Original model (its tokenizer files)')).toHaveValue('acme/tiny-original');
  // A tiny model fits in f32, so auto picks the most precise file: Q8_0; its header was read before any download.
  await expect(page.getByTestId('gguf-header')).toContainText('tiny-Q8_0.gguf: llama model, Q8_0 weights');
  expect(hub.requests.filter((r) => r.path.endsWith('.gguf') && r.method === 'GET' && r.range === null)).toEqual([]);
  await page.getByTestId('download-model').click();
  await expect(page.getByTestId('model-cached')).toBeVisible();
  await expect(page.getByTestId('model-cache')).toContainText('Hub GGUF tiny-Q8_0.gguf, Q8_0, tokenizer from acme/tiny-original');
  expect(errors).toEqual([]);
});
