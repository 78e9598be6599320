// GGUF repositories on the Hub against the mock Hub: the listing (tree API) with quant types from
// file names, base_model from the card, the default pick, and the download of one file with the
// original model's tokenizer, checked from its header (Range requests) before the weights come.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startMockHub, tinyModelRepo, type MockHub } from '../../test/mock-hub';
import { buildTinyModel, TOKENIZER_FILES, tinyGgufBytes } from '../../test/fixtures/tiny-model';
import { collectChunks, ggufChunks, kv, readGguf } from '../engine/model/gguf-format';
import { memorySource } from '../engine/model/safetensors';
import { GGUF_BASE_FILE, openModelFiles } from '../engine/model/model-files';
import { defaultGgufFile, inspectHubRepo, parseBaseModel, quantOfFileName, type HubGgufFile } from './gguf-repo';
import { downloadModel } from './download';
import { MemoryStore } from './store';
import { listCachedModels, openCachedModel } from './cache';
import { HubError } from './errors';
import type { HubTarget } from './http';

let hub: MockHub;
let q8: Uint8Array;
const tiny = buildTinyModel({ layers: 2, hiddenSize: 64, numHeads: 4, numKvHeads: 2, intermediateSize: 96, seed: 61 });
const README = '---\nlicense: apache-2.0\nbase_model:\n- acme/tiny-original\ntags:\n- gguf\n---\n# Tiny GGUF\n';

beforeAll(async () => {
  q8 = await tinyGgufBytes(tiny, 'Q8_0');
  const q4 = await tinyGgufBytes(tiny, 'Q4_0');
  const g = await readGguf(memorySource(q8));
  const kvs = [...g.kv.values()].map((k) => (k.key === 'general.architecture' ? kv.str('general.architecture', 'phi3') : k));
  const phi3 = await collectChunks(ggufChunks(kvs, g.tensors.map((t) => ({ name: t.name, shape: t.shape, type: t.typeName! })), (s) => g.readRaw(s.name)));
  const tokenizer = Object.fromEntries(TOKENIZER_FILES.map((f) => [f, tiny.files[f] as string]));
  const other = buildTinyModel({ seed: 51, tokenizer: 'llama' });
  hub = await startMockHub({
    repos: {
      'acme/tiny-GGUF': { files: { 'README.md': README, 'tiny-Q8_0.gguf': q8, 'tiny-Q4_0.gguf': q4, 'mmproj-F16.gguf': 'x', 'phi/tiny-phi3-Q8_0.gguf': phi3 } },
      'acme/tiny-original': { files: { ...tokenizer, 'config.json': '{}' } },
      'acme/other-vocab': { files: { 'tokenizer.json': other.files['tokenizer.json'] as string, 'tokenizer_config.json': other.files['tokenizer_config.json'] as string } },
      'acme/tiny-llama': { files: tinyModelRepo() },
    },
  });
});
afterAll(() => hub.close());
beforeEach(() => {
  hub.requests.length = 0;
});

const target = (repo: string): HubTarget => ({ baseUrl: hub.url, repo, revision: 'main', fetch: globalThis.fetch.bind(globalThis) });

describe('GGUF repositories on the Hub', () => {
  it('reads the quant type from a file name', () => {
    expect(quantOfFileName('Qwen3-0.6B-Q4_K_M.gguf')).toBe('Q4_K_M');
    expect(quantOfFileName('Llama-3.2-1B-Instruct-Q8_0.gguf')).toBe('Q8_0');
    expect(quantOfFileName('model.IQ2_XXS.gguf')).toBe('IQ2_XXS');
    expect(quantOfFileName('sub/Qwen3-0.6B-BF16.gguf')).toBe('BF16');
    expect(quantOfFileName('gemma-3-1b-it-q4_0.gguf')).toBe('Q4_0');
    expect(quantOfFileName('Qwen3-0.6B-Q4_K_M-00001-of-00002.gguf')).toBe('Q4_K_M');
    expect(quantOfFileName('model.gguf')).toBeNull();
  });

  it('reads base_model from a card’s front matter (string, list, quoted, flow list), null without one', () => {
    expect(parseBaseModel(README)).toBe('acme/tiny-original');
    expect(parseBaseModel('---\nbase_model: Qwen/Qwen3-0.6B\n---\n')).toBe('Qwen/Qwen3-0.6B');
    expect(parseBaseModel('---\nbase_model: "meta-llama/Llama-3.2-1B-Instruct"\n---\n')).toBe('meta-llama/Llama-3.2-1B-Instruct');
    expect(parseBaseModel('---\nbase_model: [google/gemma-3-1b-it, x/y]\n---\n')).toBe('google/gemma-3-1b-it');
    expect(parseBaseModel('# no front matter\nbase_model: a/b\n')).toBeNull();
    expect(parseBaseModel('---\nlicense: mit\n---\n')).toBeNull();
  });

  it('lists a GGUF repo’s files with sizes, quant and storage, most precise first, with its base model; a model repo is a model', async () => {
    const r = await inspectHubRepo(target('acme/tiny-GGUF'));
    expect(r.kind).toBe('gguf');
    if (r.kind !== 'gguf') return;
    expect(r.baseModel).toBe('acme/tiny-original');
    expect(r.files.map((f) => [f.name, f.quant, f.storage])).toEqual([
      ['phi/tiny-phi3-Q8_0.gguf', 'Q8_0', 'q8'],
      ['tiny-Q8_0.gguf', 'Q8_0', 'q8'],
      ['tiny-Q4_0.gguf', 'Q4_0', 'q4'],
    ]);
    expect(r.files[1].size).toBe(q8.byteLength);
    expect(await inspectHubRepo(target('acme/tiny-llama'))).toEqual({ kind: 'model' });
    const missing = await inspectHubRepo(target('acme/nothing')).catch((e: unknown) => e);
    expect((missing as HubError).code).toBe('not-found');
  });

  it('picks by the storage the auto rule chose: that class, most precise; else the nearest smaller; unreadable quants never', () => {
    const f = (name: string, quant: string | null, storage: HubGgufFile['storage'], size = 1): HubGgufFile => ({ name, size, quant, storage });
    const files = [f('a-Q2_K.gguf', 'Q2_K', null, 1), f('a-Q4_0.gguf', 'Q4_0', 'q4', 4), f('a-Q4_K_M.gguf', 'Q4_K_M', 'q4', 5), f('a-Q8_0.gguf', 'Q8_0', 'q8', 8), f('a-F16.gguf', 'F16', 'f16', 16)];
    expect(defaultGgufFile(files, 'q4')!.quant).toBe('Q4_K_M');
    expect(defaultGgufFile(files, 'q8')!.quant).toBe('Q8_0');
    expect(defaultGgufFile(files, 'f32')!.quant).toBe('F16');
    expect(defaultGgufFile(files.slice(0, 3), 'f16')!.quant).toBe('Q4_K_M');
    expect(defaultGgufFile([files[0]], 'q4')).toBeNull();
  });

  it('downloads one file as model.gguf with config.json from its header and the original model’s tokenizer; cached like a local import', async () => {
    const store = new MemoryStore({ quota: 1 << 30 });
    const phases: string[] = [];
    const r = await downloadModel({ repo: 'acme/tiny-GGUF', baseUrl: hub.url, store, gguf: { file: 'tiny-Q8_0.gguf', tokenizerRepo: 'acme/tiny-original' }, progressIntervalMs: 0, onProgress: (p) => phases.push(p.phase) });
    expect(phases.at(-1)).toBe('done');
    expect(r.model.gguf).toEqual({ file: 'tiny-Q8_0.gguf', weightTypes: 'Q8_0', tokenizerRepo: 'acme/tiny-original' });
    expect(r.model.files.map((f) => f.name).sort()).toEqual(['config.json', 'generation_config.json', GGUF_BASE_FILE, 'tokenizer.json', 'tokenizer_config.json']);
    // The header was read with Range requests before the one whole download of the file.
    const gets = hub.requests.filter((q) => q.path.endsWith('tiny-Q8_0.gguf') && q.method === 'GET');
    expect(gets[0].range).toMatch(/^bytes=0-\d+$/);
    expect(gets.filter((q) => q.range === null)).toHaveLength(1);
    // Offline afterwards: it opens from the store alone.
    const files = await openCachedModel(store, r.model.key);
    const opened = await openModelFiles({ name: files.id, has: files.has, text: files.text, source: files.source });
    expect(opened.gguf?.weightTypes).toBe('Q8_0');
    expect(opened.config.hiddenSize).toBe(64);
    expect(JSON.parse(await files.text('config.json')).model_type).toBe('llama');
    // A second file of the same repo is cached beside it.
    await downloadModel({ repo: 'acme/tiny-GGUF', baseUrl: hub.url, store, gguf: { file: 'tiny-Q4_0.gguf', tokenizerRepo: 'acme/tiny-original' } });
    expect((await listCachedModels(store)).map((m) => m.gguf?.file).sort()).toEqual(['tiny-Q4_0.gguf', 'tiny-Q8_0.gguf']);
  });

  it('refuses an unsupported architecture or the wrong tokenizer from the header alone: nothing downloaded, nothing kept', async () => {
    for (const [file, tokenizerRepo, code, msg] of [
      ['phi/tiny-phi3-Q8_0.gguf', 'acme/tiny-original', 'unsupported-architecture', /phi3.*supported: llama, qwen2, qwen3, gemma3/],
      ['tiny-Q8_0.gguf', 'acme/other-vocab', 'invalid', /is not the vocabulary of/],
    ] as const) {
      hub.requests.length = 0;
      const store = new MemoryStore({ quota: 1 << 30 });
      const e = await downloadModel({ repo: 'acme/tiny-GGUF', baseUrl: hub.url, store, gguf: { file, tokenizerRepo } }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(HubError);
      expect((e as HubError).code).toBe(code);
      expect((e as HubError).message).toMatch(msg);
      expect(hub.requests.filter((q) => q.path.endsWith('.gguf') && q.method === 'GET' && q.range === null)).toEqual([]);
      expect(await store.keys()).toEqual([]);
    }
  });
});
