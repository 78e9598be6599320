import { expect, test } from '@playwright/test';

test('every screen is reachable from the navigation', async ({ page }) => {
  await page.goto('/');
  for (const name of ['Advisor', 'Data', 'Model', 'Train', 'Playground', 'Evaluate', 'Runs', 'GPU']) {
    await page.getByRole('navigation', { name: 'Screens' }).getByRole('link', { name, exact: true }).click();
    await expect(page.getByRole('link', { name, exact: true })).toHaveAttribute('aria-current', 'page');
  }
});
