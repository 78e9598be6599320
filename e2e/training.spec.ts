// Training for real in Chromium's software WebGPU, on a tiny random Llama (test fixture)
// imported as a local folder: token statistics, live curves, a reload in the middle of the
// run, resume from the last checkpoint, the adapter in Runs, PEFT zip export, merged exports
// (downloaded where the browser has no folder picker, and streamed into a picked folder).
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { expect, test } from '@playwright/test';
import { unzipFiles } from '../src/worker/zip';
import { readGguf } from '../src/engine/model/gguf-format';
import { memorySource } from '../src/engine/model/safetensors';
import { trainerWorker } from './hub-support';
import { describeFrames, mainThreadReport, OUR_SCRIPT_MS_PER_FRAME, watchMainThread } from './responsiveness';
import { fillTrainSettings, importTinyModel, saveDataset } from './studio-support';

// Training, a reload, a lost device, every export and a recipe: ~2–4 min alone, ~7 min on a loaded 2-core box.
test.setTimeout(600_000);

test('train a tiny model: live curves, reload mid-run and lost device both resume from the checkpoint, adapter exports, playground', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // Model: import the folder into the browser's cache (through the worker).
  const tinyFiles = await importTinyModel(page);
  await expect(page.getByTestId('model-choice')).toContainText('tiny-llama');
  await expect(page.getByTestId('model-cache')).toContainText('tiny-llama');

  // Data: the sample, saved; tokens counted with the tiny model's tokenizer and template.
  await saveDataset(page, 'sample');
  await page.getByTestId('count-tokens').click();
  await expect(page.getByTestId('total-tokens')).toHaveText(/^[1-9]\d*$/);
  await expect(page.getByTestId('token-stats').locator('.tokens mark.trained').first()).toBeVisible();

  // Train: small shapes for a software GPU.
  await fillTrainSettings(page, { 'Max steps': '8', 'Validation split': '0.02', 'Batch size': '2', 'Gradient accumulation': '1', 'Sequence length': '256', 'Evaluate every': '4', 'Checkpoint every': '2', 'Sample every': '4', 'Warm-up steps': '2' });
  await expect(page.getByTestId('planned-steps')).toHaveText('8');
  // Single answers: the preference objectives stay listed, disabled, with why.
  await expect(page.getByRole('combobox', { name: 'Objective', exact: true }).locator('option[value="dpo"]')).toBeDisabled();
  await expect(page.getByTestId('train-settings')).toContainText('Not offered: DPO needs preference pairs');
  await page.getByLabel(/^Prompts to try every/).fill('Lunch with Ana tomorrow at noon');
  // The UI must stay responsive while the worker trains: our own script's CPU per frame
  // (not wall-clock long tasks, which on a loaded machine measure the machine).
  await watchMainThread(page);
  await page.getByTestId('start-run').click();
  const status = page.getByTestId('run-status');
  await expect(status).toContainText(/step [3-7] \/ 8 · running/, { timeout: 240_000 });
  await expect(page.getByTestId('live-charts').locator('.chart').first().locator('.chart-empty')).toHaveCount(0);
  await page.screenshot({ path: 'e2e/artifacts/train-running.png', fullPage: true });
  const responsiveness = await mainThreadReport(page);
  console.log(`long animation frames while training:\n${describeFrames(responsiveness.frames)}`);
  expect(responsiveness.violations.map((f) => `${Math.round(f.ourScriptCpuMs)} ms`), `frames with over ${OUR_SCRIPT_MS_PER_FRAME} ms of our script (CPU) while training`).toEqual([]);

  // Runs while it trains: its Delete is off and says why (the worker would refuse it too).
  await page.goto('/#/adapters');
  const busyDelete = page.getByTestId('runs').locator('tr', { hasText: /running · \d+\/8/ }).getByRole('button', { name: 'Delete' });
  await expect(busyDelete).toBeDisabled();
  await expect(busyDelete).toHaveAttribute('title', /in use/);
  await page.goto('/#/train');

  // Reload in the middle of the run: the worker dies; the run must be resumable from its checkpoint.
  await page.reload();
  await expect(page.getByTestId('resumable')).toContainText('checkpoint at');
  await page.getByTestId('resumable').getByRole('button', { name: 'Resume from checkpoint' }).first().click();
  await expect(status).toContainText(/step [5-7] \/ 8 · running/, { timeout: 240_000 });

  // The GPU device is lost (as in a driver reset): the run stops cleanly and resumes on a new device.
  await (await trainerWorker(page)).evaluate('self.__loraStudioLoseDevice()');
  await expect(page.getByTestId('run-status')).toContainText('The GPU device was lost', { timeout: 60_000 });
  await expect(page.getByTestId('resumable')).toContainText('checkpoint at');
  await page.getByTestId('resumable').getByRole('button', { name: 'Resume from checkpoint' }).first().click();
  await expect(status).toContainText('step 8 / 8 · completed', { timeout: 240_000 });
  // Sample answers to the held-out prompt were generated with the adapter during training.
  await expect(page.getByTestId('samples').locator('li').first()).toContainText('Lunch with Ana tomorrow at noon');
  await page.screenshot({ path: 'e2e/artifacts/train.png', fullPage: true });

  // Runs: the run with its curve, the adapter, a PEFT zip. First as a browser without the
  // File System Access folder picker (Firefox, Safari): exports are downloads.
  await page.evaluate(() => Object.defineProperty(window, 'showDirectoryPicker', { value: undefined, configurable: true, writable: true }));
  await page.goto('/#/adapters');
  await expect(page.getByTestId('runs')).toContainText('completed · 8/8');
  await page.getByRole('checkbox', { name: /^Compare / }).first().check();
  // An SFT run offers its losses for comparison, no rewards.
  await expect(page.getByTestId('run-comparison').getByLabel('Metric compared').locator('option')).toHaveText(['train loss', 'validation loss']);
  await expect(page.getByTestId('runs').locator('.chart-empty')).toHaveCount(0);
  const downloadPromise = page.waitForEvent('download');
  await page.getByTestId('adapters').getByRole('button', { name: 'PEFT (.zip)' }).first().click();
  const dl = await downloadPromise;
  const zip = new Uint8Array(await readFile((await dl.path())!));
  const names = unzipFiles(zip).map((f) => f.name).sort();
  // The PEFT files and, beside them, the run record the CLI's train writes too (PEFT ignores it).
  expect(names).toEqual(['README.md', 'adapter_config.json', 'adapter_model.safetensors', 'training_settings.json']);
  expect(JSON.parse(new TextDecoder().decode(unzipFiles(zip).find((f) => f.name === 'training_settings.json')!.bytes)).objective).toEqual({ kind: 'sft' });
  const config = JSON.parse(new TextDecoder().decode(unzipFiles(zip).find((f) => f.name === 'adapter_config.json')!.bytes));
  expect(config.peft_type).toBe('LORA');
  expect(config.base_model_name_or_path).toBe('tiny-llama');
  // The run as a TRL recipe: the worker kept the CLI's training record when the run started (and
  // through the reload and the lost device), and the zip holds the rows it trained on.
  const runRow = page.getByTestId('runs').locator('tr', { hasText: 'completed · 8/8' });
  await runRow.getByRole('button', { name: 'Export as recipe' }).click();
  await runRow.getByLabel('Trainer').selectOption('trl');
  const recipePromise = page.waitForEvent('download');
  await runRow.getByRole('button', { name: 'Download recipe (.zip)' }).click();
  const recipe = unzipFiles(new Uint8Array(await readFile((await (await recipePromise).path())!)));
  expect(recipe.map((f) => f.name)).toEqual(expect.arrayContaining(['README.md', 'accelerate.yaml', 'train.jsonl', 'train.py']));
  expect(new TextDecoder().decode(recipe.find((f) => f.name === 'train.py')!.bytes)).toContain('MODEL = "tiny-llama"');
  const ggufPromise = page.waitForEvent('download');
  await page.getByTestId('adapters').getByRole('button', { name: 'GGUF + Modelfile' }).first().click();
  const gguf = unzipFiles(new Uint8Array(await readFile((await (await ggufPromise).path())!)));
  const ggufFile = gguf.find((f) => f.name.endsWith('.gguf'))!;
  expect(new TextDecoder().decode(ggufFile.bytes.subarray(0, 4))).toBe('GGUF');
  expect(new TextDecoder().decode(gguf.find((f) => f.name === 'Modelfile')!.bytes)).toMatch(/ADAPTER \.\/.*\.gguf/);
  expect(gguf.map((f) => f.name)).toContain('training_settings.json');

  // Merged model, Hugging Face layout, assembled in the page from streamed chunks and downloaded as a zip.
  await expect(page.getByTestId('export-note')).toContainText('cannot write into a folder');
  const mergedPromise = page.waitForEvent('download');
  await page.getByTestId('adapters').getByRole('button', { name: 'Merged model (.zip)' }).first().click();
  const mergedDl = await mergedPromise;
  expect(mergedDl.suggestedFilename()).toMatch(/-merged\.zip$/);
  const merged = unzipFiles(new Uint8Array(await readFile((await mergedDl.path())!)));
  expect(merged.map((f) => f.name).sort()).toEqual(['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
  const header = (bytes: Uint8Array) => {
    const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    return { n, json: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }> };
  };
  const mergedSt = merged.find((f) => f.name === 'model.safetensors')!.bytes;
  const baseSt = tinyFiles['model.safetensors'] as Uint8Array;
  const mh = header(mergedSt);
  const bh = header(baseSt);
  const tensorNames = (h: Record<string, unknown>) => Object.keys(h).filter((k) => k !== '__metadata__').sort();
  expect(tensorNames(mh.json)).toEqual(tensorNames(bh.json));
  for (const name of tensorNames(bh.json)) expect(mh.json[name].shape, name).toEqual(bh.json[name].shape);
  expect(mergedSt.length).toBe(8 + mh.n + Math.max(...tensorNames(mh.json).map((k) => mh.json[k].data_offsets[1])));
  // The adapter is folded in: an adapted projection changed, a norm did not.
  const tensorBytes = (bytes: Uint8Array, h: { n: number; json: Record<string, { data_offsets: [number, number] }> }, name: string) => bytes.subarray(8 + h.n + h.json[name].data_offsets[0], 8 + h.n + h.json[name].data_offsets[1]);
  expect(Buffer.compare(tensorBytes(mergedSt, mh, 'model.layers.0.self_attn.q_proj.weight'), tensorBytes(baseSt, bh, 'model.layers.0.self_attn.q_proj.weight'))).not.toBe(0);
  expect(Buffer.compare(tensorBytes(mergedSt, mh, 'model.norm.weight'), tensorBytes(baseSt, bh, 'model.norm.weight'))).toBe(0);
  const mergedConfig = JSON.parse(new TextDecoder().decode(merged.find((f) => f.name === 'config.json')!.bytes));
  expect(mergedConfig.model_type).toBe('llama');
  expect(mergedConfig.torch_dtype).toBe('float32');
  expect(Buffer.compare(merged.find((f) => f.name === 'tokenizer.json')!.bytes, Buffer.from(tinyFiles['tokenizer.json'] as string | Uint8Array))).toBe(0);
  await expect(page.getByTestId('export-done')).toContainText('-merged.zip');

  // Merged GGUF, the same way.
  const mergedGgufPromise = page.waitForEvent('download');
  await page.getByTestId('adapters').getByRole('button', { name: 'Merged GGUF (.gguf)' }).first().click();
  const mergedGgufDl = await mergedGgufPromise;
  expect(mergedGgufDl.suggestedFilename()).toMatch(/-merged\.gguf$/);
  const mergedGguf = new Uint8Array(await readFile((await mergedGgufDl.path())!));
  expect(new TextDecoder().decode(mergedGguf.subarray(0, 4))).toBe('GGUF');
  expect(new DataView(mergedGguf.buffer, mergedGguf.byteOffset).getUint32(4, true)).toBe(3);
  const parsed = await readGguf(memorySource(mergedGguf, 'merged.gguf'));
  expect(parsed.version).toBe(3);
  expect([undefined, 'model']).toContain(parsed.get('general.type'));
  expect(parsed.get('general.architecture')).toBe('llama');
  expect(parsed.tensors.length).toBe(tensorNames(bh.json).length);
  // In F16: the weight type is in the name and in the file; norms stay F32.
  await page.getByTestId('adapters').getByLabel('Merged GGUF weights').first().selectOption('F16');
  const f16Promise = page.waitForEvent('download');
  await page.getByTestId('adapters').getByRole('button', { name: 'Merged GGUF (.gguf)' }).first().click();
  const f16Dl = await f16Promise;
  expect(f16Dl.suggestedFilename()).toMatch(/-merged-F16\.gguf$/);
  const f16 = await readGguf(memorySource(new Uint8Array(await readFile((await f16Dl.path())!)), 'merged-f16.gguf'));
  expect(f16.tensors.find((t) => t.name === 'blk.0.attn_q.weight')?.typeName).toBe('F16');
  expect(f16.tensors.find((t) => t.name === 'output_norm.weight')?.typeName).toBe('F32');
  await page.screenshot({ path: 'e2e/artifacts/runs-after-training.png', fullPage: true });

  // Chrome's folder picker (File System Access), answered with a folder in the origin's private
  // file system: PEFT files and the merged model are written into it, chunk by chunk.
  await page.evaluate(async () => {
    const picked = await (await navigator.storage.getDirectory()).getDirectoryHandle('e2e-picked', { create: true });
    Object.defineProperty(window, 'showDirectoryPicker', { value: async () => picked, configurable: true, writable: true });
  });
  await page.goto('/#/train');
  await page.goto('/#/adapters');
  await expect(page.getByTestId('export-note')).toContainText('streamed straight into the folder');
  await page.getByTestId('adapters').getByRole('button', { name: 'PEFT → folder…' }).first().click();
  await expect(page.getByTestId('export-done')).toContainText('into e2e-picked/');
  await page.getByTestId('adapters').getByRole('button', { name: 'Merged model → folder…' }).first().click();
  await expect(page.getByTestId('export-done')).toContainText('Saved the merged model into e2e-picked/');
  await page.screenshot({ path: 'e2e/artifacts/runs-export-folder.png', fullPage: true });
  const picked = await page.evaluate(async () => {
    const root = await (await navigator.storage.getDirectory()).getDirectoryHandle('e2e-picked');
    const out: Record<string, { size: number; sha256: string }> = {};
    const walk = async (dir: FileSystemDirectoryHandle, prefix: string): Promise<void> => {
      for await (const [name, h] of (dir as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries()) {
        if (h.kind === 'directory') await walk(h as FileSystemDirectoryHandle, `${prefix}${name}/`);
        else {
          const buf = await (await (h as FileSystemFileHandle).getFile()).arrayBuffer();
          const hash = [...new Uint8Array(await crypto.subtle.digest('SHA-256', buf))].map((b) => b.toString(16).padStart(2, '0')).join('');
          out[`${prefix}${name}`] = { size: buf.byteLength, sha256: hash };
        }
      }
    };
    await walk(root, '');
    await (await navigator.storage.getDirectory()).removeEntry('e2e-picked', { recursive: true });
    return out;
  });
  const pickedNames = Object.keys(picked).sort();
  const peftDir = pickedNames.find((n) => n.endsWith('/adapter_config.json'))!.split('/')[0];
  const mergedDir = mergedDl.suggestedFilename().replace(/\.zip$/, '');
  expect(pickedNames).toEqual(
    [...['README.md', 'adapter_config.json', 'adapter_model.safetensors', 'training_settings.json'].map((f) => `${peftDir}/${f}`), ...merged.map((f) => `${mergedDir}/${f.name}`)].sort(),
  );
  // Streamed to disk and assembled in the page: the same bytes.
  for (const f of merged) expect(picked[`${mergedDir}/${f.name}`].sha256, f.name).toBe(createHash('sha256').update(f.bytes).digest('hex'));

  // Playground: the same prompt through the prompted baseline, the base model and the tuned one.
  await page.goto('/#/playground');
  await page.getByLabel('Prompt', { exact: true }).fill('Dinner with Chen on Friday at 7 pm');
  await page.getByLabel('Adapter', { exact: true }).selectOption({ index: 1 });
  await page.getByLabel('Max new tokens').fill('16');
  await expect(page.getByTestId('baseline-empty')).toBeVisible();
  await page.getByText('Baseline prompt: system prompt and few-shot examples').click();
  await page.getByLabel('System prompt').fill('Reply with one calendar line: Event | Day | Time.');
  await page.getByTestId('generate').click();
  const cols = page.getByTestId('playground-columns');
  for (const col of ['baseline', 'base', 'tuned']) await expect(cols.locator(`[data-col="${col}"] [data-testid="gen-stats"]`)).toContainText(/\d+ tokens/, { timeout: 120_000 });
  await page.screenshot({ path: 'e2e/artifacts/playground.png', fullPage: true });

  // After a reload: the run's notes, its adapter, and its curves on the Train screen are still there.
  await page.goto('/#/adapters');
  await page.getByRole('textbox', { name: /^Notes for / }).first().fill('rank 8 on the calendar sample');
  await page.getByRole('textbox', { name: /^Notes for / }).first().blur(); // blur saves the notes
  await page.waitForTimeout(500); // one IndexedDB put
  await page.reload();
  await expect(page.getByRole('textbox', { name: /^Notes for / }).first()).toHaveValue('rank 8 on the calendar sample');
  await expect(page.getByTestId('adapters').locator('tbody tr')).toHaveCount(1);
  await page.goto('/#/train');
  await expect(page.getByTestId('live-charts').locator('.chart').first().locator('.chart-empty')).toHaveCount(0);
  expect(errors).toEqual([]);
});
