// Local model folders: the same checks as a Hub download, used in place or imported.
import { describe, expect, it } from 'vitest';
import { tinyModelRepo } from '../../test/mock-hub';
import { importLocalModel, openLocalModel, type LocalFile } from './local';
import { MemoryStore } from './store';
import { listCachedModels, openCachedModel } from './cache';
import { openModelWeights, readModelMetadata } from './model-files';
import { HubError } from './errors';
import { buildTinyModel, TOKENIZER_FILES, tinyGgufBytes } from '../../test/fixtures/tiny-model';
import { GGUF_BASE_FILE, openModelFiles } from '../engine/model/model-files';
import { openGgufModel } from '../engine/model/gguf-model';
import { collectChunks, ggufChunks, kv, readGguf } from '../engine/model/gguf-format';
import { memorySource } from '../engine/model/safetensors';

function folder(files: Record<string, Uint8Array | string>, dir = 'tiny-llama'): LocalFile[] {
  return Object.entries(files).map(([name, data]) => {
    const f = new File([data as BlobPart], name);
    Object.defineProperty(f, 'webkitRelativePath', { value: `${dir}/${name}` });
    return f as LocalFile;
  });
}

async function code(p: Promise<unknown>): Promise<string> {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e).toBeInstanceOf(HubError);
  return (e as HubError).code;
}

describe('local model folders', () => {
  it('opens a folder in place: metadata, weights, folder name as id, extra files ignored', async () => {
    const local = await openLocalModel(folder(tinyModelRepo()));
    expect(local.model.id).toBe('tiny-llama');
    expect(local.modelType).toBe('llama');
    expect(local.used).not.toContain('README.md');
    const meta = await readModelMetadata(local.model);
    expect(meta.config.hidden_size).toBe(64);
    const w = await openModelWeights(local.model);
    expect((await w.readF32('model.layers.1.mlp.down_proj.weight')).length).toBe(64 * 128);
  });

  it('opens a sharded folder', async () => {
    const local = await openLocalModel(folder(tinyModelRepo({ shards: 2 })));
    expect((await openModelWeights(local.model)).names().length).toBe(20);
  });

  it('refuses a folder without tokenizer files, an unsupported architecture, a missing shard, no safetensors', async () => {
    const repo = tinyModelRepo({ shards: 2 });
    const { 'tokenizer.json': _t, ...noTok } = repo;
    expect(await code(openLocalModel(folder(noTok)))).toBe('missing-files');
    expect(await code(openLocalModel(folder({ ...repo, 'config.json': '{"model_type":"mamba"}' })))).toBe('unsupported-architecture');
    const { 'model-00002-of-00002.safetensors': _s, ...noShard } = repo;
    expect(await code(openLocalModel(folder(noShard)))).toBe('missing-files');
    const single = tinyModelRepo();
    const { 'model.safetensors': _w, ...noWeights } = single;
    expect(await code(openLocalModel(folder({ ...noWeights, 'pytorch_model.bin': 'x' })))).toBe('missing-files');
    expect(await code(openLocalModel(folder({ ...single, 'config.json': '{not json' })))).toBe('invalid');
  });

  it('imports a folder into the cache, then it opens like a downloaded model', async () => {
    const store = new MemoryStore({ quota: 1 << 30 });
    const cached = await importLocalModel(store, folder(tinyModelRepo()));
    expect(cached.source).toBe('local');
    expect((await listCachedModels(store)).map((m) => m.id)).toEqual(['tiny-llama']);
    const w = await openModelWeights(await openCachedModel(store, cached.key));
    expect(w.names()).toContain('model.norm.weight');
  });

  it('an import over the quota is refused and stores nothing', async () => {
    const store = new MemoryStore({ quota: 1000 });
    expect(await code(importLocalModel(store, folder(tinyModelRepo()), { storageMarginBytes: 0 }))).toBe('quota');
    expect(await store.keys()).toEqual([]);
  });

  it('a cancelled import stores nothing', async () => {
    const store = new MemoryStore();
    const ac = new AbortController();
    ac.abort();
    expect(await code(importLocalModel(store, folder(tinyModelRepo()), { signal: ac.signal }))).toBe('cancelled');
    expect(await store.keys()).toEqual([]);
  });
});

describe('a local GGUF base model: one .gguf picked with the original tokenizer files', () => {
  const tiny = buildTinyModel({ layers: 2, hiddenSize: 64, numHeads: 4, numKvHeads: 2, intermediateSize: 96, seed: 51 });
  const tokenizer = Object.fromEntries(TOKENIZER_FILES.map((f) => [f, tiny.files[f]]));

  it('opens in place: config.json built from the header, the GGUF kept as model.gguf, quant type and size reported', async () => {
    const bytes = await tinyGgufBytes(tiny, 'Q4_0');
    const local = await openLocalModel(folder({ ...tokenizer, 'tiny-Q4_0.gguf': bytes, 'README.md': 'x' }, 'tiny-gguf'));
    expect(local.used).toEqual(['config.json', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json', GGUF_BASE_FILE]);
    expect(local.gguf).toMatchObject({ file: 'tiny-Q4_0.gguf', weightTypes: 'Q4_0', quantized: true, bytes: bytes.length });
    expect(local.modelType).toBe('llama');
    // Loose files (picked together, not a folder) take the GGUF's name.
    const loose = Object.entries({ ...tokenizer, 'tiny-Q4_0.gguf': bytes }).map(([n, d]) => new File([d as BlobPart], n) as LocalFile);
    expect((await openLocalModel(loose)).model.id).toBe('tiny-Q4_0');
    expect((await readModelMetadata(local.model)).config).toMatchObject({ model_type: 'llama', hidden_size: 64, vocab_size: tiny.config.vocabSize });
    const w = await openModelWeights(local.model);
    const want = (await openGgufModel(memorySource(bytes))).weights;
    const name = 'model.layers.1.self_attn.q_proj.weight';
    expect(await w.readF32(name)).toEqual(await want.readF32(name));
    // The engine's opener (exports, the worker's sessions) sees the same model.
    const opened = await openModelFiles({ name: 'tiny-gguf', has: (f) => local.model.has(f), text: (f) => local.model.text(f), source: (f) => local.model.source(f) });
    expect(opened.config).toEqual(tiny.config);
    expect(opened.gguf?.weightTypes).toBe('Q4_0');
  });

  it('imports into the cache with its quant type; reopened, the weights are the stored blocks', async () => {
    const store = new MemoryStore({ quota: 1 << 30 });
    const cached = await importLocalModel(store, folder({ ...tokenizer, 'tiny-Q8_0.gguf': await tinyGgufBytes(tiny, 'Q8_0') }, 'tiny-gguf'));
    expect(cached.gguf).toEqual({ file: 'tiny-Q8_0.gguf', weightTypes: 'Q8_0' });
    const w = (await openModelWeights(await openCachedModel(store, cached.key))) as unknown as { info(n: string): { type: string } };
    expect(w.info('model.layers.0.mlp.down_proj.weight').type).toBe('Q8_0');
  });

  it('refuses a GGUF without the tokenizer files, two GGUFs, a tokenizer of another model and an unsupported architecture', async () => {
    const bytes = await tinyGgufBytes(tiny, 'Q8_0');
    const { 'tokenizer.json': _t, ...noTok } = tokenizer;
    const e = await openLocalModel(folder({ ...noTok, 'm.gguf': bytes })).catch((x: HubError) => x);
    expect((e as HubError).code).toBe('missing-files');
    expect((e as HubError).message).toMatch(/a GGUF base model \(m.gguf\) needs the original model's tokenizer.json picked with it/);
    expect(await code(openLocalModel(folder({ ...tokenizer, 'a.gguf': bytes, 'b.gguf': bytes })))).toBe('invalid');
    const other = buildTinyModel({ seed: 51, tokenizer: 'llama' });
    expect(await code(openLocalModel(folder({ ...tokenizer, 'tokenizer.json': other.files['tokenizer.json'], 'm.gguf': bytes })))).toBe('invalid');
    const g = await readGguf(memorySource(bytes));
    const kvs = [...g.kv.values()].map((k) => (k.key === 'general.architecture' ? kv.str('general.architecture', 'phi3') : k));
    const phi3 = await collectChunks(ggufChunks(kvs, g.tensors.map((t) => ({ name: t.name, shape: t.shape, type: t.typeName! })), (s) => g.readRaw(s.name)));
    const un = await openLocalModel(folder({ ...tokenizer, 'g.gguf': phi3 })).catch((x: HubError) => x);
    expect((un as HubError).code).toBe('unsupported-architecture');
    expect((un as HubError).message).toMatch(/supported: llama, qwen2, qwen3, gemma3/);
  });
});
