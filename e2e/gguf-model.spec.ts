// A GGUF base model from local files: one .gguf picked together with the original model's
// tokenizer files is imported, listed with its quant type and size, and chosen for training.
import { expect, test } from '@playwright/test';
import { buildTinyModel, TOKENIZER_FILES, tinyGgufBytes } from '../test/fixtures/tiny-model';

test.setTimeout(120_000);

test('a .gguf with its tokenizer files: imported, listed with its quant type, chosen', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const m = buildTinyModel({ layers: 2, hiddenSize: 64, numHeads: 4, numKvHeads: 2, intermediateSize: 96, seed: 61 });
  const gguf = Buffer.from(await tinyGgufBytes(m, 'Q4_0'));
  await page.goto('/#/model');
  const files = [
    { name: 'tiny-q4.gguf', mimeType: 'application/octet-stream', buffer: gguf },
    ...TOKENIZER_FILES.map((f) => ({ name: f, mimeType: 'application/json', buffer: Buffer.from(m.files[f] as string) })),
  ];
  await page.getByTestId('model-gguf').locator('input[type=file]').setInputFiles(files);
  await expect(page.getByTestId('model-cached')).toBeVisible();
  await expect(page.getByTestId('model-choice')).toContainText('tiny-q4');
  await expect(page.getByTestId('model-cache')).toContainText('local GGUF tiny-q4.gguf, Q4_0');

  // Without the tokenizer files: a clear refusal naming what is missing.
  await page.getByTestId('model-gguf').locator('input[type=file]').setInputFiles([{ name: 'other.gguf', mimeType: 'application/octet-stream', buffer: gguf }]);
  await expect(page.getByText(/needs the original model's tokenizer.json and tokenizer_config.json picked with it/)).toBeVisible();
  expect(errors).toEqual([]);
});
