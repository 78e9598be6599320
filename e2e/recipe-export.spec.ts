// "Export as recipe" on the Runs screen: a completed run stored with its training record and its
// dataset downloads as the Axolotl or TRL folder, zipped, with YAML a maintained parser reads.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { expect, test } from '@playwright/test';
import { strFromU8, unzipSync } from 'fflate';
import { parse as parseYaml } from 'yaml';
import { DB_NAME } from '../src/persist/db';
import { putRecords } from './idb-seed';
import type { RunRecord } from '../src/persist/records';
import type { RunRecord as TrainingRecord } from '../src/train/recipe/run-record';
import { DEFAULT_SETTINGS } from '../src/train/settings';

const text = Array.from({ length: 10 }, (_, i) => JSON.stringify({ messages: [{ role: 'user', content: `q${i}` }, { role: 'assistant', content: `a${i}` }] })).join('\n') + '\n';
const settings = { ...DEFAULT_SETTINGS, valSplit: 0.2 };
const record: TrainingRecord = {
  objective: { kind: 'sft' },
  settings,
  engine: { packing: true, maxGradNorm: 1, weightDecay: 0, weights: 'f32', recompute: 'auto' },
  data: { file: 'chat.jsonl', sha256: createHash('sha256').update(text).digest('hex'), excludeInvalid: false, dedupe: false, examples: 10 },
  base: { id: 'org/tiny-llama', revision: 'abc123' },
};

test('a completed run downloads as an Axolotl and a TRL recipe', async ({ page }) => {
  await page.goto('/#/adapters');
  await expect.poll(() => page.evaluate(async (name) => (await indexedDB.databases()).some((d) => d.name === name), DB_NAME)).toBe(true);
  const now = Date.now();
  const bytes = [...new TextEncoder().encode(text)];
  const base = { createdAt: now, updatedAt: now, datasetId: 'ds-recipe', datasetName: 'chat.jsonl', model: { id: 'org/tiny-llama', source: 'hub', revision: 'abc123' } as const, settings, notes: '', step: 4, totalSteps: 4, checkpointStep: null, adapterId: null, error: null };
  const runs: RunRecord[] = [
    { ...base, id: 'run-recipe', name: 'recipe run', status: 'completed', trainingRecord: record },
    { ...base, id: 'run-old', name: 'old run', status: 'completed', createdAt: now - 1000 },
  ];
  await putRecords(page, { datasets: [{ id: 'ds-recipe', name: 'chat.jsonl', bytes, size: bytes.length, createdAt: now, format: 'chat', mapping: { request: {}, excludeInvalid: false, removeDuplicates: false }, examples: 10, excludedRows: 0 }], runs });
  await page.reload();

  // A run stored before runs kept their record says why it cannot be exported.
  const old = page.getByTestId('runs').locator('tr', { hasText: 'old run' });
  await expect(old.getByRole('button', { name: 'Export as recipe' })).toBeDisabled();
  await expect(old).toContainText('stored before runs kept their training record');

  const row = page.getByTestId('runs').locator('tr', { hasText: 'recipe run' });
  await row.getByRole('button', { name: 'Export as recipe' }).click();
  const group = row.getByRole('group', { name: 'Recipe for recipe run' });
  await group.getByLabel('GPUs').fill('2');

  const expected = {
    axolotl: ['README.md', 'config.yml', 'data/train.jsonl', 'data/val.jsonl', 'deepspeed_zero2.json'],
    trl: ['README.md', 'accelerate.yaml', 'data/train.jsonl', 'data/val.jsonl', 'train.py'],
  };
  for (const target of ['axolotl', 'trl'] as const) {
    await group.getByLabel('Trainer').selectOption(target);
    const dl = page.waitForEvent('download');
    await group.getByRole('button', { name: 'Download recipe (.zip)' }).click();
    const file = await dl;
    expect(file.suggestedFilename()).toBe(`recipe-run-${target}.zip`);
    const zip = unzipSync(new Uint8Array(await readFile((await file.path())!)));
    const files = Object.fromEntries(Object.entries(zip).map(([p, b]) => [p.replace(`recipe-run-${target}/`, ''), strFromU8(b)]));
    expect(Object.keys(files).sort()).toEqual(expected[target]);
    expect(files['data/train.jsonl'].trim().split('\n')).toHaveLength(8);
    if (target === 'axolotl') {
      const cfg = parseYaml(files['config.yml']) as Record<string, unknown>;
      expect(cfg).toMatchObject({ base_model: 'org/tiny-llama', revision_of_model: 'abc123', adapter: 'lora', deepspeed: 'deepspeed_zero2.json' });
    } else {
      expect(parseYaml(files['accelerate.yaml'])).toMatchObject({ num_processes: 2, distributed_type: 'MULTI_GPU' });
      expect(files['train.py']).toContain('SFTTrainer');
    }
  }
  await expect(page.getByRole('alert')).toHaveCount(0);
});
