// The CLI and the worker export through the one pipeline (src/adapters/export.ts): for the same
// base model and adapter they must write byte-identical files, whatever the delivery (the
// CLI's atomic folder on disk; the worker's zip or chunk stream to the page).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './run-cli.testutil';
import { writeTinyModel, type TinyModel } from '../../test/fixtures/tiny-model';
import { linearShape } from '../engine/model/config';
import { memoryModelFiles } from '../engine/model/model-files';
import { concatBytes } from '../engine/model/safetensors';
import { EXPORT_FORMATS, openExportBase, streamExport } from '../adapters/export';
import type { LoraAdapter } from '../adapters/lora';
import { exportPeft } from '../adapters/peft';
import { storedAdapterExport } from '../worker/adapter-service';

let dir: string;
let model: TinyModel;
const ADAPTER = 'my-adapter'; // the CLI names the export after the adapter folder, the worker after the record
const BASE_ID = 'org/tiny-base';
let stored: { name: string; baseModel: string; files: { name: string; bytes: ArrayBuffer }[] };

/** LoRA on layer 1 of 2 only, rsLoRA with a non-integer alpha (a Modelfile note). */
function adapterFor(m: TinyModel): LoraAdapter {
  const r = 3;
  const w = (mod: 'k_proj' | 'down_proj', seed: number) => {
    const { inFeatures, outFeatures } = linearShape(m.config, mod);
    const f = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => Math.cos(seed + k * 5 + i * 0.7) * 0.2);
    return { A: f(r * inFeatures, 1), B: f(outFeatures * r, 2), inFeatures, outFeatures };
  };
  return {
    config: { r, alpha: 5, dropout: 0.05, targetModules: ['k_proj', 'down_proj'], useRslora: true, baseModel: BASE_ID },
    layers: [{}, { k_proj: w('k_proj', 1), down_proj: w('down_proj', 2) }],
  };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lora-export-parity-'));
  model = await writeTinyModel(join(dir, 'model'), { seed: 8, layers: 2 });
  const peft = Object.entries(exportPeft(adapterFor(model), model.config)).map(([name, d]) => ({ name, bytes: typeof d === 'string' ? new TextEncoder().encode(d) : d }));
  await mkdir(join(dir, ADAPTER));
  for (const f of peft) await writeFile(join(dir, ADAPTER, f.name), f.bytes);
  stored = { name: ADAPTER, baseModel: BASE_ID, files: peft.map((f) => ({ name: f.name, bytes: f.bytes.slice().buffer as ArrayBuffer })) };
});

afterAll(() => rm(dir, { recursive: true, force: true }));

describe('export parity: CLI folder vs worker stream', () => {
  it.each(EXPORT_FORMATS)('%s: same files, same bytes', async (format) => {
    const out = join(dir, `out-${format}`);
    const r = await runCli(['export', '--model', join(dir, 'model'), '--adapter', join(dir, ADAPTER), '--format', format, '--out', out, '--json']);
    expect(r.code, r.err).toBe(0);
    const cliNames: string[] = JSON.parse(r.out[0]).files;

    // The worker's side, over the same model folder held in memory as the browser cache holds it.
    const base = await openExportBase(memoryModelFiles('org/tiny-base', model.files));
    const files = await storedAdapterExport(format, base, stored);
    const got = new Map<string, Uint8Array[]>();
    await streamExport(files, async (name, chunk) => void (got.get(name) ?? got.set(name, []).get(name)!).push(chunk.slice()));
    // The worker names a lone merged GGUF after the adapter; everything else keeps the pipeline's names.
    const workerNames = files.map((f) => f.name);
    if (format === 'merged-gguf') expect(workerNames).toEqual([`${ADAPTER}-merged.gguf`]);
    else expect(workerNames).toEqual(cliNames);
    expect(workerNames.length).toBe(cliNames.length);
    for (let i = 0; i < cliNames.length; i++) {
      const want = new Uint8Array(await readFile(join(out, cliNames[i])));
      const bytes = concatBytes(got.get(workerNames[i])!);
      expect(bytes.length, cliNames[i]).toBe(want.length);
      expect(Buffer.compare(bytes, want), `${cliNames[i]} differs`).toBe(0);
    }
    if (format === 'gguf') {
      const modelfile = await readFile(join(out, 'Modelfile'), 'utf8');
      expect(modelfile).toContain(BASE_ID);
      expect(modelfile).toMatch(/ADAPTER \.\/adapter\.gguf/);
    }
  });
});
