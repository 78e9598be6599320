// --model FILE.gguf without a GPU: opening (tokenizer from the original model's folder, checked
// against the GGUF's vocabulary), clear refusals, and the exports over a quantized GGUF base
// (PEFT for the full-precision id with a trained-on note, the Modelfile naming the GGUF, merged
// models dequantized). The GPU side and llama.cpp's agreement: gguf-base.gpu.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './run-cli.testutil';
import { buildTinyModel, randomAdapter, writePeftAdapter, writeTinyGguf, type TinyModel } from '../../test/fixtures/tiny-model';
import { openGgufModel } from '../engine/model/gguf-model';
import { SafetensorsFile, memorySource } from '../engine/model/safetensors';
import { expectedTensors, linearWeightName, parseModelConfig } from '../engine/model/config';
import { loraScaling, type LoraAdapter } from '../adapters/lora';
import { readGguf } from '../engine/model/gguf-format';
import { openFileSource } from '../engine/model/node-source';
import { startMockHub, type MockHub } from '../../test/mock-hub';

let dir: string;
let model: TinyModel;
let q8: { path: string; bytes: Uint8Array };
let adapter: LoraAdapter;
const adapterDir = () => join(dir, 'adapter');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lora-gguf-base-'));
  // Rows of whole 32-value blocks: C = 64, F = 96, head_dim 16.
  model = buildTinyModel({ layers: 2, hiddenSize: 64, numHeads: 4, numKvHeads: 2, intermediateSize: 96, tied: false, seed: 31 });
  q8 = await writeTinyGguf(join(dir, 'orig'), model, 'Q8_0');
  adapter = { ...randomAdapter(model, 5), config: { ...randomAdapter(model, 5).config, baseModel: 'org/tiny-base' } };
  await writePeftAdapter(adapterDir(), adapter, model);
});

afterAll(() => rm(dir, { recursive: true, force: true }));

describe('--model FILE.gguf: opening and refusals', () => {
  it('inspect reports the GGUF quant type and size, tokenizer from the file\'s folder', async () => {
    const r = await runCli(['inspect', '--model', q8.path, '--json']);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out.at(-1)!);
    expect(j.model).toMatchObject({ architecture: 'llama', layers: 2, hidden: 64, vocab: model.config.vocabSize, chatTemplate: true });
    expect(j.model.gguf).toMatchObject({ weightTypes: 'Q8_0', quantized: true, bytes: q8.bytes.length });
    const text = await runCli(['inspect', '--model', q8.path]);
    expect(text.out.join('\n')).toMatch(/GGUF base: Q8_0 weights, .*tokenizer from .*orig/);
  });

  it('--tokenizer DIR gives the original model folder when the GGUF lies elsewhere', async () => {
    const lone = join(dir, 'lone');
    await mkdir(lone, { recursive: true });
    await writeFile(join(lone, 'm.gguf'), q8.bytes);
    const missing = await runCli(['inspect', '--model', join(lone, 'm.gguf')]);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/a GGUF base model needs the original model's tokenizer.json and tokenizer_config.json; .*lone has no tokenizer.json or tokenizer_config.json \(give --tokenizer DIR/);
    const ok = await runCli(['inspect', '--model', join(lone, 'm.gguf'), '--tokenizer', join(dir, 'orig'), '--json']);
    expect(ok.code, ok.err).toBe(0);
    const notDir = await runCli(['inspect', '--model', join(lone, 'm.gguf'), '--tokenizer', join(dir, 'nowhere')]);
    expect(notDir.err).toMatch(/--tokenizer .*nowhere: not a directory/);
  });

  it('a tokenizer of another model is refused with the first differing token', async () => {
    const other = buildTinyModel({ seed: 31, tokenizer: 'llama' });
    const wrong = join(dir, 'wrong-tok');
    await mkdir(wrong, { recursive: true });
    for (const f of ['tokenizer.json', 'tokenizer_config.json'] as const) await writeFile(join(wrong, f), other.files[f]);
    const r = await runCli(['inspect', '--model', q8.path, '--tokenizer', wrong]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/wrong-tok\/tokenizer.json is not the vocabulary of .*tiny-Q8_0.gguf: \d+ of \d+ tokens differ \(id \d+ is .* in the GGUF but .* in tokenizer.json\)/);
  });

  it('--tokenizer with a model folder, a missing file and an unsupported architecture are clear errors', async () => {
    expect((await runCli(['inspect', '--model', join(dir, 'orig'), '--tokenizer', join(dir, 'orig')])).err).toMatch(/--tokenizer goes with --model FILE.gguf/);
    expect((await runCli(['inspect', '--model', join(dir, 'none.gguf')])).err).toMatch(/--model .*none.gguf: no such file/);
    // general.architecture patched in place to a same-length unsupported name ("llama" → "bloom").
    const bytes = q8.bytes.slice();
    const key = new TextEncoder().encode('general.architecture');
    let at = -1;
    for (let i = 0; i < bytes.length && at < 0; i++) if (key.every((b, j) => bytes[i + j] === b)) at = i;
    bytes.set(new TextEncoder().encode('bloom'), at + key.length + 4 + 8);
    const bad = join(dir, 'orig', 'bloom.gguf');
    await writeFile(bad, bytes);
    expect((await runCli(['inspect', '--model', bad])).err).toMatch(/general.architecture "bloom" is not supported \(supported: llama, qwen2, qwen3, gemma3\)/);
  });
});

describe('--tokenizer owner/name: the tokenizer files from the Hub', () => {
  let hub: MockHub;
  const env = { endpoint: process.env.HF_ENDPOINT, token: process.env.HF_TOKEN };
  beforeAll(async () => {
    const other = buildTinyModel({ seed: 31, tokenizer: 'llama' });
    hub = await startMockHub({
      repos: {
        'org/tiny-base': { files: { 'tokenizer.json': model.files['tokenizer.json'], 'tokenizer_config.json': model.files['tokenizer_config.json'], 'chat_template.jinja': '{{ messages }}', 'model.safetensors': 'never fetched' } },
        'org/gated-base': { token: 'hf_secret', files: { 'tokenizer.json': model.files['tokenizer.json'], 'tokenizer_config.json': model.files['tokenizer_config.json'] } },
        'org/other-base': { files: { 'tokenizer.json': other.files['tokenizer.json'], 'tokenizer_config.json': other.files['tokenizer_config.json'] } },
        'org/no-tokenizer': { files: { 'config.json': '{}' } },
      },
    });
    process.env.HF_ENDPOINT = hub.url;
    delete process.env.HF_TOKEN;
  });
  afterAll(async () => {
    for (const [k, v] of [['HF_ENDPOINT', env.endpoint], ['HF_TOKEN', env.token]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await hub.close();
  });
  const lone = async () => {
    const p = join(dir, 'hub-lone', 'm.gguf');
    await mkdir(join(dir, 'hub-lone'), { recursive: true });
    await writeFile(p, q8.bytes);
    return p;
  };

  it('fetches only the tokenizer files (and the optional ones present) and opens the GGUF with them', async () => {
    hub.requests.length = 0;
    const r = await runCli(['inspect', '--model', await lone(), '--tokenizer', 'org/tiny-base']);
    expect(r.code, r.err).toBe(0);
    expect(r.out.join('\n')).toMatch(/GGUF base: Q8_0 weights, .*tokenizer from org\/tiny-base/);
    expect(r.err).toContain(`fetching the tokenizer files of org/tiny-base from ${hub.url}`);
    expect(hub.requests.map((q) => `${q.path} ${q.status}`)).toEqual([
      '/org/tiny-base/resolve/main/tokenizer.json 200',
      '/org/tiny-base/resolve/main/tokenizer_config.json 200',
      '/org/tiny-base/resolve/main/generation_config.json 404',
      '/org/tiny-base/resolve/main/chat_template.jinja 200',
    ]);
  });

  it('a merged export copies the tokenizer files fetched from the Hub', async () => {
    const out = join(dir, 'out-merged-hub');
    const r = await runCli(['export', '--model', await lone(), '--tokenizer', 'org/tiny-base', '--adapter', adapterDir(), '--format', 'merged', '--out', out]);
    expect(r.code, r.err).toBe(0);
    expect(await readFile(join(out, 'tokenizer.json'), 'utf8')).toBe(model.files['tokenizer.json']);
    expect(await readFile(join(out, 'chat_template.jinja'), 'utf8')).toBe('{{ messages }}');
  });

  it('a gated repo takes HF_TOKEN, sent only as the Authorization header', async () => {
    const refused = await runCli(['inspect', '--model', await lone(), '--tokenizer', 'org/gated-base']);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/--tokenizer org\/gated-base: no such folder, and the Hub did not give its tokenizer files: org\/gated-base cannot be downloaded: .*\(the CLI sends the token in HF_TOKEN\)/);
    process.env.HF_TOKEN = 'hf_secret';
    try {
      hub.requests.length = 0;
      const ok = await runCli(['inspect', '--model', await lone(), '--tokenizer', 'org/gated-base', '--json']);
      expect(ok.code, ok.err).toBe(0);
      expect(hub.requests.every((q) => q.authorization === 'Bearer hf_secret' && !q.path.includes('hf_secret'))).toBe(true);
    } finally {
      delete process.env.HF_TOKEN;
    }
  });

  it('the same vocabulary check refuses another model\'s tokenizer', async () => {
    const r = await runCli(['inspect', '--model', await lone(), '--tokenizer', 'org/other-base']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/org\/other-base\/tokenizer.json is not the vocabulary of .*m.gguf: \d+ of \d+ tokens differ/);
  });

  it('neither a folder nor a reachable repo: clear errors', async () => {
    const m = await lone();
    expect((await runCli(['inspect', '--model', m, '--tokenizer', 'org/missing'])).err).toMatch(/--tokenizer org\/missing: no such folder, and the Hub did not give its tokenizer files: There is no model "org\/missing"/);
    expect((await runCli(['inspect', '--model', m, '--tokenizer', 'org/no-tokenizer'])).err).toMatch(/--tokenizer org\/no-tokenizer: .*has no file tokenizer.json/);
    expect((await runCli(['inspect', '--model', m, '--tokenizer', 'no-slash'])).err).toMatch(/--tokenizer no-slash: not a directory, nor a Hugging Face repo id \(owner\/name\)/);
    hub.faults.down = true;
    try {
      const down = await runCli(['inspect', '--model', m, '--tokenizer', 'org/tiny-base']);
      expect(down.code).toBe(1);
      expect(down.err).toMatch(/--tokenizer org\/tiny-base: no such folder, and the Hub did not give its tokenizer files: Could not reach 127.0.0.1:\d+/);
    } finally {
      hub.faults.down = false;
    }
  });
});

describe('exports over a quantized GGUF base', () => {
  it('peft: written for the full-precision id, the README says it was trained on the quantized file', async () => {
    const out = join(dir, 'out-peft');
    const r = await runCli(['export', '--model', q8.path, '--adapter', adapterDir(), '--format', 'peft', '--out', out]);
    expect(r.code, r.err).toBe(0);
    const cfg = JSON.parse(await readFile(join(out, 'adapter_config.json'), 'utf8'));
    expect(cfg.base_model_name_or_path).toBe('org/tiny-base');
    expect(Object.keys(cfg)).not.toContain('trained_on'); // older PEFT rejects unknown keys
    const readme = await readFile(join(out, 'README.md'), 'utf8');
    expect(readme).toMatch(/Trained on a quantized base: tiny-Q8_0.gguf \(Q8_0\)\. As with QLoRA, the adapter is written for the full-precision org\/tiny-base/);
  });

  it('gguf: the Modelfile points at that GGUF file', async () => {
    const out = join(dir, 'out-gguf');
    const r = await runCli(['export', '--model', q8.path, '--adapter', adapterDir(), '--format', 'gguf', '--out', out]);
    expect(r.code, r.err).toBe(0);
    const modelfile = await readFile(join(out, 'Modelfile'), 'utf8');
    expect(modelfile).toContain(`FROM ${q8.path}\n`);
    expect(modelfile).toContain('ADAPTER ./adapter.gguf');
    expect((await readGguf(memorySource(new Uint8Array(await readFile(join(out, 'adapter.gguf')))))).get('general.type')).toBe('adapter');
  });

  it('merged: the GGUF blocks dequantized, then the LoRA folded in (float64 check), with a config.json and the tokenizer files', async () => {
    const out = join(dir, 'out-merged');
    const r = await runCli(['export', '--model', q8.path, '--adapter', adapterDir(), '--format', 'merged', '--out', out]);
    expect(r.code, r.err).toBe(0);
    expect(parseModelConfig(await readFile(join(out, 'config.json'), 'utf8'))).toEqual({ ...model.config, rmsNormEps: expect.closeTo(model.config.rmsNormEps, 9) });
    expect(await readFile(join(out, 'tokenizer.json'), 'utf8')).toBe(model.files['tokenizer.json']);
    const merged = await SafetensorsFile.open(await openFileSource(join(out, 'model.safetensors')));
    const base = (await openGgufModel(memorySource(q8.bytes))).weights;
    const s = loraScaling(adapter.config);
    let quantMoved = 0;
    for (const t of expectedTensors(model.config)) {
      const got = await merged.readF32(t.name);
      const want = Float64Array.from(await base.readF32(t.name));
      const m = /^model\.layers\.(\d+)\.(?:self_attn|mlp)\.([a-z_]+)\.weight$/.exec(t.name);
      const w = m && t.name === linearWeightName(Number(m[1]), m[2] as never) ? adapter.layers[Number(m[1])][m[2] as never] as LoraAdapter['layers'][number]['q_proj'] : undefined;
      if (w) {
        const [R, I] = [adapter.config.r, w.inFeatures];
        for (let o = 0; o < w.outFeatures; o++) for (let i = 0; i < I; i++) {
          let d = 0;
          for (let k = 0; k < R; k++) d += w.B[o * R + k] * w.A[k * I + i];
          want[o * I + i] += s * d;
        }
      }
      let worst = 0;
      for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / (1e-6 + Math.abs(want[i])));
      expect(worst, t.name).toBeLessThan(1e-5);
      const orig = model.weights.get(t.name)!;
      if (t.shape.length === 2 && !w) for (let i = 0; i < got.length; i++) quantMoved = Math.max(quantMoved, Math.abs(got[i] - orig[i]));
    }
    // The merged weights are the GGUF's (quantized) values, not the original float ones.
    expect(quantMoved).toBeGreaterThan(1e-4);
  });
});
