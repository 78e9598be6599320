// A pretrained-style base model imported from a local folder, start to finish: no chat template,
// a short context (max_position_embeddings 128), a prompt/completion dataset, samples during
// training, all three Playground columns, exports naming the model's Hub id. And what happens
// when the browser evicts the imported model (private windows do, ~minutes after import).
import { readFile } from 'node:fs/promises';
import { expect, test, type Page } from '@playwright/test';
import { buildTinyModel } from '../test/fixtures/tiny-model';
import { unzipFiles } from '../src/worker/zip';
import { readGguf } from '../src/engine/model/gguf-format';
import { memorySource } from '../src/engine/model/safetensors';
import { importModelFolder, modelFolder, saveDataset } from './studio-support';

test.setTimeout(420_000);

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

test('a pretrained model from a local folder: prompt/completion data, training with samples, three playground columns, exports', async ({ page }) => {
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

test('an imported model the browser evicted is reported on every screen, at once and after a reload', async ({ page }) => {
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
