// Local model folders: the same checks as a Hub download, used in place or imported.
import { describe, expect, it } from 'vitest';
import { tinyModelRepo } from '../../test/mock-hub';
import { importLocalModel, openLocalModel, type LocalFile } from './local';
import { MemoryStore } from './store';
import { listCachedModels, openCachedModel } from './cache';
import { openModelWeights, readModelMetadata } from './model-files';
import { HubError } from './errors';

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
