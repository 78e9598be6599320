import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './run-cli.testutil';
import { randomAdapter, writePeftAdapter, writeTinyModel, type TinyModel } from '../../test/fixtures/tiny-model';
import { LINEAR_MODULES } from '../engine/model/config';
import { readSafetensorsHeader, memorySource } from '../engine/model/safetensors';
import { readGguf } from '../engine/model/gguf-format';
import { planTrainingMemory } from '../train/memory-plan';
import type { WeightStorage } from '../engine/model/weights';
import { tinyLlamaTokenizerFiles } from '../../test/fixtures/tiny-tokenizer';
import { loadTokenizer } from '../data';
import { parseIds } from './engine-model';

let dir: string;
let model: TinyModel;
let modelDir: string;
let adapterDir: string;

const run = runCli;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lora-cli-'));
  modelDir = join(dir, 'model');
  model = await writeTinyModel(modelDir, { seed: 5 });
  adapterDir = join(dir, 'adapter');
  await writePeftAdapter(adapterDir, randomAdapter(model, 7), model);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('lora-studio CLI', () => {
  it('prints usage and rejects unknown commands and options', async () => {
    expect((await run(['--help'])).out.join('\n')).toContain('lora-studio <command>');
    const bad = await run(['frobnicate']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('unknown command "frobnicate"');
    const badOpt = await run(['inspect', '--nope']);
    expect(badOpt.code).toBe(1);
    expect(badOpt.err).toMatch(/nope/);
  });

  it('inspect summarises a model as JSON', async () => {
    const r = await run(['inspect', '--model', modelDir, '--json']);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out.at(-1)!);
    expect(j.model.layers).toBe(model.config.numLayers);
    expect(j.model.kvHeads).toBe(model.config.numKvHeads);
    expect(j.model.parameters).toBeGreaterThan(0);
    expect(j.model.qkNorm).toBe(false);
  });

  it('inspect reads a qwen3 model: explicit head_dim and per-head q/k norms', async () => {
    const qDir = join(dir, 'qwen3');
    const q = await writeTinyModel(qDir, { architecture: 'qwen3', headDim: 12, tied: true, seed: 6 });
    const j = JSON.parse((await run(['inspect', '--model', qDir, '--json'])).out.at(-1)!);
    expect(j.model).toMatchObject({ architecture: 'qwen3', headDim: 12, qkNorm: true, attentionBias: false, tiedEmbeddings: true });
    // Every tensor of the checkpoint, q_norm/k_norm included.
    expect(j.model.parameters).toBe([...q.weights.values()].reduce((n, w) => n + w.length, 0));
    const text = await run(['inspect', '--model', qDir]);
    expect(text.code, text.err).toBe(0);
    expect(text.out.join('\n')).toMatch(/qwen3, 2 layers, .*\(head dim 12\).*\n.*embeddings tied, per-head q\/k norms/);
  });

  it('inspect reads a gemma3_text model: its sliding-window and global layers, norms and scales', async () => {
    const gDir = join(dir, 'gemma3');
    const g = await writeTinyModel(gDir, { architecture: 'gemma3_text', layers: 3, headDim: 12, tied: true, seed: 6 });
    const j = JSON.parse((await run(['inspect', '--model', gDir, '--json'])).out.at(-1)!);
    expect(j.model).toMatchObject({ architecture: 'gemma3_text', headDim: 12, qkNorm: true, tiedEmbeddings: true, gemma: { slidingLayers: [true, false, true], slidingWindow: 3, queryPreAttnScalar: 16 } });
    // Every tensor of the checkpoint, the four layer norms and q_norm/k_norm included.
    expect(j.model.parameters).toBe([...g.weights.values()].reduce((n, w) => n + w.length, 0));
    const text = await run(['inspect', '--model', gDir]);
    expect(text.code, text.err).toBe(0);
    expect(text.out.join('\n')).toMatch(/gemma3: 2 sliding-window layers \(window 3, RoPE base 10000\), 1 global \(RoPE base 10000\); \(1 \+ w\) norms/);
  });

  it('inspect shows the engine’s memory plan at the model’s default length, and warns about a --seq-len past max_position_embeddings', async () => {
    const r = await run(['inspect', '--model', modelDir, '--json']);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out.at(-1)!);
    expect(j.model.maxPositionEmbeddings).toBe(256);
    expect(j.warnings).toEqual([]);
    // The default 512 is capped to the tiny model's 256 positions.
    const plan = (storage: WeightStorage) => planTrainingMemory(model.config, { rank: 16, targets: [...LINEAR_MODULES], batchSize: 4, seqLen: 256 }, { storage, recompute: 'auto' }, 128 * 2 ** 20);
    // The tiny model's MLP rows (48) are not whole 32-value blocks: no q8/q4 figure.
    expect(j.model.trainingMemory).toEqual({ batch: 4, seqLen: 256, rank: 16, recompute: plan('f32').recompute, f32WeightsBytes: plan('f32').totalBytes, f16WeightsBytes: plan('f16').totalBytes, q8WeightsBytes: null, q4WeightsBytes: null });
    const long = await run(['inspect', '--model', modelDir, '--seq-len', '300', '--json']);
    expect(JSON.parse(long.out.at(-1)!).warnings).toEqual([expect.stringMatching(/^--seq-len 300: sequence length 300 is longer than this model's max_position_embeddings \(256\).*train will refuse it$/)]);
    const text = await run(['inspect', '--model', modelDir, '--seq-len', '300']);
    expect(text.out.join('\n')).toMatch(/warning: --seq-len 300: .*max_position_embeddings \(256\)/);
  });

  it('inspect reports dataset row errors with their lines', async () => {
    const f = join(dir, 'bad.jsonl');
    await writeFile(f, '{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"}]}\n{oops\n');
    const r = await run(['inspect', '--data', f]);
    expect(r.code, r.err).toBe(0);
    expect(r.out.join('\n')).toMatch(/line 2: invalid JSON/);
  });

  it('inspect prints the whole report, then exits 1, when no example is valid', async () => {
    const f = join(dir, 'none-valid.jsonl');
    await writeFile(f, '{oops\n{"messages": 3}\n');
    const text = await run(['inspect', '--data', f]);
    expect(text.code).toBe(1);
    expect(text.out.join('\n')).toMatch(/2 records, 0 valid examples[\s\S]*line 1: invalid JSON/);
    expect(text.err).toBe(`lora-studio inspect: --data ${f}: the dataset cannot be used: no valid examples\n`);
    const json = await run(['inspect', '--model', modelDir, '--data', f, '--json']);
    expect(json.code).toBe(1);
    const j = JSON.parse(json.out.at(-1)!);
    expect(j.model.layers).toBe(model.config.numLayers);
    expect(j.dataset).toMatchObject({ records: 2, examples: 0, usable: false });
  });

  it('inspect exits 1 on a file error (empty or missing file), with the report still printed', async () => {
    const empty = join(dir, 'empty.jsonl');
    await writeFile(empty, '');
    const e = await run(['inspect', '--data', empty, '--json']);
    expect(e.code).toBe(1);
    expect(JSON.parse(e.out.at(-1)!).dataset).toMatchObject({ usable: false, fileErrors: [{ code: 'no-records' }] });
    expect(e.err).toMatch(/the dataset cannot be used: 1 file error \(the file holds no records\)/);
    const missing = join(dir, 'missing.jsonl');
    const m = await run(['inspect', '--model', modelDir, '--data', missing]);
    expect(m.code).toBe(1);
    expect(m.out[0]).toBe(`model ${modelDir}`);
    expect(m.out.slice(-2)).toEqual([`dataset ${missing}`, `  file error: --data ${missing}: no such file`]);
    expect(m.err).toBe(`lora-studio inspect: --data ${missing}: no such file\n`);
  });

  it('a missing model folder is one clear line on stderr and exit code 1', async () => {
    const r = await run(['inspect', '--model', join(dir, 'nope')]);
    expect(r.code).toBe(1);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/not a directory/);
  });

  it.each(['peft', 'gguf', 'merged', 'merged-gguf'])('export --format %s writes a complete folder', async (format) => {
    const out = join(dir, `out-${format}`);
    const r = await run(['export', '--model', modelDir, '--adapter', adapterDir, '--format', format, '--out', out]);
    expect(r.code, r.err).toBe(0);
    const files = (await readdir(out)).sort();
    if (format === 'peft') {
      expect(files).toEqual(['README.md', 'adapter_config.json', 'adapter_model.safetensors']);
      const header = await readSafetensorsHeader(memorySource(await readFile(join(out, 'adapter_model.safetensors'))));
      expect(header.tensors.length).toBe(model.config.numLayers * LINEAR_MODULES.length * 2);
    } else if (format === 'gguf') {
      expect(files).toEqual(['Modelfile', 'adapter.gguf']);
      const g = await readGguf(memorySource(await readFile(join(out, 'adapter.gguf'))));
      expect(g.tensors.some((t) => t.name === 'blk.0.attn_q.weight.lora_a')).toBe(true);
      expect(await readFile(join(out, 'Modelfile'), 'utf8')).toMatch(/ADAPTER \.\/adapter\.gguf/);
    } else if (format === 'merged') {
      expect(files).toContain('model.safetensors');
      expect(files).toContain('config.json');
      expect(files).toContain('tokenizer.json');
    } else {
      expect(files).toEqual(['model.gguf']);
    }
    // Nothing partial is left beside the output.
    expect((await readdir(dir)).filter((f) => f.includes('.partial-'))).toEqual([]);
  });

  it('export --format merged-gguf --gguf-type Q4_K_M writes llama-quantize\'s mix; a bad or misplaced --gguf-type is refused', async () => {
    // A 256-wide model, so that the k-quants fit (rows of whole 256-value blocks).
    const wideDir = join(dir, 'wide');
    const wide = await writeTinyModel(wideDir, { layers: 2, hiddenSize: 256, numHeads: 4, numKvHeads: 2, intermediateSize: 256, tied: false, seed: 8 });
    const wideAdapter = join(dir, 'wide-adapter');
    await writePeftAdapter(wideAdapter, randomAdapter(wide), wide);
    const out = join(dir, 'out-q4km');
    const r = await run(['export', '--model', wideDir, '--adapter', wideAdapter, '--format', 'merged-gguf', '--gguf-type', 'Q4_K_M', '--out', out]);
    expect(r.code, r.err).toBe(0);
    const g = await readGguf(memorySource(await readFile(join(out, 'model.gguf'))));
    expect(g.get('general.file_type')).toBe(15);
    const types = Object.fromEntries(g.tensors.map((t) => [t.name, t.typeName]));
    expect([types['blk.0.attn_q.weight'], types['blk.1.ffn_down.weight'], types['output.weight'], types['output_norm.weight']]).toEqual(['Q4_K', 'Q6_K', 'Q6_K', 'F32']);
    const bad = await run(['export', '--model', wideDir, '--adapter', wideAdapter, '--format', 'merged-gguf', '--gguf-type', 'Q5_K', '--out', join(dir, 'out-bad')]);
    expect(bad.err).toMatch(/--gguf-type Q5_K: expected one of F32, F16, BF16, Q8_0, Q4_0, Q4_K_M/);
    const misplaced = await run(['export', '--model', wideDir, '--adapter', wideAdapter, '--format', 'merged', '--gguf-type', 'Q8_0', '--out', join(dir, 'out-bad')]);
    expect(misplaced.err).toMatch(/--gguf-type belongs to --format merged-gguf/);
  }, 60_000);

  it('a failed export leaves no output folder behind', async () => {
    const out = join(dir, 'out-fail');
    const badAdapter = join(dir, 'bad-adapter');
    await mkdir(badAdapter);
    await writeFile(join(badAdapter, 'adapter_config.json'), '{"r": 4}');
    await writeFile(join(badAdapter, 'adapter_model.safetensors'), new Uint8Array(3));
    const r = await run(['export', '--model', modelDir, '--adapter', badAdapter, '--format', 'peft', '--out', out]);
    expect(r.code).toBe(1);
    expect(existsSync(out)).toBe(false);
    expect((await readdir(dir)).filter((f) => f.includes('.partial-'))).toEqual([]);
  });
});

describe('lora-studio inspect with a tokenizer', () => {
  it('reports token statistics and truncation for --seq-len', async () => {
    const f = join(dir, 'good.jsonl');
    const rows = Array.from({ length: 5 }, (_, i) => JSON.stringify({ messages: [{ role: 'user', content: `question ${i} `.repeat(3) }, { role: 'assistant', content: `answer ${i}` }] }));
    await writeFile(f, rows.join('\n') + '\n');
    const r = await run(['inspect', '--model', modelDir, '--data', f, '--seq-len', '16', '--json']);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out.at(-1)!);
    expect(j.dataset.examples).toBe(5);
    expect(j.dataset.stats.trainedTokens).toBeGreaterThan(0);
    expect(j.dataset.stats.trainedTokens).toBeLessThan(j.dataset.stats.totalTokens);
    expect(j.dataset.stats.truncation.overLength).toBe(5);
  });
});

describe('lora-studio train flags', () => {
  it('rejects an unknown --loss-mode and an unknown --targets module before any work', async () => {
    const data = join(dir, 'flags.jsonl');
    await writeFile(data, '{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"}]}\n');
    const mode = await run(['train', '--model', modelDir, '--data', data, '--out', join(dir, 'x'), '--loss-mode', 'bogus']);
    expect(mode.code).toBe(1);
    expect(mode.err).toMatch(/--loss-mode bogus: expected all-assistant, last-assistant, all/);
    const targets = await run(['train', '--model', modelDir, '--data', data, '--out', join(dir, 'x'), '--targets', 'q_proj,qq_proj']);
    expect(targets.code).toBe(1);
    expect(targets.err).toMatch(/--targets: unknown module qq_proj/);
    expect(existsSync(join(dir, 'x'))).toBe(false);
  });

  it('refuses a --seq-len past the model’s max_position_embeddings before any work', async () => {
    const data = join(dir, 'flags.jsonl');
    await writeFile(data, '{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"}]}\n');
    const r = await run(['train', '--model', modelDir, '--data', data, '--out', join(dir, 'long'), '--seq-len', '257']);
    expect(r.code).toBe(1);
    expect(r.err.trim()).toMatch(/--seq-len 257: sequence length 257 is longer than this model's max_position_embeddings \(256\); positions past it were never trained, so use 256 or less$/);
    expect(existsSync(join(dir, 'long'))).toBe(false);
  });
});

describe('lora-studio eval input checks', () => {
  it('rejects an unknown --loss-mode and names --exclude-invalid for invalid rows, before any GPU work', async () => {
    const bad = join(dir, 'eval-bad.jsonl');
    await writeFile(bad, '{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"}]}\n{oops\n');
    const mode = await run(['eval', '--model', modelDir, '--data', bad, '--loss-mode', 'bogus']);
    expect(mode.code).toBe(1);
    expect(mode.err).toMatch(/--loss-mode bogus: expected all-assistant, last-assistant, all/);
    const rows = await run(['eval', '--model', modelDir, '--data', bad]);
    expect(rows.code).toBe(1);
    expect(rows.err).toMatch(/1 invalid rows; pass --exclude-invalid to evaluate without them/);
  });
});

describe('logits --text', () => {
  it('starts with BOS when the tokenizer adds one (as training and generate do); --ids stays as given', () => {
    const files = tinyLlamaTokenizerFiles();
    const tok = loadTokenizer({ tokenizerJson: files.tokenizerJson, tokenizerConfig: files.tokenizerConfig });
    const ids = parseIds(undefined, 'hello world', tok, 1 << 20);
    expect(ids[0]).toBe(tok.bosTokenId);
    expect(ids.slice(1)).toEqual(tok.encode('hello world'));
    expect(parseIds('5,6', undefined, tok, 100)).toEqual([5, 6]);
  });
});
