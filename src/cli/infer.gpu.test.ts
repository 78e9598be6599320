// `logits`, `generate` and `eval` on Dawn against the float64 reference model, base and adapter.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './run-cli.testutil';
import { randomAdapter, weightsF64, writePeftAdapter, writeTinyModel, type TinyModel } from '../../test/fixtures/tiny-model';
import { expectClose } from '../../test/numeric';
import { exportPeft } from '../adapters/peft';
import { loraScaling, type LoraAdapter } from '../adapters/lora';
import { LINEAR_MODULES } from '../engine/model/config';
import { loraKeyA, loraKeyB, referenceForward, type RefLora } from '../engine/reference/model';
import { loadTokenizer } from '../data';
import { storedWeights } from '../engine/model/tiny-random.testutil';

let dir: string;
let modelDir: string;
let adapterDir: string;
let model: TinyModel;
let adapter: LoraAdapter;

const run = runCli;

function refLora(a: LoraAdapter): RefLora {
  const weights = new Map<string, Float64Array>();
  a.layers.forEach((l, i) => {
    for (const m of LINEAR_MODULES) {
      const w = l[m];
      if (!w) continue;
      weights.set(loraKeyA(i, m), Float64Array.from(w.A));
      weights.set(loraKeyB(i, m), Float64Array.from(w.B));
    }
  });
  return { scaling: loraScaling(a.config), weights };
}

function refLogits(ids: number[], lora: RefLora | null): Float64Array {
  const T = ids.length;
  return referenceForward(model.config, weightsF64(model), lora, { B: 1, T, inputIds: ids, targets: new Array(T).fill(-100), positions: ids.map((_, i) => i), segmentIds: new Array(T).fill(1) }).logits;
}

/** The reference model's greedy continuation of `prompt`, `n` tokens long. */
function argmaxChain(m: TinyModel, prompt: number[], n: number, lora: RefLora | null): number[] {
  const seq = [...prompt];
  const V = m.config.vocabSize;
  for (let i = 0; i < n; i++) {
    const T = seq.length;
    const logits = referenceForward(m.config, weightsF64(m), lora, { B: 1, T, inputIds: seq, targets: new Array(T).fill(-100), positions: seq.map((_, j) => j), segmentIds: new Array(T).fill(1) }).logits;
    const last = logits.subarray((T - 1) * V, T * V);
    let best = 0;
    for (let v = 1; v < V; v++) if (last[v] > last[best]) best = v;
    seq.push(best);
  }
  return seq.slice(prompt.length);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lora-infer-'));
  modelDir = join(dir, 'model');
  model = await writeTinyModel(modelDir, { seed: 21, numKvHeads: 2, tied: false, headGain: 3 });
  adapter = randomAdapter(model);
  adapterDir = join(dir, 'adapter');
  await writePeftAdapter(adapterDir, adapter, model);
});

afterAll(() => rm(dir, { recursive: true, force: true }));

const ids = [5, 77, 130, 9, 250, 31];
const f32 = ['--weights', 'f32'];
// f32 GPU arithmetic against float64 over a 2-layer model with C=32: errors ~1e-5 of logits O(1).
const ATOL = 2e-4;
const RTOL = 1e-3;

describe('lora-studio logits / generate / eval', () => {
  it('--weights q8|q4 quantizes on load: logits match the reference on the dequantized weights; rows that are not whole blocks are refused by name', async () => {
    const qDir = join(dir, 'q-model');
    const q = await writeTinyModel(qDir, { seed: 22, numKvHeads: 2, tied: false, intermediateSize: 64 });
    const T = ids.length;
    for (const storage of ['q8', 'q4'] as const) {
      const r = await run(['logits', '--model', qDir, '--ids', ids.join(','), '--weights', storage]);
      expect(r.code, r.err).toBe(0);
      expect(r.err).toContain(`weights: ${storage} (as requested`);
      const want = referenceForward(q.config, storedWeights(q.config, weightsF64(q), storage), null, { B: 1, T, inputIds: ids, targets: new Array(T).fill(-100), positions: ids.map((_, i) => i), segmentIds: new Array(T).fill(1) }).logits;
      expectClose(JSON.parse(r.out[0]).logits.flat(), want, ATOL, RTOL, `${storage} logits`);
    }
    const bad = await run(['logits', '--model', modelDir, '--ids', ids.join(','), '--weights', 'q8']); // intermediate_size 48
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/down_proj\.weight: a q8_0 weight needs its row length \(the input features\) to be a multiple of 32, got 48/);
  });

  it('logits of every position match the float64 reference, base and with the adapter', async () => {
    const base = await run(['logits', '--model', modelDir, '--ids', ids.join(','), ...f32]);
    expect(base.code, base.err).toBe(0);
    const b = JSON.parse(base.out[0]);
    expect(b.logits).toHaveLength(ids.length);
    expectClose(b.logits.flat(), refLogits(ids, null), ATOL, RTOL, 'base logits');

    const tuned = await run(['logits', '--model', modelDir, '--adapter', adapterDir, '--ids', ids.join(','), ...f32]);
    expect(tuned.code, tuned.err).toBe(0);
    const t = JSON.parse(tuned.out[0]);
    const want = refLogits(ids, refLora(adapter));
    expectClose(t.logits.flat(), want, ATOL, RTOL, 'adapter logits');
    // The adapter really changes the model (by far more than the tolerance).
    const maxDiff = Math.max(...t.logits.flat().map((x: number, i: number) => Math.abs(x - b.logits.flat()[i])));
    expect(maxDiff).toBeGreaterThan(0.05);

    const off = await run(['logits', '--model', modelDir, '--adapter', adapterDir, '--scale', '0', '--ids', ids.join(','), ...f32]);
    expectClose(JSON.parse(off.out[0]).logits.flat(), b.logits.flat(), 1e-6, 0, 'adapter at scale 0 = base');
  });

  it('an adapter on some layers only (layers_to_transform) loads onto those layers', async () => {
    // Layer 1 keeps its modules, layer 0 has none: PEFT writes layers_to_transform [1].
    const partial: LoraAdapter = { config: adapter.config, layers: adapter.layers.map((l, i) => (i === 1 ? l : {})) };
    const partialDir = join(dir, 'adapter-layer1');
    await mkdir(partialDir, { recursive: true });
    for (const [name, data] of Object.entries(exportPeft(partial, model.config))) await writeFile(join(partialDir, name), data);
    expect(await readFile(join(partialDir, 'adapter_config.json'), 'utf8')).toMatch(/"layers_to_transform": \[\s*1\s*\]/);
    const r = await run(['logits', '--model', modelDir, '--adapter', partialDir, '--ids', ids.join(','), ...f32]);
    expect(r.code, r.err).toBe(0);
    const got = JSON.parse(r.out[0]).logits.flat();
    expectClose(got, refLogits(ids, refLora(partial)), ATOL, RTOL, 'layer-1 adapter logits');
    // Not the full adapter's logits: layer 0's modules really are absent.
    const full = refLogits(ids, refLora(adapter));
    expect(Math.max(...got.map((x: number, i: number) => Math.abs(x - full[i])))).toBeGreaterThan(0.05);
  });

  it('greedy generate reproduces the reference model’s argmax chain', async () => {
    const r = await run(['generate', '--model', modelDir, '--adapter', adapterDir, '--prompt', 'hi', '--raw', '--max-tokens', '4', '--json', ...f32]);
    expect(r.code, r.err).toBe(0);
    const res = JSON.parse(r.out[0]);
    expect(res.tokens.length).toBeGreaterThan(0);
    // Replay: prompt tokens from the tokenizer, then each next token is the reference argmax.
    const tok = loadTokenizer({ tokenizerJson: model.tokenizerJson, tokenizerConfig: model.tokenizerConfig });
    expect(res.tokens).toEqual(argmaxChain(model, tok.encode('hi'), res.tokens.length, refLora(adapter)));
  });

  it('a base model without a chat template: plain text after BOS, the reply keeps its leading space, an empty prompt starts from BOS', async () => {
    const base = await writeTinyModel(join(dir, 'llama-base'), { seed: 22, tokenizer: 'llama', headGain: 3 });
    const tok = loadTokenizer({ tokenizerJson: base.tokenizerJson, tokenizerConfig: base.tokenizerConfig });
    const BOS = 1;
    for (const prompt of ['The capital of France is', '']) {
      const r = await run(['generate', '--model', join(dir, 'llama-base'), '--prompt', prompt, '--max-tokens', '6', '--json', ...f32]);
      expect(r.code, r.err).toBe(0);
      const res = JSON.parse(r.out[0]);
      const promptIds = [BOS, ...tok.encode(prompt)];
      expect(res.prompt_tokens).toBe(promptIds.length);
      expect(res.tokens).toEqual(argmaxChain(base, promptIds, res.tokens.length, null));
      const reply = res.tokens.filter((t: number) => t !== 2);
      if (prompt) {
        // The argmax chain of this seed starts a word: "▁…", a space the reply must keep.
        expect(tok.decode([...tok.encode(prompt), reply[0]])).toMatch(new RegExp(`^${prompt} `));
        expect(res.text).toBe(tok.decode([...tok.encode(prompt), ...reply]).slice(prompt.length));
        expect(res.text.startsWith(' ')).toBe(true);
      } else expect(res.text).toBe(tok.decode(reply));
    }
  });

  it('eval reports the mean loss; scale 0 equals the base model', async () => {
    const data = join(dir, 'eval.jsonl');
    await writeFile(data, Array.from({ length: 6 }, (_, i) => JSON.stringify({ messages: [{ role: 'user', content: `q${i}` }, { role: 'assistant', content: `a${i}` }] })).join('\n'));
    const base = await run(['eval', '--model', modelDir, '--data', data, '--seq-len', '128', '--batch', '2', '--json', ...f32]);
    expect(base.code, base.err).toBe(0);
    const off = await run(['eval', '--model', modelDir, '--adapter', adapterDir, '--scale', '0', '--data', data, '--seq-len', '128', '--batch', '2', '--json', ...f32]);
    const on = await run(['eval', '--model', modelDir, '--adapter', adapterDir, '--data', data, '--seq-len', '128', '--batch', '2', '--json', ...f32]);
    const [b, o, a] = [base, off, on].map((r) => JSON.parse(r.out[0]));
    expect(b.targets).toBeGreaterThan(0);
    expect(Math.abs(o.loss - b.loss)).toBeLessThan(1e-5);
    expect(Math.abs(a.loss - b.loss)).toBeGreaterThan(1e-3);
    expect(b.perplexity).toBeCloseTo(Math.exp(b.loss), 6);
    // The same rule as train: a --seq-len past the model's context is refused, not run.
    const cfg = JSON.parse(await readFile(join(modelDir, 'config.json'), 'utf8')) as { max_position_embeddings: number };
    const long = await run(['eval', '--model', modelDir, '--data', data, '--seq-len', String(cfg.max_position_embeddings + 1), ...f32]);
    expect(long.code).toBe(1);
    expect(long.err).toContain(`--seq-len ${cfg.max_position_embeddings + 1}: sequence length ${cfg.max_position_embeddings + 1} is longer than this model's max_position_embeddings (${cfg.max_position_embeddings})`);
  });
});
