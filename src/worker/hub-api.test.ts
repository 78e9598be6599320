// The worker's hub methods return plain results (no thrown custom errors across Comlink).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockHub, tinyModelRepo, type MockHub } from '../../test/mock-hub';
import { createHubApi } from './hub-api';
import { MemoryStore } from '../hub';

let hub: MockHub;
beforeAll(async () => {
  hub = await startMockHub({ repos: { 'acme/tiny': { files: tinyModelRepo() }, 'acme/gated': { files: tinyModelRepo(), token: 't' } } });
});
afterAll(() => hub.close());

describe('worker hub API', () => {
  it('downloads, lists, refuses with a code, and deletes', async () => {
    const api = createHubApi({ store: new MemoryStore({ quota: 1 << 30 }), gpuLimits: async () => ({ maxBufferSize: 1 << 30, maxStorageBufferBindingSize: 1 << 27 }) });
    const phases = new Set<string>();
    const r = await api.hubDownload({ repo: 'acme/tiny', baseUrl: hub.url }, (p) => phases.add(p.phase));
    expect(r.ok).toBe(true);
    expect([...phases]).toEqual(expect.arrayContaining(['metadata', 'downloading', 'done']));
    const info = await api.hubStorage();
    expect(info.models.map((m) => m.id)).toEqual(['acme/tiny']);
    expect(info.quota).toBe(1 << 30);

    const gated = await api.hubDownload({ repo: 'acme/gated', baseUrl: hub.url });
    expect(gated).toMatchObject({ ok: false, code: 'gated' });
    expect(JSON.parse(JSON.stringify(gated))).toEqual(gated); // structured-clone friendly

    expect((await api.hubDelete(info.models[0].key)).ok).toBe(true);
    expect((await api.hubStorage()).models).toEqual([]);
  });

  it('a GPU too small is refused before the weights', async () => {
    const api = createHubApi({ store: new MemoryStore(), gpuLimits: async () => ({ maxBufferSize: 1000, maxStorageBufferBindingSize: 1000 }) });
    expect(await api.hubDownload({ repo: 'acme/tiny', baseUrl: hub.url })).toMatchObject({ ok: false, code: 'gpu-limits' });
  });

  it('hubCancel aborts a running download and nothing stays', async () => {
    const store = new MemoryStore();
    const api = createHubApi({ store });
    hub.faults = { slow: { chunkBytes: 4096, delayMs: 20 } };
    let cancelled = false;
    const r = await api.hubDownload({ repo: 'acme/tiny', baseUrl: hub.url }, (p) => {
      if (!cancelled && p.file === 'model.safetensors' && p.bytesDone > 0) cancelled = api.hubCancel('acme/tiny');
    });
    hub.faults = {};
    expect(cancelled).toBe(true);
    expect(r).toMatchObject({ ok: false, code: 'cancelled' });
    expect(await store.keys()).toEqual([]);
  });
});
