// A GGUF base from the Hub: a mocked GGUF repository's files are listed with their quant types,
// one is picked by default, the tokenizer repo is prefilled from the card's base_model, and the
// download ends cached like a local GGUF import (model.gguf with the original tokenizer). The
// listing survives a reload; a short run trains on the GGUF base and the Playground generates with
// it, and no request of the whole flow carries the dataset's text.
import { expect, test } from '@playwright/test';
import { startMockHub, type MockHub } from '../test/mock-hub';
import { buildTinyModel, TOKENIZER_FILES, tinyGgufBytes } from '../test/fixtures/tiny-model';
import { HUB_ORIGIN, routeHubToMock } from './hub-support';
import { dataLeaks, generateInPlayground, markedDataset, recordRequests, requestText, saveDataset, trainToCompletion } from './studio-support';

// A download, a two-step run and a generation: ~1 min alone, several on a loaded 2-core box.
test.setTimeout(480_000);
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

test('a GGUF repo on the Hub: files listed, one picked, tokenizer from base_model, downloaded, cached, trained on and generated with', async ({ page, context }) => {
  const errors: string[] = [];
  const seen = recordRequests(context);
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

  // The repo's file list, the pick and its checked header are kept with the chosen model across a reload.
  await page.reload();
  await expect(list).toContainText('tiny-Q8_0.gguf');
  await expect(list).toContainText('Q4_0');
  await expect(list.getByRole('radio', { name: /tiny-Q8_0\.gguf/ })).toBeChecked();
  await expect(page.getByTestId('gguf-header')).toContainText('tiny-Q8_0.gguf: llama model, Q8_0 weights');
  await expect(page.getByLabel('Original model (its tokenizer files)')).toHaveValue('acme/tiny-original');
  await expect(page.getByTestId('model-cached')).toBeVisible();

  // Two steps of LoRA on the GGUF base, then the Playground with it (base and tuned columns).
  const data = markedDataset(40);
  await saveDataset(page, { name: data.fileName, text: data.text, examples: 40 });
  await trainToCompletion(page, { 'Max steps': '2', 'Validation split': '0.1', 'Batch size': '2', 'Gradient accumulation': '1', 'Sequence length': '128', 'Evaluate every': '2', 'Checkpoint every': '2', 'Sample every': '100', 'Warm-up steps': '0' });
  const cols = await generateInPlayground(page, 'Where does the note go?', 4);
  await expect(cols.locator('.bad')).toHaveCount(0);
  expect(errors).toEqual([]);

  // The Hub was talked to (GGUF listing, header, download), and no request carried dataset text.
  expect(seen.filter((r) => r.url.startsWith(`${HUB_ORIGIN}/`)).length).toBeGreaterThan(0);
  expect(dataLeaks(data.needles, seen.map(requestText)), 'dataset text in network traffic').toEqual([]);
});
