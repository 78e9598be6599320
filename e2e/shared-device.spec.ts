// The flows that compile GPU pipelines without a reload in between, run in ONE page: one trainer
// worker, so one GPUDevice and one pipeline cache (GpuContext.pipeline) for them all. Chromium's
// software adapter takes about a second per compute pipeline and a training flow compiles 30+;
// in a page of its own each flow paid for them again (a new page or a reload starts a new worker
// and a new device). Here only what is new to a flow is compiled: another weight format, the
// kernels only the smoke check or the benchmark runs.
//
// Each test still sets up everything it uses (its own model folder, dataset and settings) and
// makes the checks it made in a page of its own; after a failure Playwright starts a new worker,
// so beforeAll opens a fresh page for the tests left. The order is for speed only: a flow that
// reloads before it trains comes first, flows that reload after their GPU work come last. A flow
// in the middle that checks what survives a reload opens the app afresh in a second page of the
// same context instead (afterReload: the same storage, a worker of its own), so the shared page
// keeps its worker. What a test changes that the next one reads before setting its own (the
// weight format, the Train settings the GPU screen test shrinks), it sets back; listeners a test
// adds are removed after it.
//
// - offline: a model downloaded once from the (mock) Hub, then, offline after a reload served by
//   the service worker, the sample dataset, a few training steps, the playground and the adapter
//   export, with no request reaching the Hub.
// - the app shell finds a WebGPU adapter and every kernel runs once in the page (its Dawn differs
//   from Node's).
// - a pretrained-style base model imported from a local folder, start to finish: no chat
//   template, a short context (max_position_embeddings 128), a prompt/completion dataset, samples
//   during training, all three Playground columns, exports naming the model's Hub id. And (last,
//   it reloads) what happens when the browser evicts the imported model (private windows do,
//   ~minutes after import).
// - the GPU screen's measurements on the tiny test model imported as a local folder with small
//   Train settings: "Profile one step" gives a per-kernel table (or, on an adapter without
//   timestamp-query, says so with whole-step times), and "Run kernel benchmark" a GFLOP/s table
//   naming the adapter. Both export JSON. The step runs in the Model screen's weight format, as a
//   run would.
// - a GGUF base from the Hub: a mocked GGUF repository's files are listed with their quant types,
//   one is picked by default, the tokenizer repo is prefilled from the card's base_model, and the
//   download ends cached like a local GGUF import (model.gguf with the original tokenizer). The
//   listing survives a reload; a short run trains on the GGUF base and the Playground generates
//   with it, and no request of the whole flow carries the dataset's text.
// - DPO: the tiny random Llama imported as a local folder, a small file of preference pairs (TRL's
//   prompt/chosen/rejected) on the Data screen, the Train screen switching to DPO for pairs (also
//   for a dataset saved before pairs were recorded) and showing only DPO's settings, two DPO steps
//   whose reward metrics (TRL's names) appear live and stay with the run, and a PEFT zip that says
//   it was DPO.
// - does the tune beat the prompt: the tiny random Llama imported as a local folder learns a fixed
//   JSON answer it cannot produce untrained; the prompted baseline is written once on the
//   Playground and found on the Evaluate screen; base, prompted baseline and the tune answer the
//   run's held-out split in the worker (surviving a trip to another screen); the tune must score
//   higher than the base model and win the verdict. The result is stored with the run, exported,
//   and compared on the Runs screen.
import { readFile } from 'node:fs/promises';
import { expect, test, type Page } from '@playwright/test';
import { startMockHub, tinyModelRepo, type MockHub } from '../test/mock-hub';
import { buildTinyModel, TOKENIZER_FILES, tinyGgufBytes } from '../test/fixtures/tiny-model';
import { unzipFiles } from '../src/worker/zip';
import { readGguf } from '../src/engine/model/gguf-format';
import { memorySource } from '../src/engine/model/safetensors';
import { HUB_ORIGIN, routeHubToMock } from './hub-support';
import { dataLeaks, generateInPlayground, importModelFolder, importTinyModel, markedDataset, modelFolder, recordRequests, requestText, saveDataset, trainToCompletion } from './studio-support';

let page: Page;
test.beforeAll(async ({ browser }) => {
  // A context of its own (not browser.newPage()'s), so afterReload can open a second page in it.
  page = await (await browser.newContext()).newPage();
});
test.afterAll(async () => {
  await page.context().close();
});
test.afterEach(() => {
  page.removeAllListeners('pageerror');
  page.context().removeAllListeners('request');
});

test.describe('offline', () => {
  test.describe.configure({ timeout: 300_000 });
  const REPO = 'acme/tiny-llama';
  let hub: MockHub;
  test.beforeAll(async () => {
    hub = await startMockHub({ repos: { [REPO]: { files: tinyModelRepo({ hidden: 32 }) } } });
  });
  test.afterAll(() => hub.close());

  async function serviceWorkerControls(page: Page) {
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
    await page.reload();
    await expect.poll(() => page.evaluate(() => navigator.serviceWorker.controller !== null), { message: 'service worker controls the page' }).toBe(true);
  }

  test('offline after one model download: dataset, training, playground and export all work', async () => {
    const context = page.context();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await routeHubToMock(context, hub);

    // Online once: the app is precached and the model downloaded into the browser's storage.
    await page.goto('/#/model');
    await serviceWorkerControls(page);
    await page.getByLabel('Any Hugging Face model id').fill(REPO);
    await page.getByRole('button', { name: 'Use this model' }).click();
    await page.getByTestId('download-model').click();
    await expect(page.getByTestId('model-cached')).toBeVisible();

    // Offline from here on.
    await context.unrouteAll();
    await context.setOffline(true);
    hub.requests.length = 0;
    const offlineRequests: string[] = [];
    context.on('request', (r) => {
      if (!r.url().startsWith(`http://127.0.0.1:${process.env.E2E_PORT ?? 4173}/`)) offlineRequests.push(r.url());
    });
    await page.reload();
    await expect(page.getByTestId('model-choice')).toContainText(REPO);
    await expect(page.getByTestId('model-cached')).toBeVisible();

    await page.goto('/#/data');
    await page.getByTestId('load-sample').click();
    await expect(page.getByTestId('example-count')).toHaveText('300');
    await page.getByTestId('save-dataset').click();
    await expect(page.getByTestId('dataset-saved')).toBeVisible();

    await page.goto('/#/train');
    for (const [label, v] of [['Max steps', '3'], ['Validation split', '0.02'], ['Batch size', '1'], ['Gradient accumulation', '1'], ['Sequence length', '256'], ['Evaluate every', '3'], ['Checkpoint every', '3'], ['Sample every', '0'], ['Warm-up steps', '0']] as const) {
      await page.getByLabel(label, { exact: true }).fill(v);
    }
    await page.getByTestId('start-run').click();
    await expect(page.getByTestId('run-status')).toContainText('step 3 / 3 · completed', { timeout: 240_000 });

    await generateInPlayground(page, 'Dinner with Chen on Friday at 7 pm', 8);

    await page.goto('/#/adapters');
    const download = page.waitForEvent('download');
    await page.getByTestId('adapters').getByRole('button', { name: 'PEFT (.zip)' }).first().click();
    const zip = new Uint8Array(await readFile((await (await download).path())!));
    expect(unzipFiles(zip).map((f) => f.name).sort()).toEqual(['README.md', 'adapter_config.json', 'adapter_model.safetensors', 'training_settings.json']);
    await page.screenshot({ path: 'e2e/artifacts/offline-flow.png', fullPage: true });

    expect(hub.requests, 'requests that reached the Hub while offline').toEqual([]);
    expect(offlineRequests, 'requests to anything but the app while offline').toEqual([]);
    expect(errors).toEqual([]);
    // Online again: the next test in this page is not about being offline.
    await context.setOffline(false);
  });
});

test.describe('kernels in the page', () => {
  test('app shell loads, finds a WebGPU adapter and runs the kernels in the page', async () => {
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
});

// The local pretrained model, for its flow and (last: it reloads) its eviction test.
const FOLDER = 'hf';
const HUB_ID = 'acme/tiny-pretrained-128';

/**
 * The tiny random Llama made to look like a pretrained base: no chat_template, <|endoftext|>
 * as BOS/EOS, a 128-token context, and the Hub id transformers writes as `_name_or_path`.
 */
async function pretrainedFolder(): Promise<string> {
  const m = buildTinyModel({ seed: 11 });
  const config = { ...m.configJson, max_position_embeddings: 128, _name_or_path: HUB_ID, bos_token_id: 0, eos_token_id: 0, pad_token_id: 0 };
  const { chat_template: _template, ...tokenizerConfig } = m.tokenizerConfig;
  Object.assign(tokenizerConfig, { bos_token: '<|endoftext|>', eos_token: '<|endoftext|>', pad_token: '<|endoftext|>' });
  return modelFolder({ ...m.files, 'config.json': JSON.stringify(config), 'tokenizer_config.json': JSON.stringify(tokenizerConfig), 'generation_config.json': JSON.stringify({ bos_token_id: 0, eos_token_id: 0 }) }, FOLDER);
}

/** Prompt/completion rows (plain text, as for a base model). */
function completionRows(n: number): string {
  const days = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
  const colors = ['red', 'green', 'blue'];
  return Array.from({ length: n }, (_, i) => JSON.stringify({ prompt: `The ${colors[i % 3]} fox on ${days[i % 7]} is`, completion: ` quick and ${i % 2 ? 'lazy' : 'brown'}.` })).join('\n');
}

async function importFolder(page: Page, dir: string) {
  await importModelFolder(page, dir);
  await expect(page.getByTestId('model-choice')).toContainText(FOLDER);
}

test.describe('local pretrained model', () => {
  test.describe.configure({ timeout: 420_000 });

  test('a pretrained model from a local folder: prompt/completion data, training with samples, three playground columns, exports', async () => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await importFolder(page, await pretrainedFolder());
    // The Hub id comes from config.json's _name_or_path; exports will name it.
    await expect(page.getByLabel('Hugging Face model id of this folder')).toHaveValue(HUB_ID);

    // Data: prompt/completion rows are plain text for this model, and the preview keeps spaces.
    await saveDataset(page, { name: 'fox.jsonl', text: completionRows(40), examples: 40 });
    await page.getByTestId('count-tokens').click();
    await expect(page.getByTestId('tokenized-as')).toHaveText('Prompt/completion rows are tokenized as plain text: the prompt, then the completion and the end-of-text token, with no chat template.');
    await expect(page.getByTestId('token-stats')).not.toContainText('chat template of');
    const firstRecord = page.getByTestId('token-stats').locator('.tokens').first();
    await expect(firstRecord).toContainText('The red fox on Monday is quick and brown.');
    // Trained tokens with their leading spaces, then the end-of-text token.
    expect((await firstRecord.locator('mark.trained').allTextContents()).join('')).toBe(' quick and brown.<|endoftext|>');

    // Train: the sequence length follows the model's 128-token context (branch `mem`).
    await page.goto('/#/train');
    await expect(page.getByLabel('Sequence length', { exact: true })).toHaveValue('128');
    for (const [label, v] of [['Max steps', '4'], ['Validation split', '0.1'], ['Batch size', '2'], ['Gradient accumulation', '1'], ['Evaluate every', '2'], ['Checkpoint every', '2'], ['Sample every', '2'], ['Warm-up steps', '1']] as const) {
      await page.getByLabel(label, { exact: true }).fill(v);
    }
    await page.getByLabel(/^Prompts to try every/).fill('The green fox on Friday is');
    // Every message the run status shows, as it changes (nothing is missed between polls).
    await page.evaluate(() => {
      const w = window as unknown as { __statusTexts: string[] };
      w.__statusTexts = [];
      new MutationObserver(() => {
        const t = document.querySelector('[data-testid="run-status"]')?.textContent ?? '';
        if (t && t !== w.__statusTexts.at(-1)) w.__statusTexts.push(t);
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    await page.getByTestId('start-run').click();
    const status = page.getByTestId('run-status');
    await expect(status).toContainText('step 4 / 4 · completed', { timeout: 300_000 });
    const texts = await page.evaluate(() => (window as unknown as { __statusTexts: string[] }).__statusTexts);
    // Before the first step is measured the screen says what is happening.
    expect(texts.some((t) => t.includes('step 0 / ') && t.includes('Compiling the GPU kernels and running step 1'))).toBe(true);
    // Samples of the held-out prompt as plain continuations (branch `tok`), and the run completed despite them.
    await expect(page.getByTestId('samples').locator('li').first()).toContainText('The green fox on Friday is');
    await expect(page.getByTestId('final-loss')).toHaveText(/^Last train loss \d+\.\d{3} · validation loss \d+\.\d{3}$/);
    await page.screenshot({ path: 'e2e/artifacts/local-model-train.png', fullPage: true });

    // Runs: the last losses as a column; exports name the Hub id, not the folder.
    await page.evaluate(() => Object.defineProperty(window, 'showDirectoryPicker', { value: undefined, configurable: true, writable: true }));
    await page.goto('/#/adapters');
    await expect(page.getByTestId('runs')).toContainText('completed · 4/4');
    await expect(page.getByTestId('run-loss').first()).toHaveText(/^\d+\.\d{3} \/ \d+\.\d{3}$/);
    const peft = page.waitForEvent('download');
    await page.getByTestId('adapters').getByRole('button', { name: 'PEFT (.zip)' }).first().click();
    const zip = unzipFiles(new Uint8Array(await readFile((await (await peft).path())!)));
    expect(JSON.parse(new TextDecoder().decode(zip.find((f) => f.name === 'adapter_config.json')!.bytes)).base_model_name_or_path).toBe(HUB_ID);
    const ggufDl = page.waitForEvent('download');
    await page.getByTestId('adapters').getByRole('button', { name: 'GGUF + Modelfile' }).first().click();
    const ggufZip = unzipFiles(new Uint8Array(await readFile((await (await ggufDl).path())!)));
    const gguf = await readGguf(memorySource(ggufZip.find((f) => f.name.endsWith('.gguf'))!.bytes, 'adapter.gguf'));
    expect(gguf.get('general.base_model.0.repo_url')).toBe(`https://huggingface.co/${HUB_ID}`);
    expect(new TextDecoder().decode(ggufZip.find((f) => f.name === 'Modelfile')!.bytes)).toContain(`convert the base model (${HUB_ID})`);

    // Playground: plain text in, plain continuation out, in all three columns (branch `tok`).
    await page.goto('/#/playground');
    await page.getByLabel('Prompt', { exact: true }).fill('The blue fox on Sunday is');
    await page.getByLabel('Adapter', { exact: true }).selectOption({ index: 1 });
    await page.getByLabel('Max new tokens').fill('8');
    await page.getByText('Baseline prompt: system prompt and few-shot examples').click();
    await page.getByLabel('Few-shot examples').fill('user: The red fox on Monday is\nassistant: quick and brown.');
    await page.getByTestId('generate').click();
    const cols = page.getByTestId('playground-columns');
    for (const col of ['baseline', 'base', 'tuned']) await expect(cols.locator(`[data-col="${col}"] [data-testid="gen-stats"]`)).toContainText(/\d+ tokens/, { timeout: 120_000 });
    await expect(cols.locator('.bad')).toHaveCount(0);
    await page.screenshot({ path: 'e2e/artifacts/local-model-playground.png', fullPage: true });
    expect(errors).toEqual([]);
  });
});

test.describe('GPU screen measurements', () => {
  test.describe.configure({ timeout: 300_000 });

  test('GPU screen: profile one step and run the kernel benchmark on the tiny model', async () => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // Its own folder name: the evaluation below imports another tiny-llama into this page.
    await importTinyModel(page, { seed: 5, intermediateSize: 64 }, 'tiny-llama-q8'); // rows of 32s: q8 applies

    await page.goto('/#/train');
    // Set back at the end, as the weight format is: both are stored, and the next test in this page plans its run from them.
    const small = [['Batch size', '1'], ['Gradient accumulation', '1'], ['Sequence length', '32']] as const;
    const before = await Promise.all(small.map(([label]) => page.getByLabel(label, { exact: true }).inputValue()));
    for (const [label, v] of small) await page.getByLabel(label, { exact: true }).fill(v);

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
    // Back to auto and the Train settings it had: the next test in this page trains in the format auto picks.
    await page.goto('/#/model');
    await page.getByTestId('weight-format').getByRole('radio', { name: /^Auto/ }).check();
    await page.goto('/#/train');
    for (const [i, [label]] of small.entries()) await page.getByLabel(label, { exact: true }).fill(before[i]);
  });
});

/**
 * What a reload would show, without reloading the shared page (a reload starts a new worker and
 * loses the pipeline cache for the tests after it): the app opened afresh in another page of the
 * same context, so from the same localStorage, IndexedDB and OPFS; checked, then closed.
 */
async function afterReload(url: string, check: (fresh: Page) => Promise<void>, editStorage?: () => void): Promise<void> {
  const fresh = await page.context().newPage();
  // An edit of the stored state runs as the fresh page starts, before the app reads it: edited
  // from the shared page, its app (still running) could write its own state back first.
  if (editStorage) await fresh.addInitScript(editStorage);
  const errors: string[] = [];
  fresh.on('pageerror', (e) => errors.push(e.message));
  try {
    await fresh.goto(url);
    await check(fresh);
    expect(errors, `errors in the page opened afresh at ${url}`).toEqual([]);
  } finally {
    await fresh.close();
  }
}

test.describe('GGUF from the Hub', () => {
  // A download, a two-step run and a generation: ~1 min alone, several on a loaded 2-core box.
  test.describe.configure({ timeout: 480_000 });
  let hub: MockHub;
  test.beforeAll(async () => {
    const m = buildTinyModel({ layers: 2, hiddenSize: 64, numHeads: 4, numKvHeads: 2, intermediateSize: 96, seed: 61 });
    hub = await startMockHub({
      repos: {
        'acme/tiny-GGUF': { files: { 'README.md': '---\nbase_model: acme/tiny-original\n---\n', 'tiny-Q8_0.gguf': await tinyGgufBytes(m, 'Q8_0'), 'tiny-Q4_0.gguf': await tinyGgufBytes(m, 'Q4_0') } },
        'acme/tiny-original': { files: Object.fromEntries(TOKENIZER_FILES.map((f) => [f, m.files[f] as string])) },
      },
    });
  });
  test.afterAll(() => hub.close());

  test('a GGUF repo on the Hub: files listed, one picked, tokenizer from base_model, downloaded, cached, trained on and generated with', async () => {
    const context = page.context();
    const errors: string[] = [];
    const seen = recordRequests(context);
    page.on('pageerror', (e) => errors.push(e.message));
    await routeHubToMock(context, hub);
    await page.goto('/#/model');
    await page.getByLabel('Any Hugging Face model id').fill('acme/tiny-GGUF');
    await page.getByRole('button', { name: 'Use this model' }).click();
    const list = page.getByTestId('hub-gguf');
    await expect(list).toContainText('tiny-Q8_0.gguf');
    await expect(list).toContainText('Q4_0');
    await expect(page.getByLabel('Original model (its tokenizer files)')).toHaveValue('acme/tiny-original');
    // A tiny model fits in f32, so auto picks the most precise file: Q8_0; its header was read before any download.
    await expect(page.getByTestId('gguf-header')).toContainText('tiny-Q8_0.gguf: llama model, Q8_0 weights');
    expect(hub.requests.filter((r) => r.path.endsWith('.gguf') && r.method === 'GET' && r.range === null)).toEqual([]);
    await page.getByTestId('download-model').click();
    await expect(page.getByTestId('model-cached')).toBeVisible();
    await expect(page.getByTestId('model-cache')).toContainText('Hub GGUF tiny-Q8_0.gguf, Q8_0, tokenizer from acme/tiny-original');

    // The repo's file list, the pick and its checked header are kept with the chosen model across a reload.
    await afterReload('/#/model', async (fresh) => {
      const list = fresh.getByTestId('hub-gguf');
      await expect(list).toContainText('tiny-Q8_0.gguf');
      await expect(list).toContainText('Q4_0');
      await expect(list.getByRole('radio', { name: /tiny-Q8_0\.gguf/ })).toBeChecked();
      await expect(fresh.getByTestId('gguf-header')).toContainText('tiny-Q8_0.gguf: llama model, Q8_0 weights');
      await expect(fresh.getByLabel('Original model (its tokenizer files)')).toHaveValue('acme/tiny-original');
      await expect(fresh.getByTestId('model-cached')).toBeVisible();
    });

    // Two steps of LoRA on the GGUF base, then the Playground with it (base and tuned columns).
    const data = markedDataset(40);
    await saveDataset(page, { name: data.fileName, text: data.text, examples: 40 });
    await trainToCompletion(page, { 'Max steps': '2', 'Validation split': '0.1', 'Batch size': '2', 'Gradient accumulation': '1', 'Sequence length': '128', 'Evaluate every': '2', 'Checkpoint every': '2', 'Sample every': '100', 'Warm-up steps': '0' });
    const cols = await generateInPlayground(page, 'Where does the note go?', 4);
    await expect(cols.locator('.bad')).toHaveCount(0);
    expect(errors).toEqual([]);

    // The Hub was talked to (GGUF listing, header, download), and no request carried dataset text.
    expect(seen.filter((r) => r.url.startsWith(`${HUB_ORIGIN}/`)).length).toBeGreaterThan(0);
    expect(dataLeaks(data.needles, seen.map(requestText)), 'dataset text in network traffic').toEqual([]);
    await context.unrouteAll();
  });
});

/** 24 pairs: a polite answer is preferred to a curt one. */
const PAIRS = Array.from({ length: 24 }, (_, i) => JSON.stringify({ prompt: `Greet guest ${i}.`, chosen: `Hello guest ${i}, welcome!`, rejected: 'No.' })).join('\n') + '\n';

test.describe('preference pairs (DPO)', () => {
  // Two DPO steps on a tiny model (kernel compilation dominates): about three minutes on a loaded 2-core box.
  test.describe.configure({ timeout: 300_000 });

  test('DPO on preference pairs: objective checks, live reward metrics stored with the run, the export names the objective', async () => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await importTinyModel(page, { seed: 7 });

    // Data: the pairs are recognised as such, and the (default) SFT objective is said not to fit them.
    await page.goto('/#/data');
    await page.getByTestId('dataset-drop').locator('input[type=file]').setInputFiles({ name: 'greetings-pairs.jsonl', mimeType: 'application/jsonl', buffer: Buffer.from(PAIRS) });
    await expect(page.getByTestId('example-count')).toHaveText('24');
    await expect(page.getByTestId('dataset-objective')).toContainText('preference pairs (prompt, chosen, rejected): DPO or ORPO');
    await expect(page.getByTestId('objective-mismatch')).toContainText('the dataset holds 24 preference pairs');
    // The preview shows both completions of a pair after its prompt, each as trained text.
    const first = page.getByTestId('dataset-preview').locator('li').first();
    await expect(first).toContainText('Greet guest 0.');
    await expect(first.locator('[data-side="chosen"] mark.trained')).toHaveText('Hello guest 0, welcome!');
    await expect(first.locator('[data-side="rejected"] mark.trained')).toHaveText('No.');
    await page.getByTestId('save-dataset').click();
    await expect(page.getByTestId('dataset-saved')).toBeVisible();

    // Train: choosing the pairs switched the (SFT) objective to DPO, said so, and SFT is offered disabled with why.
    const followsPairs = async (p: Page) => {
      const objective = p.getByRole('combobox', { name: 'Objective', exact: true });
      await expect(p.getByTestId('train-dataset')).toContainText('24 preference pairs');
      await expect(objective).toHaveValue('dpo');
      await expect(p.getByTestId('train-settings')).toContainText('Objective set to DPO: the dataset holds preference pairs.');
      await expect(objective.locator('option[value="sft"]')).toBeDisabled();
      await expect(objective.locator('option[value="orpo"]')).toBeEnabled();
      await expect(p.getByTestId('train-settings')).toContainText('Not offered: SFT needs one answer per example, and the dataset holds preference pairs.');
      await expect(p.getByTestId('train-settings')).not.toContainText('Cannot start');
    };
    await page.goto('/#/train');
    await followsPairs(page);
    // The same dataset as an older version saved it (no word on pairs) with SFT chosen: the stored file tells.
    await afterReload('/#/train', followsPairs, () => {
      const edit = (key: string, f: (state: Record<string, Record<string, unknown>>) => void) => {
        const v = JSON.parse(localStorage.getItem(key)!);
        f(v.state);
        localStorage.setItem(key, JSON.stringify(v));
      };
      edit('lora-studio.dataset', (s) => delete s.saved.pairs);
      edit('lora-studio.train', (s) => (s.settings.objective = 'sft'));
    });
    // DPO: its β and label smoothing are live, ORPO's λ is off with the reason.
    await expect(page.getByLabel('DPO beta (β)', { exact: true })).toBeEnabled();
    await expect(page.getByLabel('DPO label smoothing', { exact: true })).toBeEnabled();
    await expect(page.getByLabel('ORPO lambda (λ)', { exact: true })).toBeDisabled();
    await expect(page.getByTestId('train-settings')).toContainText('Not used: applies to ORPO only, and the objective is DPO.');
    for (const [label, v] of [['Max steps', '2'], ['Validation split', '0.17'], ['Batch size', '2'], ['Gradient accumulation', '1'], ['Sequence length', '128'], ['Evaluate every', '2'], ['Checkpoint every', '2'], ['Sample every', '0'], ['Warm-up steps', '0']] as const) {
      await page.getByLabel(label, { exact: true }).fill(v);
    }
    // A large step so that two steps move the rewards visibly (the chart of the same name shares the label).
    await page.getByRole('spinbutton', { name: 'Learning rate', exact: true }).fill('0.005');
    await expect(page.getByTestId('planned-steps')).toHaveText('2', { timeout: 60_000 });
    await page.getByTestId('start-run').click();
    await expect(page.getByTestId('run-status')).toContainText('step 2 / 2 · completed', { timeout: 240_000 });

    // The reward metrics under TRL's names, on the training pairs and on the held-out ones, and their charts.
    const metrics = page.getByTestId('preference-metrics');
    for (const name of ['rewards/chosen', 'rewards/rejected', 'rewards/accuracies', 'rewards/margins', 'logps/chosen', 'logps/rejected']) {
      await expect(metrics.getByTestId(`train-${name}`), name).toHaveText(/^-?\d/);
      await expect(metrics.getByTestId(`eval-${name}`), name).toHaveText(/^-?\d/);
    }
    const accuracy = Number(await metrics.getByTestId('train-rewards/accuracies').textContent());
    expect(accuracy).toBeGreaterThanOrEqual(0);
    expect(accuracy).toBeLessThanOrEqual(1);
    const charts = page.getByTestId('live-charts');
    for (const title of ['Loss', 'Rewards (β · log-ratio to the reference)', 'Reward accuracy (chosen above rejected)', 'Log-probabilities of the answers']) {
      await expect(charts.getByRole('figure', { name: title }).locator('.chart-empty'), title).toHaveCount(0);
    }
    await page.screenshot({ path: 'e2e/artifacts/train-dpo.png', fullPage: true });

    // Stored with the run: after a reload the Train screen draws them again from IndexedDB.
    await afterReload('/#/train', async (fresh) => {
      await expect(fresh.getByText(/Curves of the latest run/)).toBeVisible();
      await expect(fresh.getByTestId('preference-metrics').getByTestId('eval-rewards/margins')).toHaveText(/^-?\d/);
      await expect(fresh.getByTestId('live-charts').getByRole('figure', { name: 'Reward accuracy (chosen above rejected)' }).locator('.chart-empty')).toHaveCount(0);
    });

    // Runs: the run and its adapter say DPO; the PEFT zip carries the run record naming it.
    await page.goto('/#/adapters');
    await expect(page.getByTestId('run-objective').first()).toHaveText('DPO, β 0.1');
    await expect(page.getByTestId('adapter-objective').first()).toHaveText('preference: DPO');
    // Comparing runs: the metric is chosen among those the run measured, its rewards included.
    await page.getByRole('checkbox', { name: /^Compare / }).first().check();
    const metric = page.getByTestId('run-comparison').getByLabel('Metric compared');
    await expect(metric.locator('option')).toHaveCount(14);
    await expect(metric).toHaveValue('trainLoss');
    await metric.selectOption('eval_rewards/accuracies');
    await expect(page.getByTestId('run-comparison').getByRole('figure', { name: 'Reward accuracy, held-out pairs (eval_rewards/accuracies) of the selected runs' }).locator('.chart-empty')).toHaveCount(0);
    const download = page.waitForEvent('download');
    await page.getByTestId('adapters').getByRole('button', { name: 'PEFT (.zip)' }).first().click();
    const zip = unzipFiles(new Uint8Array(await readFile((await (await download).path())!)));
    expect(zip.map((f) => f.name).sort()).toEqual(['README.md', 'adapter_config.json', 'adapter_model.safetensors', 'training_settings.json']);
    const record = JSON.parse(new TextDecoder().decode(zip.find((f) => f.name === 'training_settings.json')!.bytes));
    expect(record.objective).toEqual({ kind: 'dpo', beta: 0.1, labelSmoothing: 0 });
    expect(record.settings.objective).toBe('dpo');
    expect(errors).toEqual([]);
  });
});

/** A format task: whatever the note, the answer is the same JSON object. */
const ANSWER = '{"ok":true}';
function formatRows(n: number): string {
  const what = ['lunch', 'dinner', 'call', 'meeting', 'gym', 'dentist', 'review', 'party', 'trip', 'class'];
  const who = ['Ana', 'Chen', 'Bo', 'Dee', 'Eli', 'Fay', 'Gus'];
  return Array.from({ length: n }, (_, i) => JSON.stringify({ messages: [{ role: 'user', content: `${what[i % 10]} with ${who[i % 7]} #${i}` }, { role: 'assistant', content: ANSWER }] })).join('\n');
}

interface Aggregate {
  mean: number;
}
interface ResultJson {
  settings: { systemPrompt: string; fewShotText: string; shots: number };
  result: {
    n: number;
    metrics: { id: string }[];
    systems: { name: string; kind: string; aggregates: Record<string, Aggregate> }[];
    comparisons: { a: string; b: string; metric: string; wins: number; losses: number; diff: Aggregate }[];
    verdicts: { a: string; b: string; metric: string; outcome: string; text: string }[];
    examples: unknown[];
  };
}

test.describe('evaluation', () => {
  // Import, 12 training steps and three systems on 20 held-out rows: ~6 min on a 2-core box at load 14.
  test.describe.configure({ timeout: 480_000 });

  test('the tune learns a format the base cannot produce and beats base and prompted baseline on held-out rows; progress, navigation, exports, Runs comparison', async () => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await importTinyModel(page);
    await saveDataset(page, { name: 'ok-json.jsonl', text: formatRows(100), examples: 100 });
    await trainToCompletion(page, {
      'Max steps': '12',
      'Validation split': '0.2',
      'Batch size': '4',
      'Gradient accumulation': '1',
      'Sequence length': '128',
      'Learning rate': '0.01',
      Schedule: 'constant',
      'Warm-up steps': '0',
      'Evaluate every': '12',
      'Checkpoint every': '12',
      'Sample every': '100',
    });

    // The prompted baseline, written on the Playground: the Evaluate screen scores this same one.
    const system = 'Reply with one JSON object.';
    const written = `user: tea with Zed\nassistant: ${ANSWER}`;
    await page.goto('/#/playground');
    await page.getByText('Baseline prompt: system prompt and few-shot examples').click();
    await page.getByLabel('System prompt').fill(system);
    await page.getByLabel('Few-shot examples').fill(written);
    await page.goto('/#/evaluate');
    await expect(page.getByTestId('eval-run')).toBeVisible();
    await expect(page.getByLabel('Baseline system prompt')).toHaveValue(system);
    await expect(page.getByLabel('Few-shot examples', { exact: true })).toHaveValue(written);
    await page.getByLabel('Examples drawn from the training rows').fill('1');
    await page.getByLabel('Max new tokens').fill('16');
    await page.getByTestId('eval-start').click();
    await expect(page.getByTestId('eval-progress')).toBeVisible();
    // The job lives in the worker: away and back, it is still going (or done), not lost.
    await page.goto('/#/adapters');
    await page.goto('/#/evaluate');
    // And so are the choices it was started with.
    await expect(page.getByLabel('Max new tokens')).toHaveValue('16');
    await expect(page.getByLabel('Examples drawn from the training rows')).toHaveValue('1');
    const results = page.getByTestId('eval-results');
    await expect(results).toBeVisible({ timeout: 240_000 });
    await expect(page.getByTestId('eval-progress')).toHaveCount(0);
    const scores = page.getByTestId('eval-scores');
    await expect(scores.locator('tbody tr')).toHaveCount(3);
    await expect(scores.locator('tbody tr').first()).toContainText(/\d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\]/);
    await expect(page.getByTestId('eval-comparisons')).toContainText(/wins, \d+ ties, \d+ losses/);
    const n = await page.getByTestId('eval-examples').locator('tbody tr').count();
    expect(n).toBe(20); // 20% of 100 rows held out
    await page.getByTestId('eval-filter').selectOption('disagree');
    expect(await page.getByTestId('eval-examples').locator('tbody tr').count()).toBeLessThanOrEqual(n);
    await page.screenshot({ path: 'e2e/artifacts/evaluate.png', fullPage: true });

    const jsonDl = page.waitForEvent('download');
    await results.getByRole('button', { name: 'Everything (.json)' }).click();
    const json = JSON.parse(await readFile((await (await jsonDl).path())!, 'utf8')) as ResultJson;
    const r = json.result;
    expect(json.settings).toMatchObject({ systemPrompt: system, fewShotText: written, shots: 1 });
    expect(r.systems.map((s) => s.kind)).toEqual(['base', 'prompted', 'tuned']);
    expect(r.examples).toHaveLength(n);
    // JSON references: the metrics were chosen for JSON, led by per-field agreement.
    expect(r.metrics.map((m) => m.id)).toEqual(['json_fields', 'json', 'em', 'length']);
    // The point of the feature: on held-out rows the tune scores higher than its base and than the
    // prompted baseline on the headline metric, and the verdict (shown on screen) says so.
    const [base, prompted, tuned] = r.systems;
    const [v] = r.verdicts;
    expect(v).toMatchObject({ a: tuned.name, b: 'prompted', metric: 'json_fields', outcome: 'beats' });
    for (const other of [base, prompted]) {
      expect(tuned.aggregates.json_fields.mean, `${tuned.name} vs ${other.name}`).toBeGreaterThan(other.aggregates.json_fields.mean);
      const c = r.comparisons.find((x) => x.a === tuned.name && x.b === other.name && x.metric === 'json_fields')!;
      expect(c.wins).toBeGreaterThan(c.losses);
      expect(c.diff.mean).toBeGreaterThan(0);
    }
    expect(v.text).toMatch(/^The tune beats the prompted baseline on \d+ of 20 held-out examples/);
    await expect(page.getByTestId('verdict').first()).toHaveText(v.text);
    const cell = (system: string) => scores.locator(`tr[data-system="${system}"] td[data-metric="json_fields"]`);
    await expect(cell(tuned.name)).toContainText(tuned.aggregates.json_fields.mean.toFixed(3));
    await expect(cell('base')).toContainText(base.aggregates.json_fields.mean.toFixed(3));

    const csvDl = page.waitForEvent('download');
    await results.getByRole('button', { name: 'Examples (.csv)' }).click();
    const csv = await readFile((await (await csvDl).path())!, 'utf8');
    expect(csv.split('\r\n')[0]).toBe('example,row,system,prompt,reference,prediction,json_fields,json,em,length');

    // Stored with the run: the Runs screen compares it (after a reload, from IndexedDB).
    await page.goto('/#/adapters');
    await page.reload();
    await expect(page.getByTestId('run-evaluations')).toContainText('validation split');
    await expect(page.getByTestId('run-evaluations')).toContainText('base:');
    expect(errors).toEqual([]);
  });
});

test.describe('local pretrained model evicted', () => {
  test.describe.configure({ timeout: 420_000 });

  test('an imported model the browser evicted is reported on every screen, at once and after a reload', async () => {
    const dir = await pretrainedFolder();
    await importFolder(page, dir);
    await expect(page.getByTestId('model-lost')).toHaveCount(0);

    // What a private window does to OPFS some minutes after the import.
    await page.evaluate(async (key) => {
      const models = await (await navigator.storage.getDirectory()).getDirectoryHandle('models');
      await models.removeEntry(key, { recursive: true });
    }, `local~${FOLDER}`);
    const notice = `The imported model “${FOLDER}” was removed from this browser’s storage`;
    await page.goto('/#/playground');
    await expect(page.getByTestId('model-lost')).toContainText(notice);
    await expect(page.getByTestId('model-lost').getByRole('link', { name: 'Go to the Model screen' })).toBeVisible();
    // Generating says the same, not "not on this device yet".
    await page.getByLabel('Prompt', { exact: true }).fill('The red fox');
    await page.getByLabel('Max new tokens').fill('2');
    await page.getByTestId('generate').click();
    await expect(page.getByTestId('playground-columns').locator('[data-col="base"] .bad')).toContainText(notice);

    await page.reload();
    await expect(page.getByTestId('model-lost')).toContainText(notice);
    await page.goto('/#/data');
    await expect(page.getByTestId('model-lost')).toContainText('Import its folder again on the Model screen.');

    // Importing the folder again brings it back; the notice goes.
    await importFolder(page, dir);
    await expect(page.getByTestId('model-lost')).toHaveCount(0);
    await page.screenshot({ path: 'e2e/artifacts/local-model-reimported.png', fullPage: true });
  });
});
