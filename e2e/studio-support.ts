// Shared studio set-up for the e2e specs, so each spec says what it tests rather than how it
// got there: the tiny random Llama (test fixture) imported as a local folder, a dataset saved
// on the Data screen, training settings typed on the Train screen and a run trained to the end;
// and the privacy check: a dataset of unique markers, the requests a browser context made, and
// which of them carry any marker.
import { randomUUID } from 'node:crypto';
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { expect, type BrowserContext, type Page } from '@playwright/test';
import { buildTinyModel, type TinyModelOptions } from '../test/fixtures/tiny-model';

/** Model files (name → contents) written into a fresh folder named `name`; returns its path. */
export async function modelFolder(files: Record<string, string | Uint8Array>, name = 'tiny-llama'): Promise<string> {
  const dir = join(await mkdtemp(join(tmpdir(), 'studio-e2e-')), name);
  await mkdir(dir);
  for (const [file, data] of Object.entries(files)) await writeFile(join(dir, file), data);
  return dir;
}

/** Imports a model folder on the Model screen (through the worker, into the browser's cache). */
export async function importModelFolder(page: Page, dir: string): Promise<void> {
  await page.goto('/#/model');
  await page.getByTestId('model-folder').locator('input[type=file]').setInputFiles(dir);
  // The folder becomes the chosen model when its import ends ("On this device" alone may be an
  // earlier model's, in a page that imported another before).
  await expect(page.getByTestId('model-choice').getByRole('heading')).toHaveText(`Chosen: ${basename(dir)}`);
  await expect(page.getByTestId('model-cached')).toBeVisible();
}

/** The tiny random Llama imported as the local folder `name`; returns its files. */
export async function importTinyModel(page: Page, opts: TinyModelOptions = { seed: 7 }, name = 'tiny-llama'): Promise<Record<string, string | Uint8Array>> {
  const files = buildTinyModel(opts).files;
  await importModelFolder(page, await modelFolder(files, name));
  return files;
}

/** Saves a dataset on the Data screen: the built-in sample, or a file of `text`; waits for `examples` rows. */
export async function saveDataset(page: Page, data: 'sample' | { name: string; text: string; examples: number }): Promise<void> {
  await page.goto('/#/data');
  if (data === 'sample') await page.getByTestId('load-sample').click();
  else await page.getByTestId('dataset-drop').locator('input[type=file]').setInputFiles({ name: data.name, mimeType: 'application/jsonl', buffer: Buffer.from(data.text) });
  await expect(page.getByTestId('example-count')).toHaveText(String(data === 'sample' ? 300 : data.examples));
  await page.getByTestId('save-dataset').click();
  await expect(page.getByTestId('dataset-saved')).toBeVisible();
}

/** Training settings by their label on the Train screen: numbers typed, choices selected. */
export type TrainSettingsByLabel = Record<string, string>;

/** Opens the Train screen (once the worker has planned the run) and types the settings. */
export async function fillTrainSettings(page: Page, settings: TrainSettingsByLabel): Promise<void> {
  await page.goto('/#/train');
  // Planned steps come from the worker's session plan (the saved dataset packed with this model's tokenizer).
  await expect(page.getByTestId('planned-steps')).toHaveText(/^[1-9]\d*$/, { timeout: 60_000 });
  for (const [label, v] of Object.entries(settings)) {
    // Form controls only: the live charts carry labels like "Learning rate" too.
    const field = page.locator('input, select, textarea').and(page.getByLabel(label, { exact: true }));
    if ((await field.evaluate((e) => e.tagName)) === 'SELECT') await field.selectOption(v);
    else await field.fill(v);
  }
}

/** Types the settings, starts the run and waits until all `Max steps` steps are done. */
export async function trainToCompletion(page: Page, settings: TrainSettingsByLabel, timeout = 240_000): Promise<void> {
  await fillTrainSettings(page, settings);
  const steps = settings['Max steps'];
  if (!steps) throw new Error('trainToCompletion: give “Max steps”, so the run ends at a known step');
  await expect(page.getByTestId('planned-steps')).toHaveText(steps);
  await page.getByTestId('start-run').click();
  await expect(page.getByTestId('run-status')).toContainText(`step ${steps} / ${steps} · completed`, { timeout });
}

/** Generates on the Playground with the newest adapter; waits for the base and tuned columns' output and returns the columns. */
export async function generateInPlayground(page: Page, prompt: string, maxNewTokens: number) {
  await page.goto('/#/playground');
  await page.getByLabel('Prompt', { exact: true }).fill(prompt);
  await page.getByLabel('Adapter', { exact: true }).selectOption({ index: 1 });
  await page.getByLabel('Max new tokens').fill(String(maxNewTokens));
  await page.getByTestId('generate').click();
  const cols = page.getByTestId('playground-columns');
  for (const col of ['base', 'tuned']) await expect(cols.locator(`[data-col="${col}"] [data-testid="gen-stats"]`)).toContainText(/\d+ tokens/, { timeout: 120_000 });
  return cols;
}

/** A chat dataset where every user and assistant turn carries its own marker; `needles` is every string that must never leave the device. */
export function markedDataset(n: number) {
  const run = randomUUID().replace(/-/g, '').slice(0, 12);
  const markers: string[] = [];
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const q = `QMARK${run}q${i}`;
    const a = `AMARK${run}a${i}`;
    markers.push(q, a);
    lines.push(JSON.stringify({ messages: [{ role: 'user', content: `Please file the note ${q} under travel.` }, { role: 'assistant', content: `Filed ${a} under travel.` }] }));
  }
  const fileName = `private-notes-${run}.jsonl`;
  // Not a marker, not the file name, not the run id that every marker shares.
  return { run, markers, text: lines.join('\n') + '\n', fileName, needles: [...markers, fileName, run] };
}

export interface SeenRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: Buffer | null;
  from: string;
}

/** Records every request of the context: its pages, their workers and the service worker (Hub requests answered by a route included). */
export function recordRequests(context: BrowserContext, seen: SeenRequest[] = []): SeenRequest[] {
  context.on('request', (r) => seen.push({ url: r.url(), method: r.method(), headers: r.headers(), body: r.postDataBuffer(), from: r.serviceWorker() ? 'service worker' : 'page or worker' }));
  return seen;
}

/** A recorded request as text to search: where it went, and its URL, headers and body. */
export const requestText = (s: SeenRequest) => ({ where: `${s.method} ${s.url}`, text: `${s.url}\n${JSON.stringify(s.headers)}\n${s.body?.toString('latin1') ?? ''}` });

/** Every place a needle (dataset text) appears in the traffic, as "<request> carries <needle>". */
export function dataLeaks(needles: readonly string[], haystacks: readonly { where: string; text: string }[]): string[] {
  return haystacks.flatMap((h) => needles.filter((n) => h.text.includes(n)).map((n) => `${h.where} carries ${n}`));
}
