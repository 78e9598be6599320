// The GPU screen's measurements in Chromium's WebGPU, on the tiny test model imported as a
// local folder with small Train settings: "Profile one step" gives a per-kernel table (or,
// on an adapter without timestamp-query, says so with whole-step times), and "Run kernel
// benchmark" a GFLOP/s table naming the adapter. Both export JSON. The step runs in the
// Model screen's weight format, as a run would.
import { readFile } from 'node:fs/promises';
import { expect, test } from '@playwright/test';
import { importTinyModel } from './studio-support';

test.setTimeout(300_000);

test('GPU screen: profile one step and run the kernel benchmark on the tiny model', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await importTinyModel(page, { seed: 5, intermediateSize: 64 }); // rows of 32s: q8 applies

  await page.goto('/#/train');
  for (const [label, v] of [['Batch size', '1'], ['Gradient accumulation', '1'], ['Sequence length', '32']] as const) await page.getByLabel(label, { exact: true }).fill(v);

  // The step is profiled in the format a run would train in: the Model screen's choice.
  await page.goto('/#/model');
  await page.getByTestId('weight-format').getByRole('radio', { name: /^q8/ }).check();

  await page.goto('/#/gpu');
  const timestamps = await page.evaluate(async () => (await (navigator as Navigator & { gpu: GPU }).gpu.requestAdapter())!.features.has('timestamp-query'));
  await page.getByTestId('profile-step').click();
  const report = page.getByTestId('profile-report');
  await expect(report).toBeVisible({ timeout: 180_000 });
  await expect(report).toContainText(/\d+ dispatches; whole step [\d.]+ ms/);
  if (timestamps) {
    const table = page.getByTestId('profile-results');
    for (const kernel of ['matmul_forward', 'lora_forward_a', 'adamw']) await expect(table.locator(`tr[data-kernel="${kernel}"] td`).first()).toHaveText(/^\d+$/);
  } else {
    await expect(page.getByTestId('profile-note')).toContainText('does not grant timestamp-query');
    await expect(page.getByTestId('profile-results')).toHaveCount(0);
  }
  const download = page.waitForEvent('download');
  await page.getByTestId('profile-export').click();
  const json = JSON.parse(await readFile(await (await download).path(), 'utf8'));
  expect(json).toMatchObject({ kind: 'lora-studio/step-profile', model: { id: expect.stringContaining('tiny-llama') }, settings: { batchSize: 1, seqLen: 32, weightStorage: 'q8' }, profile: { timestamps } });

  await page.getByTestId('run-kernel-bench').click();
  const bench = page.getByTestId('kernel-bench-results');
  await expect(bench).toHaveAttribute('data-done', 'true', { timeout: 180_000 });
  const adapterName = await page.getByTestId('gpu-adapter').textContent();
  await expect(page.getByTestId('kernel-bench-adapter')).toContainText(adapterName!);
  for (const kernel of ['q_proj/o_proj linear forward', 'down_proj lora backward (R=', 'attention backward']) {
    await expect(bench.locator(`tr[data-kernel^="${kernel}"] td`).nth(2)).toHaveText(/^\d+\.\d\d$/); // GFLOP/s
  }
  await page.screenshot({ path: 'e2e/artifacts/gpu-profile.png', fullPage: true });
  expect(errors).toEqual([]);
});
