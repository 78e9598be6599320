// The responsiveness check (e2e/responsiveness.ts) must be able to fail: a stall in a script
// served from the app's origin is reported, the same work evaluated by Playwright is not.
import { expect, test } from '@playwright/test';
import { describeFrames, mainThreadReport, OUR_SCRIPT_MS_PER_FRAME, watchMainThread } from './responsiveness';

// At least a fixed amount of work AND at least 300 ms of wall time: the check measures CPU, so a
// wall-clock wait alone gets too little CPU on a loaded machine (1e8 iterations are ~300 ms of
// CPU on the 2-core test machines), and fixed work alone would be too short on a fast one
// (there, 300 ms of wall time is ~300 ms of CPU). Either way far over the 50 ms limit.
const WORK =
  'let x = 0; const t0 = performance.now();' +
  ' for (let i = 0; i < 1e8 || performance.now() - t0 < 300; i += 1e6) for (let j = i; j < i + 1e6; j++) x += Math.sqrt(j ^ 7);' +
  ' window.__stallResult = x;';
// A button whose click handler stalls; served at a URL on the app's origin, so it counts as
// the app's script by the same rule the training check uses.
const STALL_SCRIPT = `{
  const b = document.createElement('button');
  b.dataset.testid = 'e2e-stall';
  b.textContent = 'stall';
  b.addEventListener('click', () => { ${WORK} });
  document.body.append(b);
}`;

// The app's service worker would answer the test script's URL itself.
test.use({ serviceWorkers: 'block' });

test('the responsiveness check reports a stall in our own script and ignores Playwright’s', async ({ page }) => {
  await page.route('**/__e2e/stall.js', (route) => route.fulfill({ contentType: 'text/javascript', body: STALL_SCRIPT }));
  await page.goto('/#/train');
  await expect(page.getByRole('heading', { name: 'Train' })).toBeVisible();
  await page.addScriptTag({ url: '/__e2e/stall.js' });
  await watchMainThread(page);

  // Not ours: the same work in a Playwright evaluation.
  await page.evaluate(WORK);
  // Ours: the handler from the app's origin.
  await page.getByTestId('e2e-stall').click();
  const frames = () => page.evaluate(() => (window as unknown as { __longFrames: { scripts: { sourceURL: string }[] }[] }).__longFrames);
  await expect.poll(async () => (await frames()).some((f) => f.scripts.some((s) => s.sourceURL.endsWith('/__e2e/stall.js')))).toBe(true);
  const report = await mainThreadReport(page);
  console.log(describeFrames(report.frames));

  // One violation: the evaluation's stall (same work) is not counted as ours.
  expect(report.violations).toHaveLength(1);
  const [stall] = report.violations;
  expect(stall.scripts.map((s) => s.sourceURL)).toContain(new URL('/__e2e/stall.js', page.url()).href);
  expect(stall.ourScriptCpuMs).toBeGreaterThan(OUR_SCRIPT_MS_PER_FRAME);
});
