// Interop proof against an independent implementation: llama.cpp (through node-llama-cpp's
// CPU build) loads our base GGUF, our LoRA GGUF and our merged GGUF of a tiny random model,
// and its next-token probabilities must match the float64 reference model.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Llama, LlamaLogLevel, getLlama } from 'node-llama-cpp';
import { llamaCppProbs, maxAbsDiff } from './llama-cpp.testutil';
import { type RefLora, loraKeyA, loraKeyB, referenceForward } from '../engine/reference/model';
import { buildTinyModel, makeTempDir, type TinyModel, type TinyModelOptions, weightsF64 } from '../../test/fixtures/tiny-model';
import { rng } from '../../test/numeric';
import { exportBaseGguf, exportLoraGguf } from './gguf';
import { LINEAR_MODULES, type LinearModule, type LoraAdapter, loraScaling } from './lora';
import { linearShape } from '../engine/model/config';
import { SafetensorsFile, memorySource } from '../engine/model/safetensors';
import { openGgufModel } from '../engine/model/gguf-model';
import type { GgmlType } from '../engine/model/quant';
import { requantizeGguf } from '../engine/model/quant.testutil';
import { loadTokenizer } from '../data/tokenizer';

let llama: Llama;
let tmp: Awaited<ReturnType<typeof makeTempDir>>;

beforeAll(async () => {
  llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  tmp = await makeTempDir('lora-studio-gguf-');
}, 60_000);

afterAll(async () => {
  await llama?.dispose();
  await tmp?.remove();
});

/** A random adapter with non-zero B (a trained adapter, not PEFT's B = 0 init). */
function randomAdapter(model: TinyModel, opts: { r: number; alpha: number; useRslora?: boolean; targets?: readonly LinearModule[]; seed: number; magnitude?: number }): LoraAdapter {
  const r = rng(opts.seed);
  const targets = opts.targets ?? LINEAR_MODULES;
  const mag = opts.magnitude ?? 0.3;
  const layers: LoraAdapter['layers'] = [];
  for (let l = 0; l < model.config.numLayers; l++) {
    const layer: LoraAdapter['layers'][number] = {};
    for (const m of targets) {
      const { inFeatures, outFeatures } = linearShape(model.config, m);
      const A = Float32Array.from({ length: opts.r * inFeatures }, () => ((2 * r() - 1) * mag) / Math.sqrt(inFeatures));
      const B = Float32Array.from({ length: outFeatures * opts.r }, () => ((2 * r() - 1) * mag) / Math.sqrt(opts.r));
      layer[m] = { A, B, inFeatures, outFeatures };
    }
    layers.push(layer);
  }
  return { config: { r: opts.r, alpha: opts.alpha, dropout: 0, targetModules: [...targets], useRslora: opts.useRslora ?? false, baseModel: 'tiny' }, layers };
}

function refLora(adapter: LoraAdapter): RefLora {
  const weights = new Map<string, Float64Array>();
  adapter.layers.forEach((layer, l) => {
    for (const [m, w] of Object.entries(layer) as [LinearModule, NonNullable<(typeof layer)[LinearModule]>][]) {
      weights.set(loraKeyA(l, m), Float64Array.from(w.A));
      weights.set(loraKeyB(l, m), Float64Array.from(w.B));
    }
  });
  return { scaling: loraScaling(adapter.config), weights };
}

/** Reference next-token probabilities at every position of `ids`. */
function referenceProbs(model: TinyModel, adapter: LoraAdapter | null, ids: number[]): Float64Array[] {
  const T = ids.length;
  const V = model.config.vocabSize;
  const { logits } = referenceForward(model.config, weightsF64(model), adapter ? refLora(adapter) : null, {
    B: 1,
    T,
    inputIds: ids,
    targets: new Array(T).fill(-100),
    positions: ids.map((_, i) => i),
    segmentIds: new Array(T).fill(0),
  });
  const out: Float64Array[] = [];
  for (let t = 0; t < T; t++) {
    const row = logits.subarray(t * V, (t + 1) * V);
    const mx = Math.max(...row);
    const p = row.map((x) => Math.exp(x - mx));
    const s = p.reduce((a, b) => a + b, 0);
    out.push(p.map((x) => x / s));
  }
  return out;
}

// llama.cpp computes in f32 on CPU; the reference in float64 from the same f32 weights. With an
// F32 KV cache and flash attention off, the observed worst difference over all positions and
// tokens is ~6e-7; 1e-5 leaves room for f32 summation-order noise and is 10x tighter than
// the 1e-4 FORMATS.md reports. The fixture's head gain makes the distributions peaked (top
// probabilities 0.1-0.9), so an absolute bound on probabilities is meaningful. A wrong q/k
// permutation gives ~0.1, a wrong rsLoRA alpha far more than 1e-3.
const PROB_TOL = 1e-5;

// Gemma's GELU-tanh: ggml's CPU build (GGML_GELU_FP16) looks the activation up in a table
// indexed by the input rounded to f16 and stores the result as f16 (relative error ~5e-4 per
// activation). Observed worst difference on these tiny gemma3 files: 3.7e-4; with that f16
// rounding emulated in the reference (a one-off check) it falls to ~2e-5. A wrong norm shift,
// window, layer pattern or score scale moves the probabilities by more than 1e-2 (the window's
// effect is asserted below), so 1e-3 still separates right from wrong.
const GELU_TOL = 1e-3;

/** The bound for llama.cpp vs the float64 reference on this config. */
const probTol = (m: TinyModel): number => (m.config.gemma ? GELU_TOL : PROB_TOL);

const ids = [1, 72, 105, 33, 300, 12, 2, 45];

/** A tiny gemma3_text with the hyperparameters llama.cpp fixes for gemma3 (see ggufArchitecture). */
const GEMMA_LLAMA_CPP: TinyModelOptions = {
  architecture: 'gemma3_text', layers: 6, hiddenSize: 32, numHeads: 4, numKvHeads: 2, headDim: 8, intermediateSize: 40, tied: true,
  configOverrides: { query_pre_attn_scalar: 8, sliding_window_pattern: 6, sliding_window: 3 },
};

function writeGguf(name: string, bytes: Uint8Array): Promise<string> {
  return tmp.write(name, bytes);
}

/** Base weights read back from the fixture's model.safetensors bytes: the path a real export takes. */
function weightSource(model: TinyModel): Promise<SafetensorsFile> {
  return SafetensorsFile.open(memorySource(model.files['model.safetensors'] as Uint8Array, 'model.safetensors'));
}

const tokenizerFiles = (m: TinyModel) => ({ tokenizerJson: m.tokenizerJson, tokenizerConfig: m.tokenizerConfig, generationConfig: m.generationConfig });

describe.each<[string, TinyModelOptions]>([
  ['llama GQA, untied head, head_dim ≠ C/H', { layers: 2, hiddenSize: 32, numHeads: 4, numKvHeads: 2, headDim: 12, intermediateSize: 40, tied: false, seed: 11 }],
  ['llama, tied embeddings, MHA, 3 layers', { layers: 3, hiddenSize: 24, numHeads: 2, numKvHeads: 2, intermediateSize: 36, tied: true, seed: 12 }],
  ['qwen2: q/k/v biases, no q/k permutation, 1 kv head, tied', { architecture: 'qwen2', layers: 2, hiddenSize: 32, numHeads: 4, numKvHeads: 1, intermediateSize: 40, tied: true, seed: 13 }],
  ['qwen3: per-head q/k norms, head_dim 12 ≠ C/H, GQA, tied', { architecture: 'qwen3', layers: 2, hiddenSize: 32, numHeads: 4, numKvHeads: 2, headDim: 12, intermediateSize: 40, tied: true, seed: 15 }],
  // llama.cpp fixes Gemma 3's layer pattern (every 6th global), local RoPE base (10000) and
  // score scale (1/√head_dim): the tiny configs take those values (6 layers, 5 sliding).
  ['gemma3: 5 sliding layers (window 3) + 1 global, (1 + w) norms stored +1, GQA, tied', { ...GEMMA_LLAMA_CPP, seed: 16 }],
  ['gemma3: linear RoPE scaling ×8 of the global layer, untied, MQA', { ...GEMMA_LLAMA_CPP, numKvHeads: 1, tied: false, ropeTheta: 1e6, ropeScaling: { rope_type: 'linear', factor: 8 }, seed: 17 }],
  [
    'llama with llama3 rope_scaling (rope_freqs.weight), extra vocab rows',
    { layers: 2, hiddenSize: 32, numHeads: 4, numKvHeads: 2, headDim: 8, intermediateSize: 40, extraVocab: 5, seed: 14, ropeTheta: 10000, ropeScaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 } },
  ],
])('llama.cpp matches the float64 reference: %s', (_label, opts) => {
  const model = buildTinyModel(opts);
  let basePath: string;

  beforeAll(async () => {
    basePath = await writeGguf(`base-${opts.seed}.gguf`, await exportBaseGguf(model.config, await weightSource(model), tokenizerFiles(model), { name: 'tiny' }));
  });

  it('base model', async () => {
    const got = await llamaCppProbs(llama, basePath, null, ids, model.config.vocabSize);
    const want = referenceProbs(model, null, ids);
    const sums = got.map((p) => p.reduce((a, b) => a + b, 0));
    for (const s of sums) expect(s).toBeCloseTo(1, 4);
    expect(maxAbsDiff(got, want)).toBeLessThan(probTol(model));
    // The distribution must be peaked enough for the tolerance to mean something.
    expect(Math.max(...want.map((p) => Math.max(...p)))).toBeGreaterThan(0.1);
    const g = model.config.gemma;
    if (g) {
      // The sliding window must matter at these positions, or this case would not test it.
      const allGlobal = referenceProbs({ ...model, config: { ...model.config, gemma: { ...g, slidingLayers: g.slidingLayers.map(() => false) } } }, null, ids);
      expect(maxAbsDiff(allGlobal, want)).toBeGreaterThan(10 * GELU_TOL);
      if (g.ropeLinearFactor !== 1) {
        const unscaled = referenceProbs({ ...model, config: { ...model.config, gemma: { ...g, ropeLinearFactor: 1 } } }, null, ids);
        expect(maxAbsDiff(unscaled, want)).toBeGreaterThan(10 * GELU_TOL);
      }
    }
    if (model.config.ropeScaling) {
      // rope scaling must matter at these positions, or this case would not test rope_freqs.
      const unscaled = referenceProbs({ ...model, config: { ...model.config, ropeScaling: null } }, null, ids);
      expect(maxAbsDiff(unscaled, want)).toBeGreaterThan(10 * PROB_TOL);
    }
  }, 30_000);

  it.each([
    ['LoRA on all seven linears', { r: 4, alpha: 8, useRslora: false }],
    ['rsLoRA on all seven linears (alpha·√r exported)', { r: 4, alpha: 3, useRslora: true }],
  ] as const)('%s', async (_name, lc) => {
    const adapter = randomAdapter(model, { ...lc, seed: 100 + (opts.seed ?? 0) });
    const loraPath = await writeGguf(`lora-${opts.seed}-${lc.useRslora}.gguf`, await exportLoraGguf(adapter, model.config));
    const got = await llamaCppProbs(llama, basePath, loraPath, ids, model.config.vocabSize);
    const want = referenceProbs(model, adapter, ids);
    expect(maxAbsDiff(got, want)).toBeLessThan(probTol(model));
    // The LoRA must move the distribution far more than the tolerance, or this proves nothing.
    expect(maxAbsDiff(want, referenceProbs(model, null, ids))).toBeGreaterThan(Math.max(100 * PROB_TOL, 10 * probTol(model)));
  }, 30_000);

  it('merged model GGUF (base + LoRA folded in) matches the reference with the adapter', async () => {
    const adapter = randomAdapter(model, { r: 3, alpha: 5, useRslora: true, seed: 200 + (opts.seed ?? 0), targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] });
    const mergedPath = await writeGguf(`merged-${opts.seed}.gguf`, await exportBaseGguf(model.config, await weightSource(model), tokenizerFiles(model), { merge: adapter }));
    const got = await llamaCppProbs(llama, mergedPath, null, ids, model.config.vocabSize);
    const want = referenceProbs(model, adapter, ids);
    expect(maxAbsDiff(got, want)).toBeLessThan(probTol(model));
    expect(maxAbsDiff(want, referenceProbs(model, null, ids))).toBeGreaterThan(Math.max(100 * PROB_TOL, 10 * probTol(model)));
  }, 30_000);
});

// Quantized base models: llama.cpp loads a GGUF holding Q8_0 / Q4_0 / Q4_K / Q6_K blocks; our
// GGUF reader loads the same file (config, HF names, q/k permutation undone, blocks
// dequantized) and the float64 reference runs on those weights.
// - Only token_embd quantized: llama.cpp's embedding lookup dequantizes rows exactly
//   (dequantize_row_*), everything else is F32, so the match must be as tight as for F32
//   files (PROB_TOL), while the quantization itself moves the probabilities far more.
// - Every 2-D weight quantized (q/k rows of whole blocks permuted for llama): llama.cpp's CPU
//   matmuls also quantize the activations (to Q8_0 / Q8_K), which moves probabilities by up to
//   ~2e-2 here (observed worst 2.2e-2 on these peaked distributions); QUANT_TOL bounds that. A
//   wrong q/k row order or misread blocks give ~0.1 or more.
const QUANT_TOL = 4e-2;

describe.each<[string, TinyModelOptions]>([
  ['llama GQA, untied head (q/k rows permuted in GGUF)', { layers: 2, hiddenSize: 256, numHeads: 4, numKvHeads: 2, intermediateSize: 256, tied: false, seed: 21 }],
  ['qwen2 biases, untied', { architecture: 'qwen2', layers: 2, hiddenSize: 256, numHeads: 4, numKvHeads: 1, intermediateSize: 512, tied: false, seed: 22 }],
  ['qwen3 q/k norms, head_dim 128 ≠ C/H, untied', { architecture: 'qwen3', layers: 2, hiddenSize: 256, numHeads: 4, numKvHeads: 2, headDim: 128, intermediateSize: 512, tied: false, seed: 23 }],
  [
    'gemma3 (1 + w) norms, head_dim 128 = query_pre_attn_scalar, 6 layers, untied',
    { ...GEMMA_LLAMA_CPP, hiddenSize: 256, numHeads: 2, numKvHeads: 1, headDim: 128, intermediateSize: 512, tied: false, configOverrides: { ...GEMMA_LLAMA_CPP.configOverrides, query_pre_attn_scalar: 128 }, seed: 24 },
  ],
])('llama.cpp and our GGUF reader agree on quantized weights: %s', (_label, opts) => {
  const model = buildTinyModel(opts);
  let f32Gguf: Uint8Array;
  let unquantized: Float64Array[];

  beforeAll(async () => {
    f32Gguf = await exportBaseGguf(model.config, await weightSource(model), tokenizerFiles(model), { name: 'tiny' });
    unquantized = referenceProbs(model, null, ids);
  });

  /** Both implementations' probabilities on one file, and how far quantization moved the reference. */
  async function compare(bytes: Uint8Array, file: string): Promise<{ diff: number; quantEffect: number }> {
    const path = await writeGguf(file, bytes);
    const ours = await openGgufModel(memorySource(bytes, file));
    expect(ours.config).toEqual(model.config);
    const weights = new Map<string, Float32Array>();
    for (const n of ours.weights.names()) weights.set(n, await ours.weights.readF32(n));
    const want = referenceProbs({ ...model, weights }, null, ids);
    const got = await llamaCppProbs(llama, path, null, ids, model.config.vocabSize);
    return { diff: maxAbsDiff(got, want), quantEffect: maxAbsDiff(want, unquantized) };
  }

  it.each<GgmlType>(['Q8_0', 'Q4_0', 'Q4_K', 'Q6_K'])('%s token embedding: exact dequantization', async (type) => {
    const { diff, quantEffect } = await compare(await requantizeGguf(f32Gguf, type, ['token_embd.weight']), `embd-${opts.seed}-${type}.gguf`);
    expect(diff).toBeLessThan(probTol(model));
    expect(quantEffect).toBeGreaterThan(100 * PROB_TOL);
  }, 60_000);

  it.each<GgmlType>(['Q8_0', 'Q4_0', 'Q4_K', 'Q6_K'])('%s on every 2-D weight', async (type) => {
    const bytes = await requantizeGguf(f32Gguf, type);
    const ours = await openGgufModel(memorySource(bytes, `${type}.gguf`));
    for (const n of ours.weights.names()) expect(ours.weights.info(n).type).toBe(ours.weights.info(n).shape.length === 2 ? type : 'F32');
    const { diff } = await compare(bytes, `quant-${opts.seed}-${type}.gguf`);
    expect(diff).toBeLessThan(QUANT_TOL);
  }, 60_000);
});

// SentencePiece-style tokenizers (byte fallback: Llama 2, Gemma) go into the GGUF as llama.cpp's
// SPM vocabulary: scores (minus the rank of the first merge making each token), byte and control
// token types, the "▁" prefix flag. llama.cpp's tokenizer must then give our tokenizer's ids
// on text with spaces, newlines, tabs, digits, accents, CJK, emoji, special-token text, and on
// random runs of the vocabulary's pieces (which exercise the merge order).
describe.each([
  ['llama', { tokenizer: 'llama', layers: 2, hiddenSize: 32, numHeads: 4, numKvHeads: 2, intermediateSize: 40, seed: 31 }],
  ['gemma', { ...GEMMA_LLAMA_CPP, tokenizer: 'gemma', seed: 32 }],
] as const)('llama.cpp tokenizes our SentencePiece-style (%s) GGUF as our tokenizer does', (_kind, opts) => {
  it('same ids on fixed and random texts', async () => {
    const model = buildTinyModel(opts);
    const path = await writeGguf(`spm-${opts.seed}.gguf`, await exportBaseGguf(model.config, await weightSource(model), tokenizerFiles(model), { name: 'tiny' }));
    const ours = loadTokenizer({ tokenizerJson: model.tokenizerJson, tokenizerConfig: model.tokenizerConfig });
    const vocab = (model.tokenizerJson.model as { vocab: Record<string, number> }).vocab;
    const pieces = Object.keys(vocab).filter((t) => !/^<.*>$/.test(t));
    const r = rng(7);
    const texts = [
      'hello world', 'The quick brown fox jumps over the lazy dog.', '  two  spaces', 'line one\nline two\n\nthree', 'tabs\tand\ttabs', 'digits 12345 and 3.14159',
      'unicode: café naïve 日本語 🙂', 'a', ' leading', 'trailing ', '   ', 'capital capitals capitalism', '</s> and <s> inside', '<unk>',
      ...Array.from({ length: 200 }, () => Array.from({ length: 1 + Math.floor(r() * 10) }, () => pieces[Math.floor(r() * pieces.length)].replaceAll('▁', ' ')).join('') + (r() < 0.2 ? '\n' : '')),
    ];
    const cpp = await llama.loadModel({ modelPath: path, vocabOnly: true });
    try {
      let chars = 0, toks = 0;
      for (const t of texts) {
        const want = ours.encode(t);
        expect(Array.from(cpp.tokenize(t, true)), JSON.stringify(t)).toEqual(want);
        chars += Array.from(t).length;
        toks += want.length;
      }
      expect(toks).toBeLessThan(0.6 * chars); // merges made most tokens, so their order was tested
    } finally {
      await cpp.dispose();
    }
  }, 60_000);
});
