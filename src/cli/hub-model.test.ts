// --model owner/name: a Hub model downloaded into the CLI's model cache (a folder on disk, the
// downloader's DirectoryStore), used from there without the network afterwards; GGUF repos
// (file picked by --gguf-file or --weights, tokenizer from the card's base model); a killed
// download resumed; clear refusals. Against the mock Hub (test/mock-hub.ts).
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './run-cli.testutil';
import { DirectoryStore } from './dir-store';
import { cliModelCache } from './hub-model';
import { startMockHub, tinyModelRepo, type MockHub } from '../../test/mock-hub';
import { buildTinyModel, randomAdapter, TOKENIZER_FILES, tinyGgufBytes, writePeftAdapter } from '../../test/fixtures/tiny-model';
import { downloadModel, hubCacheKey, hubGgufCacheKey } from '../hub';
import { MANIFEST_FILE } from '../hub/cache';

let hub: MockHub;
let dir: string;
let cache: string;
const env = { cache: process.env.LORA_STUDIO_CACHE, endpoint: process.env.HF_ENDPOINT, token: process.env.HF_TOKEN };
const tiny = buildTinyModel({ layers: 2, hiddenSize: 64, numHeads: 4, numKvHeads: 2, intermediateSize: 96, seed: 61 });
const README = '---\nbase_model: acme/tiny-original\ntags:\n- gguf\n---\n';
let repoFiles: Record<string, Uint8Array | string>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lora-cli-hub-'));
  repoFiles = tinyModelRepo({ hidden: 64 });
  const tokenizer = Object.fromEntries(TOKENIZER_FILES.map((f) => [f, tiny.files[f] as string]));
  hub = await startMockHub({
    repos: {
      'acme/tiny-llama': { files: repoFiles },
      'acme/gated': { files: tinyModelRepo(), token: 'hf_right' },
      'acme/tiny-GGUF': { files: { 'README.md': README, 'tiny-Q8_0.gguf': await tinyGgufBytes(tiny, 'Q8_0'), 'tiny-Q4_0.gguf': await tinyGgufBytes(tiny, 'Q4_0') } },
      'acme/orphan-GGUF': { files: { 'tiny-Q8_0.gguf': await tinyGgufBytes(tiny, 'Q8_0') } },
      'acme/tiny-original': { files: { ...tokenizer, 'config.json': '{}' } },
    },
  });
  process.env.HF_ENDPOINT = hub.url;
  delete process.env.HF_TOKEN;
});

afterAll(async () => {
  for (const [k, v] of [['LORA_STUDIO_CACHE', env.cache], ['HF_ENDPOINT', env.endpoint], ['HF_TOKEN', env.token]] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await hub.close();
  await rm(dir, { recursive: true, force: true });
});

// Each test starts from an empty cache of its own.
let n = 0;
beforeEach(() => {
  cache = join(dir, `cache-${n++}`);
  process.env.LORA_STUDIO_CACHE = cache;
  hub.faults = {};
  hub.requests.length = 0;
});
afterEach(() => {
  hub.faults = {};
});

const inspectJson = async (...args: string[]) => {
  const r = await runCli(['inspect', ...args, '--json']);
  expect(r.code, r.err).toBe(0);
  return { ...r, json: JSON.parse(r.out.at(-1)!) as { model: Record<string, unknown> & { gguf?: { weightTypes: string } } } };
};

describe('the model cache folder', () => {
  it('is $LORA_STUDIO_CACHE, else under $XDG_CACHE_HOME, else ~/.cache', () => {
    expect(cliModelCache({ LORA_STUDIO_CACHE: '/x/models' })).toBe('/x/models');
    expect(cliModelCache({ XDG_CACHE_HOME: '/xdg' })).toBe('/xdg/lora-studio/models');
    expect(cliModelCache({})).toMatch(/\.cache\/lora-studio\/models$/);
  });

  it('DirectoryStore: writes at an offset (dropping what follows), reads, lists, deletes, and reports the disk\'s free space', async () => {
    const store = new DirectoryStore(join(dir, 'store'));
    expect(await store.keys()).toEqual([]);
    expect(await store.fileSize('k', 'a.bin')).toBeNull();
    let w = await store.openWriter('k', 'a.bin', 0);
    await w.write(new Uint8Array([1, 2, 3, 4, 5]));
    await w.close();
    w = await store.openWriter('k', 'a.bin', 2);
    await w.write(new Uint8Array([9]));
    await w.abort(); // what was written stays (a broken download resumes from it)
    expect(await store.fileSize('k', 'a.bin')).toBe(3);
    const src = await store.source('k', 'a.bin');
    expect([...(await src.read(0, 3))]).toEqual([1, 2, 9]);
    await expect(src.read(1, 3)).rejects.toThrow(/past the end/);
    await expect(store.openWriter('k', 'a.bin', 4)).rejects.toThrow(/cannot write at 4, the file has 3 bytes/);
    await expect(store.openWriter('k', '../escape', 0)).rejects.toThrow(/not a plain file name/);
    expect(await store.keys()).toEqual(['k']);
    expect(await store.files('k')).toEqual([{ name: 'a.bin', size: 3 }]);
    const est = await store.estimate();
    expect(est!.quota).toBeGreaterThan(0);
    expect(est!.where).toContain(join(dir, 'store'));
    await store.deleteFile('k', 'a.bin');
    expect(await store.files('k')).toEqual([]);
    await store.deleteKey('k');
    expect(await store.keys()).toEqual([]);
  });
});

describe('--model owner/name', () => {
  it('downloads a Hub model into the cache once, then uses it without the network', async () => {
    const first = await inspectJson('--model', 'acme/tiny-llama');
    expect(first.err).toContain(`model: acme/tiny-llama is not in the cache (${cache}); downloading it from ${hub.url}`);
    expect(first.err).toMatch(/download acme\/tiny-llama: done \(/);
    expect(first.json.model).toMatchObject({ architecture: 'llama', layers: 2, hidden: 64 });
    const folder = join(cache, hubCacheKey('acme/tiny-llama', 'main'));
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', MANIFEST_FILE]) expect(existsSync(join(folder, f)), f).toBe(true);
    expect(Buffer.compare(await readFile(join(folder, 'model.safetensors')), Buffer.from(repoFiles['model.safetensors'] as Uint8Array))).toBe(0);

    hub.requests.length = 0;
    hub.faults = { down: true };
    const again = await inspectJson('--model', 'acme/tiny-llama');
    expect(hub.requests).toEqual([]);
    expect(again.err).not.toContain('downloading');
    expect(again.json.model).toEqual(first.json.model);
  });

  it('a path that exists is the path, not a repo id', async () => {
    const local = join(dir, 'acme', 'tiny-llama');
    await rm(local, { recursive: true, force: true });
    await mkdir(local, { recursive: true });
    const r = await runCli(['inspect', '--model', join('.', 'acme', 'tiny-llama')]);
    // Relative to the working directory, where no such folder is: the Hub is asked.
    expect(r.err).toContain('downloading it from');
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const there = await runCli(['inspect', '--model', 'acme/tiny-llama']);
      expect(there.code).toBe(1);
      expect(there.err).toMatch(/a Hugging Face model folder needs config.json/);
    } finally {
      process.chdir(cwd);
    }
  });

  it('a download killed part way resumes from the bytes on disk (Range), and the sizes are verified', async () => {
    const store = new DirectoryStore(cache);
    hub.faults = { cut: [{ file: 'model.safetensors', afterBytes: 40_000, times: 1 }], slow: { chunkBytes: 16 * 1024, delayMs: 0 } };
    await expect(downloadModel({ repo: 'acme/tiny-llama', baseUrl: hub.url, store, retries: 0, retryDelayMs: 1 })).rejects.toMatchObject({ code: 'network' });
    const key = hubCacheKey('acme/tiny-llama', 'main');
    const kept = (await store.fileSize(key, 'model.safetensors'))!;
    expect(kept).toBeGreaterThan(0);
    hub.faults = {};
    hub.requests.length = 0;
    const r = await inspectJson('--model', 'acme/tiny-llama');
    expect(r.err).toMatch(/resumed/);
    expect(hub.requests.find((q) => q.path.endsWith('/model.safetensors') && q.method === 'GET')).toMatchObject({ range: `bytes=${kept}-`, status: 206 });
    expect(Buffer.compare(await readFile(join(cache, key, 'model.safetensors')), Buffer.from(repoFiles['model.safetensors'] as Uint8Array))).toBe(0);
  });

  it('a GGUF repository: the Q8_0 file for auto, the tokenizer of the base model its card names; --gguf-file picks another', async () => {
    const auto = await inspectJson('--model', 'acme/tiny-GGUF');
    expect(auto.err).toMatch(/acme\/tiny-GGUF has 2 GGUF files; picked tiny-Q8_0.gguf for q8 weights \(--gguf-file NAME picks another: /);
    expect(auto.json.model.gguf).toMatchObject({ weightTypes: 'Q8_0', quantized: true });
    expect(existsSync(join(cache, hubGgufCacheKey('acme/tiny-GGUF', 'main', 'tiny-Q8_0.gguf'), 'model.gguf'))).toBe(true);
    const text = await runCli(['inspect', '--model', 'acme/tiny-GGUF']);
    expect(text.out.join('\n')).toMatch(/GGUF base: Q8_0 weights, .*tokenizer from acme\/tiny-original/);

    const q4 = await inspectJson('--model', 'acme/tiny-GGUF', '--gguf-file', 'tiny-Q4_0.gguf');
    expect(q4.json.model.gguf).toMatchObject({ weightTypes: 'Q4_0' });
    // Cached, and named: no network.
    hub.faults = { down: true };
    hub.requests.length = 0;
    expect((await inspectJson('--model', 'acme/tiny-GGUF', '--gguf-file', 'tiny-Q4_0.gguf')).json.model.gguf).toMatchObject({ weightTypes: 'Q4_0' });
    expect(hub.requests).toEqual([]);
    // Two files cached and none named, offline: which one is meant cannot be told.
    const unsure = await runCli(['inspect', '--model', 'acme/tiny-GGUF']);
    expect(unsure.code).toBe(1);
    expect(unsure.err).toMatch(/--model acme\/tiny-GGUF: Could not reach .* Cached files of it: tiny-Q(8|4)_0.gguf, tiny-Q(4|8)_0.gguf; --gguf-file NAME uses one offline./);
  });

  it('--weights picks the GGUF file of that storage (before the GPU is opened)', async () => {
    const r = await runCli(['generate', '--model', 'acme/tiny-GGUF', '--weights', 'q4', '--adapter', join(dir, 'no-adapter'), '--prompt', 'hi']);
    expect(r.err).toContain('picked tiny-Q4_0.gguf for q4 weights');
    expect(existsSync(join(cache, hubGgufCacheKey('acme/tiny-GGUF', 'main', 'tiny-Q4_0.gguf'), 'model.gguf'))).toBe(true);
    expect(r.code).toBe(1); // the missing adapter, after the download
    expect(r.err).toMatch(/no-adapter/);
  });

  it('offline with one GGUF of the repo cached, that one is used', async () => {
    await inspectJson('--model', 'acme/tiny-GGUF', '--gguf-file', 'tiny-Q4_0.gguf');
    hub.faults = { down: true };
    const r = await inspectJson('--model', 'acme/tiny-GGUF');
    expect(r.err).toMatch(/the Hub cannot be reached .*; using the cached tiny-Q4_0.gguf/);
    expect(r.json.model.gguf).toMatchObject({ weightTypes: 'Q4_0' });
  });

  it('refusals are one clear line and leave the cache as it was', async () => {
    const cases: [string[], RegExp][] = [
      [['--model', 'acme/nope'], /--model acme\/nope: There is no model "acme\/nope" on .* \(or it is private\)/],
      [['--model', 'acme/gated'], /--model acme\/gated: .*\(the CLI sends the token in HF_TOKEN\)/],
      [['--model', 'acme/tiny-GGUF', '--gguf-file', 'tiny-Q5.gguf'], /--gguf-file tiny-Q5.gguf: acme\/tiny-GGUF has no such file; it has tiny-Q8_0.gguf \(.*\), tiny-Q4_0.gguf/],
      [['--model', 'acme/orphan-GGUF'], /--model acme\/orphan-GGUF: a GGUF repository whose card names no base model; give the original model's Hub repo with --tokenizer owner\/name/],
      [['--model', 'acme/tiny-llama', '--tokenizer', 'acme/tiny-original'], /--tokenizer and --gguf-file go with a GGUF repository; acme\/tiny-llama is a Hugging Face model/],
      [['--model', dir, '--gguf-file', 'x.gguf'], /--gguf-file goes with --model owner\/name, a GGUF repository on the Hub/],
    ];
    for (const [args, want] of cases) {
      const r = await runCli(['inspect', ...args]);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.err, args.join(' ')).toMatch(want);
    }
    // Nothing was kept of any refused model (the folder may not even exist).
    const keys = existsSync(cache) ? await readdir(cache) : [];
    expect(keys).toEqual([]);
  });

  it('a gated repo downloads with HF_TOKEN', async () => {
    process.env.HF_TOKEN = 'hf_right';
    try {
      await inspectJson('--model', 'acme/gated');
      expect(hub.requests.filter((q) => q.path.startsWith('/acme/gated/')).every((q) => q.authorization === 'Bearer hf_right')).toBe(true);
    } finally {
      delete process.env.HF_TOKEN;
    }
  });

  it('exports over a Hub GGUF name the original model as the base and the cached .gguf in the Modelfile', async () => {
    const adapter = randomAdapter(tiny, 5);
    const adapterDir = join(dir, 'adapter-gguf');
    await writePeftAdapter(adapterDir, { ...adapter, config: { ...adapter.config, baseModel: '' } }, tiny);
    const peft = join(dir, 'out-peft');
    await rm(peft, { recursive: true, force: true });
    const r = await runCli(['export', '--model', 'acme/tiny-GGUF', '--adapter', adapterDir, '--format', 'peft', '--out', peft]);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(await readFile(join(peft, 'adapter_config.json'), 'utf8')).base_model_name_or_path).toBe('acme/tiny-original');
    const gguf = join(dir, 'out-gguf');
    await rm(gguf, { recursive: true, force: true });
    const g = await runCli(['export', '--model', 'acme/tiny-GGUF', '--adapter', adapterDir, '--format', 'gguf', '--out', gguf]);
    expect(g.code, g.err).toBe(0);
    const modelfile = await readFile(join(gguf, 'Modelfile'), 'utf8');
    expect(modelfile).toContain(`FROM ${join(cache, hubGgufCacheKey('acme/tiny-GGUF', 'main', 'tiny-Q8_0.gguf'), 'model.gguf')}`);
  });
});
