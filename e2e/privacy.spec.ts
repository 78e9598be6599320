// "Your dataset never leaves your device", tested: a session in real Chromium loads a dataset
// full of unique marker strings through the Data screen, saves it, downloads a model from the
// (mock) Hub on the Model screen, tokenizes the dataset with it, trains on it, evaluates the run
// on its held-out rows (prompts, references and answers all carry markers) and exports the
// evaluation, and visits every screen. Every request is recorded twice: by Playwright (what
// the page and its workers ask for) and by an HTTP proxy that all of Chromium's traffic must
// pass through (loopback included), which also refuses anything not bound for the app.
// The test fails if any request goes anywhere but the app's origin and the Hub, if any URL,
// header or body carries dataset text, or if the Content-Security-Policy had to block anything.
import { chromium, expect, test } from '@playwright/test';
import { CHROMIUM_ARGS } from '../playwright.config';
import { startMockHub, tinyModelRepo, type MockHub } from '../test/mock-hub';
import { HUB_ORIGIN, routeHubToMock, runHubInWorker, startRecordingProxy, trainerWorker } from './hub-support';
import { dataLeaks, markedDataset, recordRequests, requestText, trainToCompletion, type SeenRequest } from './studio-support';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Chromium's own background services (updates, sign-in, autofill), off: they are not the app. */
const QUIET_CHROMIUM_ARGS = [
  '--disable-features=AutofillServerCommunication,OptimizationHints,MediaRouter,Translate,CertificateTransparencyComponentUpdater,NetworkTimeServiceQuerying',
  '--disable-client-side-phishing-detection',
  '--disable-default-apps',
  '--disable-domain-reliability',
  '--disable-extensions',
  '--no-pings',
  '--allow-browser-signin=false',
  '--safebrowsing-disable-auto-update',
  '--metrics-recording-only',
];

/**
 * Hosts of Chromium's own services that Debian's build still contacts despite the flags above
 * (component/extension updates, network time, Google account cookies). They are the browser,
 * not the app: the app's CSP forbids connecting there, the CSP check below fails on any attempt,
 * and Playwright's view (which holds all page, worker and service-worker requests) must not
 * contain them. The proxy refuses them all the same. Any other host fails the test.
 */
const CHROMIUM_SERVICE_HOSTS = ['update.googleapis.com', 'accounts.google.com', 'clients2.google.com', 'content-autofill.googleapis.com'];

/** Host of a proxy record: an absolute URL (plain HTTP) or host:port (CONNECT). */
function proxyHost(target: string): string {
  return /^[a-z]+:\/\//i.test(target) ? new URL(target).hostname : target.replace(/:\d+$/, '');
}

// A download, tokenization, a two-step run and an evaluation: ~2 min alone, ~5 min on a loaded 2-core box.
test.setTimeout(480_000);

let hub: MockHub;
test.beforeAll(async () => {
  hub = await startMockHub({ repos: { 'acme/tiny-llama': { files: tinyModelRepo() } } });
});
test.afterAll(() => hub.close());

test('a whole session sends nothing but app and Hub requests, and no dataset text anywhere', async ({ baseURL }) => {
  const app = new URL(baseURL!);
  const proxy = await startRecordingProxy([app.host]);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // '<-loopback>' removes Chromium's implicit proxy bypass for 127.0.0.1, so the app's own
    // traffic is recorded too.
    args: [...CHROMIUM_ARGS, ...QUIET_CHROMIUM_ARGS, `--proxy-server=http://127.0.0.1:${proxy.port}`, '--proxy-bypass-list=<-loopback>'],
  });
  const seen: SeenRequest[] = [];
  const cspViolations: string[] = [];
  const data = markedDataset(40);
  try {
    const context = await browser.newContext({ baseURL });
    recordRequests(context, seen);
    // CSP-blocked attempts never reach the network, so they are reported from every page load.
    await context.exposeBinding('__reportCspViolation', (_source, v: string) => void cspViolations.push(v));
    await context.addInitScript(() => {
      const report = (window as unknown as { __reportCspViolation: (v: string) => void }).__reportCspViolation;
      document.addEventListener('securitypolicyviolation', (e) => report(`${e.violatedDirective} ${e.blockedURI}`));
    });
    await routeHubToMock(context, hub);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));

    await page.goto('/#/data');
    await page.getByTestId('dataset-drop').locator('input[type=file]').setInputFiles({ name: data.fileName, mimeType: 'application/jsonl', buffer: Buffer.from(data.text) });
    await expect(page.getByTestId('dataset-summary')).toBeVisible();
    await expect(page.getByTestId('example-count')).toHaveText('40');
    await expect(page.getByTestId('dataset-preview')).toContainText(data.markers[0]);
    await page.getByTestId('save-dataset').click();
    await expect(page.getByTestId('dataset-saved')).toBeVisible();
    await page.screenshot({ path: 'e2e/artifacts/privacy-dataset.png' });

    // A model download in the same session (Hub traffic is allowed, but must carry no data),
    // then the dataset tokenized with that model's tokenizer and chat template in the worker.
    await page.goto('/#/model');
    await page.getByLabel('Any Hugging Face model id').fill('acme/tiny-llama');
    await page.getByRole('button', { name: 'Use this model' }).click();
    await page.getByTestId('download-model').click();
    await expect(page.getByTestId('model-cached')).toBeVisible();
    await page.goto('/#/data');
    await page.getByTestId('count-tokens').click();
    await expect(page.getByTestId('total-tokens')).toHaveText(/^[1-9]\d*$/);
    // "Train on" from the Train screen decides which tokens count as trained: with prompts included,
    // nearly all of them (not a sequence's first token, which nothing predicts).
    await expect(page.getByTestId('token-loss-mode')).toHaveText('all assistant turns');
    const trained = async () => Number((await page.getByTestId('trained-tokens').textContent())!.split(' ')[0]);
    const assistantOnly = await trained();
    const total = Number(await page.getByTestId('total-tokens').textContent());
    expect(assistantOnly).toBeLessThan(0.8 * total);
    await page.goto('/#/train');
    await page.getByLabel('Train on', { exact: true }).selectOption('all');
    await page.goto('/#/data');
    await expect(page.getByTestId('token-mode-stale')).toBeVisible();
    await page.getByTestId('count-tokens').click();
    await expect(page.getByTestId('token-mode-stale')).toHaveCount(0);
    expect(await trained()).toBeGreaterThan(0.98 * total);
    await page.screenshot({ path: 'e2e/artifacts/data-train-on-all.png', fullPage: true });

    // A short run, then an evaluation of it on its held-out rows: the worker generates from
    // prompts that carry markers, scores answers against references that carry markers, and the
    // result (markers and all) is stored and exported, all without a request carrying them.
    await trainToCompletion(page, { 'Max steps': '2', 'Validation split': '0.1', 'Batch size': '2', 'Gradient accumulation': '1', 'Sequence length': '128', 'Evaluate every': '2', 'Checkpoint every': '2', 'Sample every': '100', 'Warm-up steps': '0' });
    await page.goto('/#/evaluate');
    await page.getByLabel('Baseline system prompt').fill('File the note.');
    await page.getByLabel('Examples drawn from the training rows').fill('1');
    await page.getByLabel('Max new tokens').fill('4');
    await page.getByTestId('eval-start').click();
    const results = page.getByTestId('eval-results');
    await expect(results).toBeVisible({ timeout: 240_000 });
    await expect(page.getByTestId('eval-scores').locator('tbody tr')).toHaveCount(3);
    // The held-out rows are the dataset's: the table shows their marked prompts and references.
    await expect(page.getByTestId('eval-examples')).toContainText(`QMARK${data.run}`);
    await expect(page.getByTestId('eval-examples')).toContainText(`AMARK${data.run}`);
    const exported = page.waitForEvent('download');
    await results.getByRole('button', { name: 'Everything (.json)' }).click();
    expect(await (await exported).path()).toBeTruthy();
    await page.screenshot({ path: 'e2e/artifacts/privacy-evaluate.png', fullPage: true });

    for (const name of ['Advisor', 'Model', 'Train', 'Playground', 'Evaluate', 'Runs', 'GPU', 'Data']) {
      await page.getByRole('navigation', { name: 'Screens' }).getByRole('link', { name, exact: true }).click();
      await expect(page.getByRole('link', { name, exact: true })).toHaveAttribute('aria-current', 'page');
      await page.waitForTimeout(300);
    }
    await page.reload();
    await expect(page.getByRole('navigation', { name: 'Screens' })).toBeVisible();
    await page.waitForTimeout(1000);
    await runHubInWorker(await trainerWorker(page), `const s = new LoraHub.OpfsStore(); for (const m of await LoraHub.listCachedModels(s)) await LoraHub.deleteCachedModel(s, m.key); return null;`);

    expect(cspViolations, 'Content-Security-Policy violations (something tried to load or connect where it may not)').toEqual([]);
    expect(errors).toEqual([]);
  } finally {
    await browser.close();
    await proxy.close();
  }

  // 1. Destinations: the app's origin and the Hub, nothing else (data:/blob: never leave the page).
  const outside = seen.filter((s) => {
    if (s.url.startsWith('data:') || s.url.startsWith('blob:')) return false;
    const o = new URL(s.url).origin;
    return o !== app.origin && o !== HUB_ORIGIN;
  });
  expect(outside.map((s) => `${s.method} ${s.url}`), 'requests to third parties').toEqual([]);
  const hubRequests = seen.filter((s) => s.url.startsWith(`${HUB_ORIGIN}/`));
  expect(hubRequests.length, 'the session did talk to the Hub').toBeGreaterThan(0);
  for (const h of hubRequests) {
    expect(['GET', 'HEAD'], h.url).toContain(h.method);
    // File downloads, and the file listing the Model screen reads to tell a GGUF repository (the repo id alone).
    expect(new URL(h.url).pathname, 'Hub requests are file downloads or the file listing').toMatch(/^\/(acme\/tiny-llama\/resolve\/main\/[\w.-]+|api\/models\/acme\/tiny-llama\/tree\/main)$/);
  }

  // 2. The proxy saw every connection Chromium opened: only the app's origin, all plain HTTP.
  expect(proxy.records.length, 'the proxy recorded the session').toBeGreaterThan(5);
  expect(
    proxy.records.filter((p) => !p.forwarded && !CHROMIUM_SERVICE_HOSTS.includes(proxyHost(p.target))).map((p) => `${p.method} ${p.target}`),
    'connections Chromium tried to open elsewhere',
  ).toEqual([]);

  // 3. No dataset text in any URL, header or body (Playwright's view and the proxy's): not a
  //    marker, not the file name, not the run id that every marker shares.
  const haystacks = [
    ...seen.map(requestText),
    ...proxy.records.map((p) => ({ where: `proxy ${p.method} ${p.target}`, text: `${p.target}\n${JSON.stringify(p.headers)}\n${p.body.toString('latin1')}` })),
  ];
  expect(dataLeaks(data.needles, haystacks), 'dataset text in network traffic').toEqual([]);
  // The dataset did reach the app (the check above is not vacuous): it was parsed and shown.
  expect(data.needles.length).toBe(82);
});
