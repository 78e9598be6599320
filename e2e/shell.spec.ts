import { expect, test } from '@playwright/test';

test('app shell loads, finds a WebGPU adapter and runs the kernels in the page', async ({ page }) => {
  // Every kernel, model path and weight format compiles and runs in the page: ~1 min alone, 2+ on a loaded 2-core box.
  test.setTimeout(360_000);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/#/gpu');
  await expect(page.getByRole('heading', { name: 'Your GPU' })).toBeVisible();
  await expect(page.getByTestId('gpu-adapter')).not.toBeEmpty();
  // Each fast path is shown as the adapter really has it (asked directly in the page).
  const has = await page.evaluate(async () => {
    const a = await (navigator as Navigator & { gpu: GPU }).gpu.requestAdapter();
    return Object.fromEntries(['shader-f16', 'subgroups', 'timestamp-query'].map((f) => [f, a!.features.has(f)]));
  });
  for (const [feature, available] of Object.entries(has)) {
    await expect(page.getByTestId('gpu-features').locator('li', { hasText: feature })).toContainText(available ? 'available' : 'not available');
    await expect(page.getByTestId('gpu-features').locator('li', { hasText: feature })).toHaveClass(available ? 'on' : 'off');
  }
  await expect(page.getByTestId('gpu-limits')).toContainText('maxStorageBufferBindingSize');
  await page.getByTestId('run-smoke').click();
  const results = page.getByTestId('smoke-results');
  await expect(results).toBeVisible({ timeout: 300_000 });
  const rows = results.locator('tbody tr');
  expect(await rows.count()).toBeGreaterThan(0);
  const failed = await results.locator('tbody tr[data-ok="false"]').allTextContents();
  expect(failed, 'kernels that failed in Chromium').toEqual([]);
  await expect(results.locator('tr[data-kernel="residual_forward"]')).toHaveAttribute('data-ok', 'true');
  // The model kernels ran too, and the last row says every shader this adapter can compile ran
  // in some check (it fails otherwise, naming the files).
  for (const kernel of ['matmul_forward+backward (f32 weights)', 'matmul_forward+backward, embedding_forward (Q8_0, Q4_0, Q4_K, Q6_K weights)', 'lora_forward+backward (dropout 0.1)', 'attention_forward+backward (GQA, segments)', 'kv_cache_append+attention_decode (2 chunks)', 'sample_argmax+topk+topp']) {
    await expect(results.locator(`tr[data-kernel="${kernel}"]`), kernel).toHaveAttribute('data-ok', 'true');
  }
  const coverage = results.locator('tr[data-kernel^="shader coverage"]');
  await expect(coverage).toHaveAttribute('data-ok', 'true');
  console.log(`Chromium kernel smoke: ${await rows.count()} rows; ${await coverage.getAttribute('data-kernel')}`);
  await page.screenshot({ path: 'e2e/artifacts/gpu-panel.png', fullPage: true });
  expect(errors).toEqual([]);
});

test('every screen is reachable from the navigation', async ({ page }) => {
  await page.goto('/');
  for (const name of ['Advisor', 'Data', 'Model', 'Train', 'Playground', 'Evaluate', 'Runs', 'GPU']) {
    await page.getByRole('navigation', { name: 'Screens' }).getByRole('link', { name, exact: true }).click();
    await expect(page.getByRole('link', { name, exact: true })).toHaveAttribute('aria-current', 'page');
  }
});
