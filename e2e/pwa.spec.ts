// The studio as an installed, offline app, in real Chromium (Debian's, headless):
// installability and manifest (CDP, persistent profile), a model downloaded once from the
// (mock) Hub into the Origin Private File System and used again with the network off after
// an offline reload served by the service worker, and the update prompt that never reloads
// by itself.
import { chromium, expect, test, type Page } from '@playwright/test';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHROMIUM_ARGS } from '../playwright.config';
import { startMockHub, tinyModelRepo, type MockHub } from '../test/mock-hub';
import { hubBundle, routeHubToMock, runHubInWorker, trainerWorker } from './hub-support';

const REPO = 'acme/tiny-llama';
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

async function serviceWorkerControls(page: Page) {
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
  // First visit: the worker installs and precaches; the next load is the one it controls.
  await page.reload();
  await expect.poll(() => page.evaluate(() => navigator.serviceWorker.controller !== null), { message: 'service worker controls the page' }).toBe(true);
}

function pngSize(bytes: Buffer): [number, number] {
  expect(bytes.subarray(0, 8).toString('hex'), 'PNG signature').toBe('89504e470d0a1a0a');
  return [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];
}

test('installable: valid manifest, icons of the declared sizes, no installability errors', async ({ baseURL }) => {
  const profile = mkdtempSync(join(tmpdir(), 'lora-studio-pwa-'));
  // Installability is only reported for a real (persistent) profile, not an incognito context.
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, baseURL });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto('/');
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
    const cdp = await context.newCDPSession(page);
    const manifest = await cdp.send('Page.getAppManifest');
    expect(manifest.errors).toEqual([]);
    const data = JSON.parse(manifest.data!) as { name: string; short_name: string; display: string; theme_color: string; start_url: string; icons: { src: string; sizes: string; purpose: string }[] };
    expect(data).toMatchObject({ name: 'LoRA Studio', display: 'standalone', theme_color: '#2948c8', start_url: '/' });
    for (const want of [
      ['192x192', 'any'],
      ['512x512', 'any'],
      ['192x192', 'maskable'],
      ['512x512', 'maskable'],
    ]) {
      expect(data.icons.some((i) => i.sizes === want[0] && i.purpose === want[1]), `icon ${want.join(' ')}`).toBe(true);
    }
    for (const icon of data.icons.filter((i) => i.src.endsWith('.png'))) {
      const res = await page.request.get(`/${icon.src}`);
      expect(res.ok(), icon.src).toBe(true);
      expect(pngSize(await res.body()).join('x'), icon.src).toBe(icon.sizes);
    }
    await expect.poll(async () => (await cdp.send('Page.getInstallabilityErrors')).installabilityErrors, { message: 'installability errors', timeout: 30_000 }).toEqual([]);
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
});

test.describe('offline', () => {
  let hub: MockHub;
  let files: Record<string, Uint8Array | string>;
  test.beforeAll(async () => {
    files = tinyModelRepo({ hidden: 64 });
    hub = await startMockHub({ repos: { [REPO]: { files }, 'acme/gated-llama': { files, token: 'hf_secret' } } });
  });
  test.afterAll(() => hub.close());

  test('a model downloaded once, then the app reloads offline from the service worker and the model loads from OPFS', async ({ page, context }) => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await routeHubToMock(context, hub);
    await page.goto('/');
    await expect(page.getByTestId('pwa-offline-ready')).toBeVisible();
    await serviceWorkerControls(page);

    // Download in the app's own worker, from https://huggingface.co (answered by the mock),
    // under the app's Content-Security-Policy, into the Origin Private File System.
    const worker = await trainerWorker(page);
    const downloaded = await runHubInWorker<{ files: string[]; bytes: number; phases: string[] }>(
      worker,
      `const phases = new Set();
       const r = await LoraHub.downloadModel({ repo: arg.repo, store: new LoraHub.OpfsStore(), onProgress: (p) => phases.add(p.phase) });
       return { files: r.model.files.map((f) => f.name).sort(), bytes: r.model.bytes, phases: [...phases] };`,
      { repo: REPO },
    );
    const modelFiles = ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'];
    expect(downloaded.files).toEqual(modelFiles);
    expect(downloaded.bytes).toBe(modelFiles.reduce((n, f) => n + new Blob([files[f] as BlobPart]).size, 0));
    expect(downloaded.phases).toEqual(expect.arrayContaining(['metadata', 'downloading', 'done']));
    expect(hub.requests.some((r) => r.method === 'GET' && r.path === `/${REPO}/resolve/main/model.safetensors`)).toBe(true);

    // Network off. Nothing answers for the Hub any more either.
    await context.unrouteAll();
    await context.setOffline(true);
    hub.requests.length = 0;
    await page.reload();
    await expect(page.getByRole('navigation', { name: 'Screens' })).toBeVisible();
    expect(await page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);
    expect(await page.evaluate(() => navigator.onLine)).toBe(false);
    await expect(page.getByTestId('gpu-chip')).not.toHaveText('Checking GPU…');

    const offline = await runHubInWorker<{ models: string[]; cached: boolean; normLength: number; otherError: string | null; onLine: boolean }>(
      await trainerWorker(page),
      `const store = new LoraHub.OpfsStore();
       const models = await LoraHub.listCachedModels(store);
       const again = await LoraHub.downloadModel({ repo: arg.repo, store });
       const model = await LoraHub.openCachedModel(store, again.model.key);
       const meta = await LoraHub.readModelMetadata(model);
       const weights = await LoraHub.openModelWeights(model);
       const norm = await weights.readF32('model.norm.weight');
       let otherError = null;
       try { await LoraHub.downloadModel({ repo: 'acme/other', store }); } catch (e) { otherError = e.code; }
       return { models: models.map((m) => m.id), cached: again.alreadyCached && meta.config.model_type === 'llama', normLength: norm.length, otherError, onLine: navigator.onLine };`,
      { repo: REPO },
    );
    expect(offline).toEqual({ models: [REPO], cached: true, normLength: 64, otherError: 'network', onLine: false });
    expect(hub.requests, 'no request reached the Hub while offline').toEqual([]);

    // The app works offline: the sample dataset (precached) parses in the worker.
    await page.getByRole('navigation', { name: 'Screens' }).getByRole('link', { name: 'Data', exact: true }).click();
    await page.getByTestId('load-sample').click();
    await expect(page.getByTestId('dataset-summary')).toBeVisible();
    await page.screenshot({ path: 'e2e/artifacts/pwa-offline.png', fullPage: true });

    await runHubInWorker(await trainerWorker(page), `const s = new LoraHub.OpfsStore(); for (const m of await LoraHub.listCachedModels(s)) await LoraHub.deleteCachedModel(s, m.key); return null;`);
    expect(errors).toEqual([]);
  });

  test('through the Model screen: a gated model explains what to do and downloads with the access token typed in, a public one downloads, and after an offline reload it is still on this device', async ({ page, context }) => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await routeHubToMock(context, hub);
    await page.goto('/#/model');
    await serviceWorkerControls(page);
    const chooseHubModel = async (id: string) => {
      await page.getByLabel('Any Hugging Face model id').fill(id);
      await page.getByRole('button', { name: 'Use this model' }).click();
      await expect(page.getByTestId('model-choice')).toContainText(id);
    };

    const seenUrls: string[] = [];
    context.on('request', (r) => seenUrls.push(r.url()));
    await chooseHubModel('acme/gated-llama');
    await page.getByTestId('download-model').click();
    await expect(page.getByTestId('model-choice')).toContainText('accept its license');
    await expect(page.getByTestId('model-choice')).toContainText('Paste it into “Hugging Face access token” on this screen');
    await expect(page.getByTestId('model-cache')).not.toContainText('acme/gated-llama');

    // A wrong token is refused with a pointer at the field; the right one downloads the gated model.
    const tokenField = page.getByLabel('Hugging Face access token');
    await expect(tokenField).toHaveAttribute('type', 'password');
    await tokenField.fill('hf_wrong');
    await page.getByTestId('download-model').click();
    await expect(page.getByTestId('model-choice')).toContainText('Check the token in “Hugging Face access token”');
    await tokenField.fill('hf_secret');
    await page.getByTestId('hub-token').getByLabel('Remember on this device').check();
    await page.screenshot({ path: 'e2e/artifacts/model-token.png', fullPage: true });
    await page.getByTestId('download-model').click();
    await expect(page.getByTestId('model-cached')).toBeVisible();
    await expect(page.getByTestId('model-cache')).toContainText('acme/gated-llama');
    const gated = hub.requests.filter((r) => r.path.startsWith('/acme/gated-llama/'));
    expect(gated.filter((r) => r.status < 400).length, 'gated files served').toBeGreaterThan(3);
    for (const r of gated.filter((r) => r.status < 400)) expect(r.authorization, r.path).toBe('Bearer hf_secret');
    // The token travels in the Authorization header only: never in a URL, never in localStorage.
    expect(seenUrls.filter((u) => u.includes('hf_secret') || u.includes('hf_wrong'))).toEqual([]);
    expect(hub.requests.filter((r) => r.path.includes('hf_secret'))).toEqual([]);
    expect(await page.evaluate(() => JSON.stringify({ ...localStorage }))).not.toContain('hf_secret');

    await chooseHubModel(REPO);
    await page.getByTestId('download-model').click();
    await expect(page.getByTestId('model-cached')).toBeVisible();
    await expect(page.getByTestId('model-cache')).toContainText(REPO);

    await context.unrouteAll();
    await context.setOffline(true);
    hub.requests.length = 0;
    await page.reload();
    await expect(page.getByTestId('model-cache')).toContainText(REPO);
    await expect(page.getByTestId('model-cached')).toBeVisible();
    await page.screenshot({ path: 'e2e/artifacts/pwa-offline-model.png', fullPage: true });
    expect(hub.requests).toEqual([]);
    // The remembered token is back after the reload (from IndexedDB), still not in localStorage.
    await chooseHubModel('acme/not-downloaded');
    await expect(page.getByLabel('Hugging Face access token')).toHaveValue('hf_secret');
    await expect(page.getByTestId('hub-token').getByLabel('Remember on this device')).toBeChecked();
    expect(await page.evaluate(() => JSON.stringify({ ...localStorage }))).not.toContain('hf_secret');
    await page.getByTestId('hub-token').getByLabel('Remember on this device').uncheck();

    await runHubInWorker(await trainerWorker(page), `const s = new LoraHub.OpfsStore(); for (const m of await LoraHub.listCachedModels(s)) await LoraHub.deleteCachedModel(s, m.key); return null;`);
    expect(errors).toEqual([]);
  });
});

test('a new version waits for the user: the prompt appears, the page is not reloaded until Reload is pressed', async ({ page }) => {
  await page.goto('/');
  await serviceWorkerControls(page);
  const first = await page.evaluate(() => navigator.serviceWorker.controller!.scriptURL);
  await page.evaluate(() => ((window as unknown as { __samePage: boolean }).__samePage = true));

  // Publish a "new version": a changed sw.js, as a new deployment would bring.
  const swPath = 'dist/sw.js';
  const original = readFileSync(swPath, 'utf8');
  try {
    writeFileSync(swPath, `${original}\n// e2e: new version ${Date.now()}\n`);
    await page.evaluate(() => navigator.serviceWorker.getRegistration().then((r) => r!.update()));
    const prompt = page.getByTestId('pwa-update');
    await expect(prompt).toBeVisible();
    await expect(prompt).toContainText('A new version of LoRA Studio is ready');
    await page.screenshot({ path: 'e2e/artifacts/pwa-update-prompt.png' });
    // Waiting, not taking over: same page, same controller.
    await page.waitForTimeout(1000);
    expect(await page.evaluate(() => (window as unknown as { __samePage?: boolean }).__samePage)).toBe(true);
    expect(await page.evaluate(() => navigator.serviceWorker.getRegistration().then((r) => Boolean(r?.waiting)))).toBe(true);

    await Promise.all([page.waitForEvent('load'), prompt.getByRole('button', { name: 'Reload' }).click()]);
    await expect.poll(() => page.evaluate(() => (window as unknown as { __samePage?: boolean }).__samePage ?? false)).toBe(false);
    await expect.poll(() => page.evaluate(() => navigator.serviceWorker.getRegistration().then((r) => Boolean(r?.waiting)))).toBe(false);
    expect(await page.evaluate(() => navigator.serviceWorker.controller?.scriptURL)).toBe(first);
    await expect(page.getByTestId('pwa-update')).toHaveCount(0);
  } finally {
    writeFileSync(swPath, original);
  }
});

test('the OPFS model store writes at an offset (resume), truncates, lists and deletes, in the worker and in the page', async ({ page }) => {
  await page.goto('/');
  // Worker: sync access handles (bytes land in place). Page: writable streams.
  const check = `
    const store = new LoraHub.OpfsStore();
    const key = 'e2e-store-' + arg.where;
    const enc = (s) => new TextEncoder().encode(s);
    let w = await store.openWriter(key, 'f.bin', 0);
    await w.write(enc('hello ')); await w.write(enc('world'));
    await w.close();
    w = await store.openWriter(key, 'f.bin', 6);
    await w.write(enc('there!'));
    await w.close();
    const src = await store.source(key, 'f.bin');
    const text = new TextDecoder().decode(await src.read(0, src.size));
    const mid = new TextDecoder().decode(await src.read(2, 4));
    const listed = (await store.keys()).includes(key);
    const files = await store.files(key);
    await store.deleteKey(key);
    return { text, mid, listed, files, gone: !(await store.keys()).includes(key), size: await store.fileSize(key, 'f.bin'), estimate: (await store.estimate()) !== null };
  `;
  const want = { text: 'hello there!', mid: 'llo ', listed: true, files: [{ name: 'f.bin', size: 12 }], gone: true, size: null, estimate: true };
  expect(await runHubInWorker(await trainerWorker(page), check, { where: 'worker' })).toEqual(want);
  const code = await hubBundle();
  expect(await page.evaluate(`(async (arg) => { ${code}\n ${check} \n})(${JSON.stringify({ where: 'page' })})`)).toEqual(want);
});
