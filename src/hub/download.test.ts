// The downloader against a mock Hub on 127.0.0.1 with an in-memory store: happy paths
// (single file, shards), progress, Range resume after cut connections (within one download
// and across attempts), every user-facing refusal, and that refusals/cancels leave nothing.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startMockHub, tinyModelRepo, type MockHub } from '../../test/mock-hub';
import { downloadModel, type DownloadOptions } from './download';
import { MemoryStore } from './store';
import { hubCacheKey, listCachedModels, listPartialDownloads, openCachedModel, deleteCachedModel, cacheSize } from './cache';
import { openModelWeights, readModelMetadata } from './model-files';
import { HubError } from './errors';
import type { DownloadProgress } from './progress';

const REPO = 'acme/tiny-llama';
let hub: MockHub;
let files: Record<string, Uint8Array | string>;

function bytes(v: Uint8Array | string): Uint8Array {
  return typeof v === 'string' ? new TextEncoder().encode(v) : v;
}

/** Byte equality without vitest's slow element-by-element deep diff of large arrays. */
function expectSameBytes(got: Uint8Array, want: Uint8Array, what: string) {
  expect(got.byteLength, `${what}: length`).toBe(want.byteLength);
  expect(Buffer.compare(Buffer.from(got), Buffer.from(want)), `${what}: bytes`).toBe(0);
}

beforeAll(async () => {
  files = tinyModelRepo({ hidden: 64 });
  hub = await startMockHub({
    repos: {
      [REPO]: { files },
      'acme/sharded': { files: tinyModelRepo({ shards: 3, seed: 7 }) },
      'acme/gated': { files: tinyModelRepo(), token: 'hf_right' },
      'acme/gpt2': { files: { ...tinyModelRepo(), 'config.json': JSON.stringify({ model_type: 'gpt2', vocab_size: 100 }) } },
      'acme/bin-only': { files: Object.fromEntries(Object.entries(tinyModelRepo()).filter(([k]) => k !== 'model.safetensors')) },
      'acme/no-genconfig': { files: tinyModelRepo({ withGenerationConfig: false }) },
    },
  });
});
afterAll(() => hub.close());
beforeEach(() => {
  hub.faults = {};
  hub.requests.length = 0;
});

function opts(store: MemoryStore, extra: Partial<DownloadOptions> = {}): DownloadOptions {
  return { repo: REPO, baseUrl: hub.url, store, retryDelayMs: 1, progressIntervalMs: 0, ...extra };
}

async function expectHubError(p: Promise<unknown>, code: string): Promise<HubError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e, `expected a HubError ${code}`).toBeInstanceOf(HubError);
  expect((e as HubError).code).toBe(code);
  return e as HubError;
}

describe('downloadModel', () => {
  it('downloads every file byte-exact, reports progress, and the cached model opens with its weights', async () => {
    const store = new MemoryStore({ quota: 1 << 30 });
    const seen: DownloadProgress[] = [];
    const r = await downloadModel(opts(store, { onProgress: (p) => seen.push(p) }));
    expect(r.alreadyCached).toBe(false);
    expect(r.persisted).toBe(true);
    expect(store.persistRequested).toBe(1);
    const expectedFiles = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'model.safetensors'];
    expect(r.model.files.map((f) => f.name).sort()).toEqual(expectedFiles.sort());
    const total = expectedFiles.reduce((n, f) => n + bytes(files[f]).byteLength, 0);
    expect(r.model.bytes).toBe(total);
    expect(r.bytesDownloaded).toBe(bytes(files['model.safetensors']).byteLength);
    // README.md is not a model file: never fetched.
    expect(hub.requests.some((q) => q.path.endsWith('README.md'))).toBe(false);

    const model = await openCachedModel(store, r.model.key);
    for (const f of expectedFiles) {
      const src = await model.source(f);
      expectSameBytes(await src.read(0, src.size), bytes(files[f]), f);
    }
    const meta = await readModelMetadata(model);
    expect(meta.config.model_type).toBe('llama');
    const weights = await openModelWeights(model);
    expect(weights.names()).toContain('model.embed_tokens.weight');
    expect((await weights.readF32('model.norm.weight')).length).toBe(64);

    // Progress: starts in metadata, grows monotonically while downloading, ends done at 100%.
    expect(seen[0].phase).toBe('metadata');
    const last = seen[seen.length - 1];
    expect(last.phase).toBe('done');
    expect(last.bytesDone).toBe(total);
    expect(last.bytesTotal).toBe(total);
    const dl = seen.filter((p) => p.phase === 'downloading');
    expect(dl.length).toBeGreaterThan(2);
    for (let i = 1; i < dl.length; i++) expect(dl[i].bytesDone).toBeGreaterThanOrEqual(dl[i - 1].bytesDone);
    expect(dl.every((p) => p.bytesTotal === total)).toBe(true);
  });

  it('a second download of a cached model uses no network', async () => {
    const store = new MemoryStore();
    await downloadModel(opts(store));
    hub.requests.length = 0;
    const again = await downloadModel(opts(store));
    expect(again.alreadyCached).toBe(true);
    expect(hub.requests).toEqual([]);
  });

  it('downloads a sharded model (index + shards) and opens it as one tensor store', async () => {
    const store = new MemoryStore();
    const r = await downloadModel(opts(store, { repo: 'acme/sharded' }));
    expect(r.model.files.map((f) => f.name)).toContain('model-00003-of-00003.safetensors');
    const weights = await openModelWeights(await openCachedModel(store, r.model.key));
    expect(weights.names().length).toBe(2 * 9 + 2);
  });

  it('works without the optional generation_config.json', async () => {
    const store = new MemoryStore();
    const r = await downloadModel(opts(store, { repo: 'acme/no-genconfig' }));
    expect(r.model.files.map((f) => f.name)).not.toContain('generation_config.json');
    expect((await readModelMetadata(await openCachedModel(store, r.model.key))).generationConfig).toBeNull();
  });

  it('resumes with a Range request when the connection is cut mid-file', async () => {
    const store = new MemoryStore();
    const weights = bytes(files['model.safetensors']);
    hub.faults = { cut: [{ file: 'model.safetensors', afterBytes: 100_000, times: 2 }], slow: { chunkBytes: 16 * 1024, delayMs: 0 } };
    const r = await downloadModel(opts(store));
    const gets = hub.requests.filter((q) => q.method === 'GET' && q.path.endsWith('model.safetensors'));
    expect(gets.map((q) => q.range)).toEqual([null, expect.stringMatching(/^bytes=\d+-$/), expect.stringMatching(/^bytes=\d+-$/)]);
    const firstResume = Number(/bytes=(\d+)-/.exec(gets[1].range!)![1]);
    expect(firstResume).toBeGreaterThan(0);
    expect(firstResume).toBeLessThanOrEqual(100_000);
    expect(gets[1].status).toBe(206);
    const src = await (await openCachedModel(store, r.model.key)).source('model.safetensors');
    expectSameBytes(await src.read(0, src.size), weights, 'weights');
  });

  it('when the network stays broken, keeps the partial bytes out of the cache and resumes them next time', async () => {
    const store = new MemoryStore();
    hub.faults = { cut: [{ file: 'model.safetensors', afterBytes: 70_000, times: 100 }], slow: { chunkBytes: 16 * 1024, delayMs: 0 } };
    const e = await expectHubError(downloadModel(opts(store, { retries: 0 })), 'network');
    expect(e.resumable).toBe(true);
    expect(e.message).toMatch(/download again to resume/);
    expect(await listCachedModels(store)).toEqual([]);
    const partial = await listPartialDownloads(store);
    expect(partial).toHaveLength(1);
    expect(partial[0].id).toBe(REPO);
    expect(partial[0].bytes).toBeGreaterThan(0);
    await expectHubError(openCachedModel(store, hubCacheKey(REPO, 'main')), 'missing-files');

    hub.faults = {};
    hub.requests.length = 0;
    const r = await downloadModel(opts(store));
    expect(r.bytesResumed).toBeGreaterThan(0);
    const get = hub.requests.find((q) => q.method === 'GET' && q.path.endsWith('model.safetensors'))!;
    expect(get.range).toMatch(/^bytes=\d+-$/);
    expect(get.status).toBe(206);
    const src = await (await openCachedModel(store, r.model.key)).source('model.safetensors');
    expectSameBytes(await src.read(0, src.size), bytes(files['model.safetensors']), 'weights');
    expect(await listPartialDownloads(store)).toEqual([]);
  });

  it('resumes when the CDN hides Content-Range and ETag (CORS), relying on lengths', async () => {
    const store = new MemoryStore();
    hub.faults = { omitRangeHeaders: true, cut: [{ file: 'model.safetensors', afterBytes: 90_000, times: 1 }], slow: { chunkBytes: 16 * 1024, delayMs: 0 } };
    const r = await downloadModel(opts(store));
    const gets = hub.requests.filter((q) => q.method === 'GET' && q.path.endsWith('model.safetensors'));
    expect(gets[1]?.status).toBe(206);
    const src = await (await openCachedModel(store, r.model.key)).source('model.safetensors');
    expectSameBytes(await src.read(0, src.size), bytes(files['model.safetensors']), 'weights');
  });

  it('starts the file over when the server ignores Range', async () => {
    const store = new MemoryStore();
    hub.faults = { cut: [{ file: 'model.safetensors', afterBytes: 50_000, times: 1 }], ignoreRange: true, slow: { chunkBytes: 16 * 1024, delayMs: 0 } };
    const r = await downloadModel(opts(store));
    const src = await (await openCachedModel(store, r.model.key)).source('model.safetensors');
    expectSameBytes(await src.read(0, src.size), bytes(files['model.safetensors']), 'weights');
  });

  it('cancel (AbortSignal) mid-download stops it and leaves nothing cached', async () => {
    const store = new MemoryStore();
    const ac = new AbortController();
    hub.faults = { slow: { chunkBytes: 8 * 1024, delayMs: 20 } };
    const p = downloadModel(
      opts(store, {
        signal: ac.signal,
        onProgress: (pr) => {
          if (pr.phase === 'downloading' && pr.file === 'model.safetensors' && pr.bytesDone > 0) ac.abort();
        },
      }),
    );
    await expectHubError(p, 'cancelled');
    expect(await store.keys()).toEqual([]);
    expect(await cacheSize(store)).toBe(0);
  });

  it('cancel also discards a partial download left by an earlier attempt', async () => {
    const store = new MemoryStore();
    hub.faults = { cut: [{ file: 'model.safetensors', afterBytes: 60_000, times: 100 }] };
    await expectHubError(downloadModel(opts(store, { retries: 0 })), 'network');
    expect(await store.keys()).toHaveLength(1);
    hub.faults = {};
    const ac = new AbortController();
    ac.abort();
    await expectHubError(downloadModel(opts(store, { signal: ac.signal })), 'cancelled');
    expect(await store.keys()).toEqual([]);
  });

  it('network down: a clear error and nothing stored', async () => {
    const store = new MemoryStore();
    hub.faults = { down: true };
    const e = await expectHubError(downloadModel(opts(store, { retries: 1 })), 'network');
    expect(e.message).toMatch(/Could not reach 127\.0\.0\.1/);
    expect(e.message).toMatch(/internet connection/);
    expect(await store.keys()).toEqual([]);
  });

  it('unknown repo: not-found naming the repo', async () => {
    const store = new MemoryStore();
    const e = await expectHubError(downloadModel(opts(store, { repo: 'acme/nope' })), 'not-found');
    expect(e.message).toContain('acme/nope');
    expect(await store.keys()).toEqual([]);
  });

  it('unknown revision: not-found naming the revision', async () => {
    const e = await expectHubError(downloadModel(opts(new MemoryStore(), { revision: 'v9' })), 'not-found');
    expect(e.message).toContain('"v9"');
  });

  it('malformed repo id is refused before any request', async () => {
    await expectHubError(downloadModel(opts(new MemoryStore(), { repo: '../etc/passwd' })), 'not-found');
    expect(hub.requests).toEqual([]);
  });

  it('gated repo without a token: 401 → explains the license and the token', async () => {
    const store = new MemoryStore();
    const e = await expectHubError(downloadModel(opts(store, { repo: 'acme/gated' })), 'gated');
    expect(hub.requests[0].status).toBe(401);
    expect(e.message).toMatch(/accept its license/);
    expect(e.message).toMatch(/access token/);
    expect(e.message).toContain(`${hub.url}/acme/gated`);
    expect(await store.keys()).toEqual([]);
  });

  it('gated repo with a wrong token: 403 → says the token was refused', async () => {
    const e = await expectHubError(downloadModel(opts(new MemoryStore(), { repo: 'acme/gated', token: 'hf_wrong' })), 'gated');
    expect(hub.requests[0].status).toBe(403);
    expect(e.message).toMatch(/token was refused/);
  });

  it('gated repo with the right token downloads, sending the token on every request', async () => {
    const r = await downloadModel(opts(new MemoryStore(), { repo: 'acme/gated', token: 'hf_right' }));
    expect(r.model.id).toBe('acme/gated');
    expect(hub.requests.every((q) => q.authorization === 'Bearer hf_right')).toBe(true);
  });

  it('unsupported architecture is refused from config.json before any weight is requested', async () => {
    const store = new MemoryStore();
    const e = await expectHubError(downloadModel(opts(store, { repo: 'acme/gpt2' })), 'unsupported-architecture');
    expect(e.message).toMatch(/"gpt2"/);
    expect(e.message).toMatch(/llama/);
    expect(hub.requests.map((q) => q.path)).toEqual(['/acme/gpt2/resolve/main/config.json']);
    expect(await store.keys()).toEqual([]);
  });

  it('a repo without safetensors weights: missing-files, nothing stored', async () => {
    const store = new MemoryStore();
    const e = await expectHubError(downloadModel(opts(store, { repo: 'acme/bin-only' })), 'missing-files');
    expect(e.message).toMatch(/safetensors/);
    expect(await store.keys()).toEqual([]);
  });

  it('not enough storage quota: refused before writing, with the sizes', async () => {
    const total = Object.values(files).reduce((n, v) => n + bytes(v).byteLength, 0);
    const store = new MemoryStore({ quota: 100_000 + 32 * 1024 * 1024, baseUsage: 32 * 1024 * 1024 });
    const e = await expectHubError(downloadModel(opts(store)), 'quota');
    expect(total).toBeGreaterThan(100_000);
    expect(e.message).toMatch(/needs .* of storage/);
    expect(e.message).toMatch(/Nothing was downloaded/);
    expect(hub.requests.some((q) => q.method === 'GET' && q.path.endsWith('model.safetensors'))).toBe(false);
    expect(await store.keys()).toEqual([]);
  });

  it('storage filling up during the download (QuotaExceededError): quota error, nothing kept', async () => {
    // estimate() says there is room (margin 0) but the writes hit the real limit.
    const store = new MemoryStore({ quota: 150_000 });
    const realEstimate = store.estimate.bind(store);
    store.estimate = async () => ({ ...(await realEstimate())!, quota: 1 << 30 });
    const e = await expectHubError(downloadModel(opts(store, { storageMarginBytes: 0 })), 'quota');
    expect(e.message).toMatch(/ran out of storage/);
    expect(await store.keys()).toEqual([]);
  });

  it('a model over the GPU limits is refused before downloading weights', async () => {
    const store = new MemoryStore();
    const e = await expectHubError(downloadModel(opts(store, { gpuLimits: { maxBufferSize: 10_000, maxStorageBufferBindingSize: 10_000 } })), 'gpu-limits');
    expect(e.message).toMatch(/token embedding/);
    expect(hub.requests.some((q) => q.path.endsWith('.safetensors'))).toBe(false);
    expect(await store.keys()).toEqual([]);
  });

  it('size mismatch (HEAD announces a different size than the body): refused, nothing kept', async () => {
    const store = new MemoryStore();
    hub.faults = { announceSize: { 'model.safetensors': bytes(files['model.safetensors']).byteLength + 10 } };
    const e = await expectHubError(downloadModel(opts(store)), 'size-mismatch');
    expect(e.message).toContain('model.safetensors');
    expect(await store.keys()).toEqual([]);
  });

  it('size mismatch of a sharded index (total_size larger than the shards) is refused before downloading', async () => {
    const sharded = tinyModelRepo({ shards: 2, seed: 3 });
    const index = JSON.parse(sharded['model.safetensors.index.json'] as string);
    index.metadata.total_size += 1_000_000;
    hub.repos['acme/broken-index'] = { files: { ...sharded, 'model.safetensors.index.json': JSON.stringify(index) } };
    const store = new MemoryStore();
    await expectHubError(downloadModel(opts(store, { repo: 'acme/broken-index' })), 'size-mismatch');
    expect(await store.keys()).toEqual([]);
  });

  it('a damaged cache entry (a file evicted) is not listed as a model', async () => {
    const store = new MemoryStore();
    const r = await downloadModel(opts(store));
    expect((await listCachedModels(store)).map((m) => m.id)).toEqual([REPO]);
    await store.deleteFile(r.model.key, 'model.safetensors');
    expect(await listCachedModels(store)).toEqual([]);
    expect((await listPartialDownloads(store)).map((p) => p.id)).toEqual([REPO]);
    await deleteCachedModel(store, r.model.key);
    expect(await store.keys()).toEqual([]);
  });
});
