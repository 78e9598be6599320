// `export --format axolotl|trl`: the CLI reads the run record `train` wrote, checks the adapter and
// the dataset file against it, and writes the recipe folder (its contents are tested in train/recipe/).
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { unzipSync, strFromU8 } from 'fflate';
import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './run-cli.testutil';
import { writeTinyModel, type TinyModel } from '../../test/fixtures/tiny-model';
import { exportPeft } from '../adapters/peft';
import { linearShape } from '../engine/model/config';
import { DEFAULT_SETTINGS } from '../train/settings';
import { encodeRunRecord, TRAINING_SETTINGS_FILE, type RunRecord } from '../train/recipe/run-record';

// The studio's side of the parity test: its database is a stand-in holding one run and its dataset.
const repo = vi.hoisted(() => ({ getRun: vi.fn(), getDataset: vi.fn(), updateRun: vi.fn(), deleteRun: vi.fn(), deleteAdapter: vi.fn() }));
vi.mock('../persist/repo', () => repo);
vi.mock('../worker/training-service', () => ({ currentRunId: () => null }));
const { exportRecipe } = await import('../worker/runs-service');
const { trainingExamples } = await import('../worker/dataset-service');

let dir: string;
let record: RunRecord;
let model: TinyModel;
let modelDir: string;
let adapterDir: string;
let dataFile: string;
const rows = Array.from({ length: 10 }, (_, i) => JSON.stringify({ messages: [{ role: 'user', content: `q${i}` }, { role: 'assistant', content: `a${i}` }] }));
rows.push('{"messages": 3}'); // one invalid row: the run used --exclude-invalid

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lora-recipe-'));
  modelDir = join(dir, 'model');
  model = await writeTinyModel(modelDir, { seed: 3 });
  dataFile = join(dir, 'train.jsonl');
  const data = rows.join('\n') + '\n';
  await writeFile(dataFile, data);
  adapterDir = join(dir, 'adapter');
  await mkdir(adapterDir);
  const targets = ['q_proj', 'v_proj'] as const;
  const layer = () => Object.fromEntries(targets.map((m) => {
    const { inFeatures, outFeatures } = linearShape(model.config, m);
    return [m, { A: new Float32Array(4 * inFeatures).fill(0.01), B: new Float32Array(outFeatures * 4), inFeatures, outFeatures }];
  }));
  const adapter = { config: { r: 4, alpha: 8, dropout: 0, targetModules: [...targets], useRslora: false, baseModel: 'tiny' }, layers: Array.from({ length: model.config.numLayers }, layer) };
  for (const [name, bytes] of Object.entries(exportPeft(adapter, model.config))) await writeFile(join(adapterDir, name), bytes);
  record = {
    objective: { kind: 'sft' },
    settings: { ...DEFAULT_SETTINGS, rank: 4, alpha: 8, targets: [...targets], valSplit: 0.2 },
    engine: { packing: true, maxGradNorm: 1, weightDecay: 0, weights: 'f32', recompute: 'auto' },
    data: { file: 'train.jsonl', sha256: createHash('sha256').update(data).digest('hex'), excludeInvalid: true, dedupe: false, examples: 10 },
    base: { id: 'org/tiny', revision: null },
  };
  await writeFile(join(adapterDir, TRAINING_SETTINGS_FILE), encodeRunRecord(record));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('export --format axolotl|trl', () => {
  it.each([
    ['axolotl', ['config.yml', 'deepspeed_zero2.json']],
    ['trl', ['train.py', 'accelerate.yaml']],
  ])('%s writes the recipe folder', async (format, own) => {
    const out = join(dir, `out-${format}`);
    const r = await runCli(['export', '--format', format, '--model', modelDir, '--adapter', adapterDir, '--data', dataFile, '--out', out, '--gpus', '2']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect((await readdir(out)).sort()).toEqual(['README.md', 'data', ...own].sort());
    const train = (await readFile(join(out, 'data/train.jsonl'), 'utf8')).trim().split('\n');
    const val = (await readFile(join(out, 'data/val.jsonl'), 'utf8')).trim().split('\n');
    expect([train.length, val.length]).toEqual([8, 2]);
    expect(await readFile(join(out, 'README.md'), 'utf8')).toContain('global batch 8 sequences = micro-batch 4 × accumulation 1 × 2 GPUs');
  });

  it('refuses another dataset file, an adapter without a record, and recipe flags on other formats', async () => {
    const other = join(dir, 'other.jsonl');
    await writeFile(other, rows.slice(0, 10).join('\n') + '\n');
    let r = await runCli(['export', '--format', 'trl', '--model', modelDir, '--adapter', adapterDir, '--data', other, '--out', join(dir, 'x1')]);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/not the file the run trained on/);
    const bare = join(dir, 'bare');
    await mkdir(bare);
    for (const f of ['adapter_config.json', 'adapter_model.safetensors']) await writeFile(join(bare, f), await readFile(join(adapterDir, f)));
    r = await runCli(['export', '--format', 'axolotl', '--model', modelDir, '--adapter', bare, '--data', dataFile, '--out', join(dir, 'x2')]);
    expect(r.err).toMatch(/no training_settings\.json/);
    r = await runCli(['export', '--format', 'peft', '--model', modelDir, '--adapter', adapterDir, '--data', dataFile, '--out', join(dir, 'x3')]);
    expect(r.err).toMatch(/--data and --gpus belong to/);
    for (const x of ['x1', 'x2', 'x3']) expect(existsSync(join(dir, x))).toBe(false);
  });
});

/** Every file under `root`, by its path relative to it. */
async function treeOf(root: string, sub = ''): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of await readdir(join(root, sub), { withFileTypes: true })) {
    const rel = sub ? `${sub}/${e.name}` : e.name;
    if (e.isDirectory()) Object.assign(out, await treeOf(root, rel));
    else out[rel] = await readFile(join(root, rel), 'utf8');
  }
  return out;
}

describe('"Export as recipe" in the studio (worker) and the CLI', () => {
  const studioDataset = async () => ({ id: 'ds1', name: 'train.jsonl', bytes: new Uint8Array(await readFile(dataFile)).buffer, mapping: { request: {}, excludeInvalid: true, removeDuplicates: false } });
  const studioRun = (over: object = {}) => ({ id: 'run1', name: 'my run', status: 'completed', datasetId: 'ds1', datasetName: 'train.jsonl', trainingRecord: record, ...over });

  it('the studio records the same data provenance as the CLI for the same file', async () => {
    repo.getDataset.mockResolvedValue(await studioDataset());
    const { examples, data } = await trainingExamples('ds1');
    expect(data).toEqual(record.data);
    expect(examples).toHaveLength(10);
  });

  it.each(['axolotl', 'trl'] as const)('%s: the zip holds exactly the files the CLI writes for the same run', async (target) => {
    repo.getDataset.mockResolvedValue(await studioDataset());
    repo.getRun.mockResolvedValue(studioRun());
    const out = join(dir, `parity-${target}`);
    const r = await runCli(['export', '--format', target, '--model', modelDir, '--adapter', adapterDir, '--data', dataFile, '--out', out, '--gpus', '3']);
    expect(r.code).toBe(0);
    const zip = await exportRecipe('run1', target, 3);
    expect(zip.fileName).toBe(`my-run-${target}.zip`);
    const entries = unzipSync(zip.bytes);
    const fromZip = Object.fromEntries(Object.entries(entries).map(([p, b]) => [p.replace(`my-run-${target}/`, ''), strFromU8(b)]));
    expect(Object.keys(entries).every((p) => p.startsWith(`my-run-${target}/`))).toBe(true);
    expect(fromZip).toEqual(await treeOf(out));
  });

  // A record as the studio and `train` wrote it before the objective settings existed: settings
  // without objective/beta/labelSmoothing/orpoLambda, and the base's always-null quantization. A
  // run stored then and resumed now keeps that record (training-service keeps run.trainingRecord).
  const oldRecord = () => {
    const { objective: _o, beta: _b, labelSmoothing: _l, orpoLambda: _λ, ...settings } = record.settings;
    return { ...record, settings, base: { ...record.base, quantization: null } };
  };

  it.each(['axolotl', 'trl'] as const)('%s: a resumed run whose stored record predates the objective settings exports the same recipe as the CLI', async (target) => {
    repo.getDataset.mockResolvedValue(await studioDataset());
    repo.getRun.mockResolvedValue(studioRun({ trainingRecord: oldRecord(), checkpointStep: 2 }));
    const oldAdapter = join(dir, `old-adapter-${target}`);
    await mkdir(oldAdapter);
    for (const f of ['adapter_config.json', 'adapter_model.safetensors']) await writeFile(join(oldAdapter, f), await readFile(join(adapterDir, f)));
    await writeFile(join(oldAdapter, TRAINING_SETTINGS_FILE), JSON.stringify({ format: 'lora-studio/training-settings', version: 1, ...oldRecord() }));
    const out = join(dir, `old-${target}`);
    const r = await runCli(['export', '--format', target, '--model', modelDir, '--adapter', oldAdapter, '--data', dataFile, '--out', out, '--gpus', '2']);
    expect(r.err).toBe('');
    const zip = unzipSync((await exportRecipe('run1', target, 2)).bytes);
    const fromZip = Object.fromEntries(Object.entries(zip).map(([p, b]) => [p.replace(`my-run-${target}/`, ''), strFromU8(b)]));
    expect(fromZip).toEqual(await treeOf(out));
    expect(fromZip['README.md']).toContain('SFT with LoRA');
  });

  it('reads a stored record as the CLI reads its file: one it cannot use is refused, naming what is wrong', async () => {
    repo.getDataset.mockResolvedValue(await studioDataset());
    repo.getRun.mockResolvedValue(studioRun({ trainingRecord: { ...record, engine: { ...record.engine, weights: 'q2' } } }));
    await expect(exportRecipe('run1', 'axolotl', 1)).rejects.toThrow('the run’s training record: unknown weight storage "q2" (expected f32, f16, q8, q4)');
    repo.getRun.mockResolvedValue(studioRun({ trainingRecord: { ...record, objective: { kind: 'dpo', beta: 0.1, labelSmoothing: 0 } } }));
    await expect(exportRecipe('run1', 'trl', 1)).rejects.toThrow('the run’s training record: the objective (dpo) is not the settings\' (sft)');
  });

  it('refuses a run that did not complete, one without a training record, and one whose dataset is gone or changed', async () => {
    repo.getDataset.mockResolvedValue(await studioDataset());
    repo.getRun.mockResolvedValue(studioRun({ status: 'stopped' }));
    await expect(exportRecipe('run1', 'trl', 1)).rejects.toThrow(/Only a completed run/);
    repo.getRun.mockResolvedValue(studioRun({ trainingRecord: undefined }));
    await expect(exportRecipe('run1', 'trl', 1)).rejects.toThrow(/stored before runs kept their training record/);
    repo.getRun.mockResolvedValue(studioRun());
    repo.getDataset.mockResolvedValue(undefined);
    await expect(exportRecipe('run1', 'trl', 1)).rejects.toThrow(/dataset \(train\.jsonl\) is no longer saved/);
    repo.getDataset.mockResolvedValue({ ...(await studioDataset()), bytes: new TextEncoder().encode(rows.slice(0, 10).join('\n')).buffer });
    await expect(exportRecipe('run1', 'trl', 1)).rejects.toThrow(/not the file the run trained on/);
    repo.getRun.mockResolvedValue(undefined);
    await expect(exportRecipe('gone', 'trl', 1)).rejects.toThrow(/no longer exists/);
  });
});
