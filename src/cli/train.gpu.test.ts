// `lora-studio train` end to end on Dawn: JSON progress lines, a PEFT adapter that imports onto
// the base, --resume from the checkpoint, and bad input leaving nothing behind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { decodeRunRecord, TRAINING_SETTINGS_FILE } from '../train/recipe/run-record';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './run-cli.testutil';
import { writeTinyModel, type TinyModel } from '../../test/fixtures/tiny-model';
import { importPeft } from '../adapters/peft';
import { memorySource, SafetensorsFile } from '../engine/model/safetensors';
import { checkpointPath } from './commands/train';

let dir: string;
let modelDir: string;
let dataFile: string;
let model: TinyModel;

const run = runCli;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lora-train-'));
  modelDir = join(dir, 'model');
  model = await writeTinyModel(modelDir, { seed: 3 });
  dataFile = join(dir, 'data.jsonl');
  const rows = Array.from({ length: 24 }, (_, i) => JSON.stringify({ messages: [{ role: 'system', content: 's' }, { role: 'user', content: `q${i % 4}` }, { role: 'assistant', content: `a${i % 4}` }] }));
  await writeFile(dataFile, rows.join('\n') + '\n');
});

afterAll(() => rm(dir, { recursive: true, force: true }));

const common = ['--seq-len', '64', '--batch', '2', '--grad-accum', '1', '--rank', '4', '--alpha', '8', '--lr', '0.005', '--schedule', 'constant', '--warmup', '0', '--val-split', '0.2', '--eval-every', '2', '--weights', 'f32', '--json'];

describe('lora-studio train', () => {
  it('streams one JSON object per step and writes a PEFT adapter', async () => {
    const out = join(dir, 'adapter');
    const r = await run(['train', '--model', modelDir, '--data', dataFile, '--out', out, '--steps', '4', ...common]);
    expect(r.code, r.err).toBe(0);
    // With --json stdout is JSON lines only; the run's first words, the weights it uses, go to stderr.
    expect(r.err.split('\n')[0]).toBe('weights: f32 (as requested)');
    const lines = r.out.map((l) => JSON.parse(l));
    const steps = lines.filter((l) => 'loss' in l);
    expect(steps.map((l) => l.step)).toEqual([1, 2, 3, 4]);
    for (const s of steps) {
      expect(Number.isFinite(s.loss) && s.lr === 0.005 && s.grad_norm > 0 && s.tokens_per_s > 0).toBe(true);
    }
    expect(lines.filter((l) => 'val_loss' in l).map((l) => l.step)).toEqual([2, 4]);
    expect((await readdir(out)).sort()).toEqual(['README.md', 'adapter_config.json', 'adapter_model.safetensors', TRAINING_SETTINGS_FILE]);
    // The run record `export --format axolotl|trl` reads: the settings as run, the engine options, the data selection.
    const record = decodeRunRecord(await readFile(join(out, TRAINING_SETTINGS_FILE), 'utf8'));
    expect(record.settings).toMatchObject({ rank: 4, alpha: 8, maxSteps: 4, seqLen: 64, valSplit: 0.2, schedule: 'constant' });
    expect(record.engine).toMatchObject({ weights: 'f32', packing: true, maxGradNorm: 1 });
    expect(record.data).toMatchObject({ file: 'data.jsonl', excludeInvalid: false, dedupe: false, examples: 24 });
    expect(record.data.sha256).toMatch(/^[0-9a-f]{64}$/);
    const adapter = await importPeft(
      { adapterConfig: await readFile(join(out, 'adapter_config.json'), 'utf8'), weights: await SafetensorsFile.open(memorySource(await readFile(join(out, 'adapter_model.safetensors')))) },
      model.config,
    );
    expect(adapter.config.r).toBe(4);
    // Trained: B moved away from its zero initialisation.
    expect(adapter.layers[0].q_proj!.B.some((x) => x !== 0)).toBe(true);
  });

  it('--resume continues from the checkpoint exactly like one uninterrupted run', async () => {
    const losses = (r: { out: string[] }) => r.out.map((l) => JSON.parse(l)).filter((l) => 'loss' in l);
    const full = await run(['train', '--model', modelDir, '--data', dataFile, '--out', join(dir, 'full'), '--steps', '4', ...common]);
    expect(full.code, full.err).toBe(0);
    // The same run in two parts: two steps (checkpointed at its end), then --resume to four.
    const part = join(dir, 'part');
    const first = await run(['train', '--model', modelDir, '--data', dataFile, '--out', part, '--steps', '2', ...common]);
    expect(first.code, first.err).toBe(0);
    expect(existsSync(checkpointPath(part))).toBe(true);
    const second = await run(['train', '--model', modelDir, '--data', dataFile, '--out', part, '--steps', '4', '--resume', '--force', ...common]);
    expect(second.code, second.err).toBe(0);
    expect(losses(second).map((l) => l.step)).toEqual([3, 4]);
    // Same batches, dropout masks and AdamW state on the same device: the same arithmetic.
    expect(losses(second).map((l) => l.loss)).toEqual(losses(full).slice(2).map((l) => l.loss));
  });

  it('--resume with a different rank is refused with the reason', async () => {
    const part = join(dir, 'part');
    const r = await run(['train', '--model', modelDir, '--data', dataFile, '--out', part, '--steps', '6', '--resume', '--force', ...common, '--rank', '8']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/different rank or target modules/);
  });

  it('--adapter continues training an existing adapter (its weights are the starting point)', async () => {
    const first = join(dir, 'adapter');
    const loadAdapter = async (d: string) =>
      importPeft({ adapterConfig: await readFile(join(d, 'adapter_config.json'), 'utf8'), weights: await SafetensorsFile.open(memorySource(await readFile(join(d, 'adapter_model.safetensors')))) }, model.config);
    // One step at a vanishing learning rate: the result must be the starting adapter, not a fresh one.
    const next = join(dir, 'continued');
    const flags = common.filter((_, i, a) => !['--rank', '--alpha', '--lr'].includes(a[i]) && !['--rank', '--alpha', '--lr'].includes(a[i - 1]));
    const r = await run(['train', '--model', modelDir, '--data', dataFile, '--out', next, '--steps', '1', '--adapter', first, '--lr', '1e-9', ...flags]);
    expect(r.code, r.err).toBe(0);
    const [a, b] = [await loadAdapter(first), await loadAdapter(next)];
    expect(b.config.r).toBe(a.config.r);
    const A0 = a.layers[1].down_proj!.B;
    const A1 = b.layers[1].down_proj!.B;
    expect(Math.max(...A0.map((x, i) => Math.abs(x - A1[i])))).toBeLessThan(1e-6);
    expect(A0.some((x) => x !== 0)).toBe(true);
    const clash = await run(['train', '--model', modelDir, '--data', dataFile, '--out', join(dir, 'clash'), '--adapter', first, '--rank', '8', '--steps', '1']);
    expect(clash.code).toBe(1);
    expect(clash.err).toMatch(/--rank 8 contradicts the adapter/);
  });

  it('invalid rows stop the run with the row named, and nothing is written', async () => {
    const bad = join(dir, 'bad.jsonl');
    await writeFile(bad, (await readFile(dataFile, 'utf8')) + '{"messages": "nope"}\n');
    const out = join(dir, 'never');
    const r = await run(['train', '--model', modelDir, '--data', bad, '--out', out, '--steps', '2', ...common]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/invalid rows; pass --exclude-invalid/);
    expect(existsSync(out)).toBe(false);
  });

  it('--objective dpo trains on preference pairs with TRL metric names (step and held out); the record names the objective; mismatched data is refused', async () => {
    const pref = join(dir, 'pref.jsonl');
    await writeFile(pref, Array.from({ length: 16 }, (_, i) => JSON.stringify({ prompt: `q${i % 4} r${i}:`, chosen: ' yes', rejected: ' no' })).join('\n') + '\n');
    const out = join(dir, 'dpo');
    const r = await run(['train', '--model', modelDir, '--data', pref, '--out', out, '--steps', '2', '--objective', 'dpo', '--beta', '0.2', ...common]);
    expect(r.code, r.err).toBe(0);
    const lines = r.out.map((l) => JSON.parse(l));
    const steps = lines.filter((l) => 'loss' in l);
    expect(steps.map((l) => l.step)).toEqual([1, 2]);
    // Policy = reference at the first step: ln 2, and every TRL metric is there.
    expect(Math.abs(steps[0].loss - Math.LN2)).toBeLessThan(1e-6);
    for (const k of ['rewards/chosen', 'rewards/rejected', 'rewards/margins', 'rewards/accuracies', 'logps/chosen', 'logps/rejected']) expect(Number.isFinite(steps[1][k]), k).toBe(true);
    const evals = lines.filter((l) => 'val_loss' in l);
    expect(evals.map((l) => l.step)).toEqual([2]);
    expect(Number.isFinite(evals[0]['eval_rewards/accuracies'])).toBe(true);
    const record = decodeRunRecord(await readFile(join(out, TRAINING_SETTINGS_FILE), 'utf8'));
    expect(record.objective).toEqual({ kind: 'dpo', beta: 0.2, labelSmoothing: 0 });
    expect(record.engine.packing).toBe(false);

    const sft = await run(['train', '--model', modelDir, '--data', pref, '--out', join(dir, 'never-sft'), '--steps', '1', ...common]);
    expect(sft.code).toBe(1);
    expect(sft.err).toMatch(/--data .*pref\.jsonl: the dataset holds 16 preference pairs .*choose the DPO or ORPO objective/);
    const orpo = await run(['train', '--model', modelDir, '--data', dataFile, '--out', join(dir, 'never-orpo'), '--steps', '1', '--objective', 'orpo', ...common]);
    expect(orpo.code).toBe(1);
    expect(orpo.err).toMatch(/ORPO trains on preference pairs .* 24 examples with one answer each/);
  });

  it('a --weights q4 run records its quantized base, and exports as QLoRA (Axolotl load_in_4bit + qlora, TRL 4-bit NF4 BitsAndBytesConfig)', async () => {
    const qDir = join(dir, 'q-model');
    await writeTinyModel(qDir, { seed: 5, intermediateSize: 64 }); // Q4_0 rows are whole blocks of 32
    const out = join(dir, 'adapter-q4');
    const r = await run(['train', '--model', qDir, '--data', dataFile, '--out', out, '--steps', '2', ...common.filter((a) => a !== 'f32' && a !== '--weights'), '--weights', 'q4']);
    expect(r.code, r.err).toBe(0);
    expect(decodeRunRecord(await readFile(join(out, TRAINING_SETTINGS_FILE), 'utf8')).engine.weights).toBe('q4');
    for (const format of ['axolotl', 'trl'] as const) {
      const e = await run(['export', '--format', format, '--model', qDir, '--adapter', out, '--data', dataFile, '--out', join(dir, `q4-${format}`)]);
      expect(e.code, e.err).toBe(0);
    }
    const cfg = await readFile(join(dir, 'q4-axolotl', 'config.yml'), 'utf8');
    expect(cfg).toContain('load_in_4bit: true\nload_in_8bit: false\nbnb_config_kwargs:\n  bnb_4bit_quant_type: nf4\n  bnb_4bit_use_double_quant: true\nadapter: qlora\n');
    expect(await readFile(join(dir, 'q4-trl', 'train.py'), 'utf8')).toContain('BitsAndBytesConfig(\n    load_in_4bit=True,\n    bnb_4bit_quant_type="nf4",');
    expect(await readFile(join(dir, 'q4-trl', 'README.md'), 'utf8')).toContain('not our GGUF blocks');
  });

  it('rejects bad hyperparameters before touching the GPU', async () => {
    const r = await run(['train', '--model', modelDir, '--data', dataFile, '--out', join(dir, 'x'), '--rank', '0']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/--rank 0: must be a whole number from 1 to 256/);
  });
});
