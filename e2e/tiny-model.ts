// The tiny random Llama test fixture as a model folder, imported on the Model screen (through the
// worker, into the browser's cache) and chosen: the start of every spec that trains in Chromium.
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, type Page } from '@playwright/test';
import { buildTinyModel } from '../test/fixtures/tiny-model';

/** Writes the tiny model (`seed`) into a temporary `tiny-llama` folder and imports it; resolves once it is cached. */
export async function importTinyModel(page: Page, seed: number): Promise<void> {
  const dir = join(await mkdtemp(join(tmpdir(), 'studio-e2e-')), 'tiny-llama');
  await mkdir(dir);
  for (const [name, data] of Object.entries(buildTinyModel({ seed }).files)) await writeFile(join(dir, name), data);
  await page.goto('/#/model');
  await page.getByTestId('model-folder').locator('input[type=file]').setInputFiles(dir);
  await expect(page.getByTestId('model-cached')).toBeVisible();
}
