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
// reloads before it trains comes first, flows that reload after their GPU work come last. What a
// test changes that the next one reads before setting its own (the weight format, the Train
// settings the GPU screen test shrinks), it sets back; listeners a test adds are removed after it.
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
// - does the tune beat the prompt: the tiny random Llama imported as a local folder learns a fixed
//   JSON answer it cannot produce untrained; the prompted baseline is written once on the
//   Playground and found on the Evaluate screen; base, prompted baseline and the tune answer the
//   run's held-out split in the worker (surviving a trip to another screen); the tune must score
//   higher than the base model and win the verdict. The result is stored with the run, exported,
//   and compared on the Runs screen.
import { readFile } from 'node:fs/promises';
import { expect, test, type Page } from '@playwright/test';
import { startMockHub, tinyModelRepo, type MockHub } from '../test/mock-hub';
import { buildTinyModel } from '../test/fixtures/tiny-model';
import { unzipFiles } from '../src/worker/zip';
import { readGguf } from '../src/engine/model/gguf-format';
import { memorySource } from '../src/engine/model/safetensors';
import { routeHubToMock } from './hub-support';
import { generateInPlayground, importModelFolder, importTinyModel, modelFolder, saveDataset, trainToCompletion } from './studio-support';

let page: Page;
test.beforeAll(async ({ browser }) => {
  page = await browser.newPage();
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
