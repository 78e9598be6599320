// The Model screen's presets and weight formats: each format's training plan (the engine's own,
// at the Train screen's settings), the pick of 'auto' with its reason, and the download size.
import { expect, test } from '@playwright/test';

test('a preset and a weight format show the engine’s plan, and the choice survives a reload', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/#/model');
  await page.getByRole('radio', { name: /Qwen3 0\.6B/ }).check();
  await expect(page.getByTestId('model-choice')).toContainText('Qwen/Qwen3-0.6B');
  const formats = page.getByTestId('weight-format');
  // Every explicit format says what training needs with it, or why it cannot run here.
  for (const w of ['f32', 'f16', 'q8', 'q4']) {
    await expect(formats.getByTestId(`weight-plan-${w}`)).toHaveText(/— ([\d.]+ [MG]iB to train \(weights [\d.]+ [MG]iB\)|cannot run here: .+)/);
  }
  await expect(formats.getByTestId('weight-plan-auto')).toHaveText(/— picks (f32|f16|q8|q4) here/);
  await expect(page.getByTestId('weight-reason')).toContainText(/auto: .*Download: 1\.4 GiB/);
  await expect(page.getByTestId('download-model')).toContainText('(1.4 GiB)');

  // q8: the plan shown is that format's, and its row in the table is the same figure.
  await formats.getByRole('radio', { name: /^q8/ }).check();
  const q8 = (await formats.getByTestId('weight-plan-q8').textContent())!.match(/— ([\d.]+ [MG]iB) to train/)![1];
  await expect(page.getByTestId('memory-estimate')).toContainText(`training allocates ${q8} of GPU memory (q8 base weights)`);
  await expect(page.getByTestId('weight-reason')).toContainText('q8: as requested: Q8_0, quantized on load');
  await page.screenshot({ path: 'e2e/artifacts/model-weights.png', fullPage: true });

  await page.reload();
  await expect(page.getByTestId('weight-format').getByRole('radio', { name: /^q8/ })).toBeChecked();
  await expect(page.getByTestId('memory-estimate')).toContainText('(q8 base weights)');
  // Llama 3.2 1B in 4-bit: its own plan, 2.3 GiB to download.
  await page.getByRole('radio', { name: /Llama 3\.2 1B/ }).check();
  await page.getByTestId('weight-format').getByRole('radio', { name: /^q4/ }).check();
  await expect(page.getByTestId('memory-estimate')).toContainText(/\(q4 base weights\)|Refused before download/);
  await expect(page.getByTestId('weight-reason')).toContainText('Download: 2.3 GiB');
  // Back to auto for the other specs (the choice is stored).
  await page.getByTestId('weight-format').getByRole('radio', { name: /^Auto/ }).check();
  await page.getByRole('radio', { name: /SmolLM2 135M/ }).check();
  expect(errors).toEqual([]);
});
