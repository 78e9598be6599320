// Charts draw once when their data arrives: not at a placeholder size while hidden and then
// again at their shown size (which doubled the UI thread's chart work when a run's first
// metrics arrived).
import { expect, test } from '@playwright/test';
import { DB_NAME } from '../src/persist/db';
import { putRecords } from './idb-seed';
import type { MetricPoint, RunRecord } from '../src/persist/records';
import { DEFAULT_SETTINGS } from '../src/train/settings';

test('a chart draws once when its first data arrives', async ({ page }) => {
  // Counts uPlot's draws per canvas (each draw starts with one clearRect of the whole canvas).
  await page.addInitScript(() => {
    const draws = new Map<HTMLCanvasElement, number>();
    (window as unknown as { __draws: typeof draws }).__draws = draws;
    const clear = CanvasRenderingContext2D.prototype.clearRect;
    CanvasRenderingContext2D.prototype.clearRect = function (this: CanvasRenderingContext2D, ...args: Parameters<typeof clear>) {
      if (args[2] === this.canvas.width && args[3] === this.canvas.height) draws.set(this.canvas, (draws.get(this.canvas) ?? 0) + 1);
      return clear.apply(this, args);
    };
  });
  // A finished run in the app's database (created by the app on its first visit).
  await page.goto('/#/train');
  await expect(page.getByTestId('live-charts').locator('.chart-empty')).toHaveCount(4);
  await expect.poll(() => page.evaluate(async (name) => (await indexedDB.databases()).some((d) => d.name === name), DB_NAME)).toBe(true);
  const now = Date.now();
  const run: RunRecord = { id: 'run-charts', name: 'stored run', createdAt: now, updatedAt: now, status: 'completed', datasetId: 'd', datasetName: 'd', model: { id: 'tiny-llama', source: 'local' }, settings: DEFAULT_SETTINGS, notes: '', step: 40, totalSteps: 40, checkpointStep: null, adapterId: null, error: null };
  const points: MetricPoint[] = Array.from({ length: 40 }, (_, i) => ({ runId: run.id, step: i + 1, time: now + i * 1000, trainLoss: 3 - i / 20, lr: 1e-4, gradNorm: 1 + (i % 3), tokensPerSec: 500 + i, ...(i % 10 === 9 ? { valLoss: 3 - i / 25 } : {}) }));
  await putRecords(page, { runs: [run], metrics: points });

  // Reloaded, the Train screen shows the newest run's stored curves.
  await page.reload();
  const charts = page.getByTestId('live-charts');
  await expect(charts.locator('.chart-empty')).toHaveCount(0);
  await expect(page.getByText('Curves of the latest run, “stored run”')).toBeVisible();
  // Let any further frames (resize, deferred draws) happen before counting.
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(r, 200)))));
  const perChart = await page.evaluate(() => {
    const draws = (window as unknown as { __draws: Map<HTMLCanvasElement, number> }).__draws;
    return [...document.querySelectorAll('[data-testid=live-charts] canvas')].map((c) => ({ width: (c as HTMLCanvasElement).width, draws: draws.get(c as HTMLCanvasElement) ?? 0 }));
  });
  expect(perChart).toHaveLength(4);
  // One draw when the (empty) plot is created, one with the data at its shown width.
  for (const c of perChart) expect(c).toEqual({ width: expect.any(Number), draws: 2 });
  expect(perChart.every((c) => c.width > 300)).toBe(true);
});
