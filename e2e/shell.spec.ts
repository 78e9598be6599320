import { expect, test } from '@playwright/test';

test('app shell loads, finds a WebGPU adapter and runs the kernels in the page', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/#/gpu');
  await expect(page.getByRole('heading', { name: 'Your GPU' })).toBeVisible();
  await expect(page.getByTestId('gpu-adapter')).not.toBeEmpty();
  await expect(page.getByTestId('gpu-features')).toContainText('shader-f16');
  await expect(page.getByTestId('gpu-limits')).toContainText('maxStorageBufferBindingSize');
  await page.getByTestId('run-smoke').click();
  const results = page.getByTestId('smoke-results');
  await expect(results).toBeVisible({ timeout: 110_000 });
  const rows = results.locator('tbody tr');
  expect(await rows.count()).toBeGreaterThan(0);
  const failed = await results.locator('tbody tr[data-ok="false"]').allTextContents();
  expect(failed, 'kernels that failed in Chromium').toEqual([]);
  await expect(results.locator('tr[data-kernel="residual_forward"]')).toHaveAttribute('data-ok', 'true');
  await page.screenshot({ path: 'e2e/artifacts/gpu-panel.png', fullPage: true });
  expect(errors).toEqual([]);
});

test('every screen is reachable from the navigation', async ({ page }) => {
  await page.goto('/');
  for (const name of ['Advisor', 'Data', 'Model', 'Train', 'Playground', 'Runs', 'GPU']) {
    await page.getByRole('navigation', { name: 'Screens' }).getByRole('link', { name, exact: true }).click();
    await expect(page.getByRole('link', { name, exact: true })).toHaveAttribute('aria-current', 'page');
  }
});
