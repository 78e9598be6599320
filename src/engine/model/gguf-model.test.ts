import { describe, expect, it } from 'vitest';
import { buildTinyModel, randomAdapter, type TinyModelOptions } from '../../../test/fixtures/tiny-model';
import { exportBaseGguf, exportLoraGguf } from '../../adapters/gguf';
import { LINEAR_MODULES } from '../../adapters/lora';
import { linearShape } from './config';
import { f16BitsToNumber, numberToF16Bits, numberToBf16Bits, bf16BitsToNumber } from './dtype';
import { collectChunks, ggufChunks, kv, readGguf } from './gguf-format';
import { ggufTensorName, llama3Factors, llama3ScalingFromFactors, openGgufModel, permuteRowsForRope } from './gguf-model';
import { dequantize } from './quant';
import { requantizeGguf } from './quant.testutil';
import { memorySource } from './safetensors';

/** A tiny gemma3_text that llama.cpp runs as transformers does (its fixed pattern 6, local base 10000, scale 1/√head_dim). */
const GEMMA_LLAMA_CPP: TinyModelOptions = {
  architecture: 'gemma3_text', layers: 6, hiddenSize: 32, numHeads: 4, numKvHeads: 2, headDim: 8, intermediateSize: 40,
  configOverrides: { query_pre_attn_scalar: 8, sliding_window_pattern: 6, sliding_window: 3 },
};

const tokenizerFiles = (m: ReturnType<typeof buildTinyModel>) => ({ tokenizerJson: m.tokenizerJson, tokenizerConfig: m.tokenizerConfig, generationConfig: m.generationConfig });
const weightsOf = (m: ReturnType<typeof buildTinyModel>) => ({ readF32: async (n: string) => m.weights.get(n)! });

async function ggufOf(opts: TinyModelOptions, type?: 'F32' | 'F16' | 'BF16' | 'Q8_0' | 'Q4_0') {
  const model = buildTinyModel(opts);
  const bytes = await exportBaseGguf(model.config, weightsOf(model), tokenizerFiles(model), { type });
  return { model, bytes };
}

/** Elements that differ (a loop: deep equality of long arrays is slow). */
function mismatches(a: Float32Array, b: Float32Array): number {
  let n = Math.abs(a.length - b.length);
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) n++;
  return n;
}

/** The same file with some KVs replaced (tensors copied as they are). */
async function withKvs(bytes: Uint8Array, change: Record<string, ReturnType<typeof kv.str>>): Promise<Uint8Array> {
  const g = await readGguf(memorySource(bytes));
  const kvs = [...g.kv.values()].map((e) => change[e.key] ?? e);
  for (const [k, v] of Object.entries(change)) if (!g.kv.has(k)) kvs.push(v);
  return collectChunks(ggufChunks(kvs, g.tensors.map((t) => ({ name: t.name, shape: t.shape, type: t.typeName! })), (s) => g.readRaw(s.name)));
}

describe('GGUF base models: config and weights read back', () => {
  it.each<[string, TinyModelOptions]>([
    ['llama GQA, untied, head_dim ≠ C/H (q/k rows permuted in the file)', { layers: 2, hiddenSize: 32, numHeads: 4, numKvHeads: 2, headDim: 12, intermediateSize: 40, seed: 1 }],
    ['qwen2, biases, tied, one kv head', { architecture: 'qwen2', layers: 3, hiddenSize: 32, numHeads: 4, numKvHeads: 1, intermediateSize: 40, tied: true, seed: 2 }],
    ['qwen3, q/k norms, head_dim ≠ C/H, tied (no permutation: NEOX RoPE)', { architecture: 'qwen3', layers: 2, hiddenSize: 32, numHeads: 4, numKvHeads: 2, headDim: 12, intermediateSize: 40, tied: true, seed: 6 }],
    ['llama, tied, extra vocab rows', { layers: 1, hiddenSize: 16, numHeads: 2, numKvHeads: 2, intermediateSize: 24, tied: true, extraVocab: 3, seed: 3 }],
  ])('%s: same config, every F32 tensor bit-identical in HF layout', async (_l, opts) => {
    const { model, bytes } = await ggufOf(opts);
    const { config, weights } = await openGgufModel(memorySource(bytes, 'm.gguf'));
    expect(config).toEqual(model.config);
    expect(new Set(weights.names())).toEqual(new Set(model.weights.keys()));
    for (const [name, w] of model.weights) {
      expect(weights.info(name).shape).toEqual(model.shapes.get(name));
      expect(Array.from(await weights.readF32(name)), name).toEqual(Array.from(w));
    }
  });

  it.each<[string, TinyModelOptions]>([
    ['6 layers (5 sliding, 1 global), GQA, head_dim 8 = query_pre_attn_scalar', { ...GEMMA_LLAMA_CPP, seed: 30 }],
    ['linear RoPE scaling of the global layers, tied, 2 layers', { ...GEMMA_LLAMA_CPP, layers: 2, tied: true, ropeTheta: 1e6, ropeScaling: { rope_type: 'linear', factor: 8 }, seed: 31 }],
  ])('gemma3: %s: same config; norms stored as 1 + w and read back as w', async (_l, opts) => {
    const { model, bytes } = await ggufOf(opts);
    const file = await readGguf(memorySource(bytes));
    expect(file.get('general.architecture')).toBe('gemma3');
    expect(file.get('gemma3.attention.sliding_window')).toBe(3);
    const { config, weights } = await openGgufModel(memorySource(bytes, 'g.gguf'));
    expect(config).toEqual(model.config);
    for (const [name, w] of model.weights) {
      const got = await weights.readF32(name);
      if (!name.endsWith('norm.weight')) {
        expect(mismatches(got, w), name).toBe(0);
        continue;
      }
      // convert_hf_to_gguf.py's +1: the file holds f32(1 + w); reading subtracts 1 (exact in f32 for |w| < 1).
      const stored = await file.readF32(weights.info(name).ggufName);
      expect(mismatches(stored, w.map((v) => v + 1)), name).toBe(0);
      expect(mismatches(got, stored.map((v) => v - 1)), name).toBe(0);
      for (let i = 0; i < w.length; i++) expect(Math.abs(got[i] - w[i])).toBeLessThanOrEqual(2 ** -24);
    }
  });

  it('gemma3 read: no sliding_window means every layer global; scale and embedding as llama.cpp fixes them', async () => {
    const { bytes } = await ggufOf({ ...GEMMA_LLAMA_CPP, seed: 32 });
    const { config } = await openGgufModel(memorySource(await withKvs(bytes, { 'gemma3.attention.sliding_window': kv.u32('gemma3.attention.sliding_window', 0) }), 'g.gguf'));
    expect(config.gemma!.slidingLayers).toEqual(new Array(6).fill(false));
    expect(config.gemma!.queryPreAttnScalar).toBe(8);
    expect(config.gemma!.embedScale).toBe(Math.fround(Math.sqrt(32)));
  });

  it('llama3 RoPE scaling is recovered from rope_freqs.weight (the converter writes no scaling keys)', async () => {
    const ropeScaling = { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 };
    const { model, bytes } = await ggufOf({ layers: 1, hiddenSize: 32, numHeads: 2, numKvHeads: 1, headDim: 16, intermediateSize: 24, ropeScaling, seed: 4 });
    const { config } = await openGgufModel(memorySource(bytes));
    const s = config.ropeScaling!;
    expect(s.factor).toBe(8);
    // one frequency on the ramp: the thresholds are not all determined; equal factors are the same model
    const want = llama3Factors(model.config.ropeScaling!, 10000, 16);
    const got = llama3Factors(s, 10000, 16);
    for (let j = 0; j < 8; j++) expect(got[j]).toBeCloseTo(want[j], 6);
    // Llama 3.2's real parameters (θ = 500000, D = 64): a smooth ramp of several frequencies
    const real = { ropeType: 'llama3' as const, factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 };
    const fit = llama3ScalingFromFactors(llama3Factors(real, 500000, 64), 500000, 64)!;
    expect(fit.factor).toBe(32);
    expect(fit.originalMaxPositionEmbeddings).toBeCloseTo(8192, 1);
    expect(fit.highFreqFactor).toBeCloseTo(4, 5);
    expect(() => llama3ScalingFromFactors(Float32Array.from({ length: 32 }, (_, j) => 1 + (j % 3)), 500000, 64, 'x.gguf')).toThrow(/x.gguf: rope_freqs.weight does not match Llama 3 RoPE scaling/);
  });

  it('F16 and BF16 files: dtype in the config, values as rounded by the writer', async () => {
    const opts = { layers: 1, hiddenSize: 32, numHeads: 4, numKvHeads: 2, intermediateSize: 32, seed: 5 };
    for (const [type, round] of [['F16', (x: number) => f16BitsToNumber(numberToF16Bits(x))], ['BF16', (x: number) => bf16BitsToNumber(numberToBf16Bits(x))]] as const) {
      const { model, bytes } = await ggufOf(opts, type);
      const { config, weights } = await openGgufModel(memorySource(bytes));
      expect(config.dtype).toBe(type);
      expect(weights.info('model.layers.0.mlp.up_proj.weight').type).toBe(type);
      expect(weights.info('model.norm.weight').type).toBe('F32');
      const q = model.weights.get('model.layers.0.self_attn.q_proj.weight')!;
      expect(Array.from(await weights.readF32('model.layers.0.self_attn.q_proj.weight'))).toEqual(Array.from(q, round));
    }
  });

  it.each(['Q8_0', 'Q4_0', 'Q4_K', 'Q6_K'] as const)('%s: raw blocks kept, q/k rows of whole blocks put back in HF order', async (type) => {
    // K-quants need rows of 256: C = F = H·D = 256
    const { model, bytes: f32 } = await ggufOf({ layers: 1, hiddenSize: 256, numHeads: 4, numKvHeads: 2, intermediateSize: 256, seed: 6 });
    const bytes = await requantizeGguf(f32, type);
    const { weights, gguf } = await openGgufModel(memorySource(bytes));
    const cfg = model.config;
    for (const m of LINEAR_MODULES) {
      const name = `model.layers.0.${m === 'gate_proj' || m === 'up_proj' || m === 'down_proj' ? 'mlp' : 'self_attn'}.${m}.weight`;
      const raw = await weights.readBlocks(name);
      expect(raw.type).toBe(type);
      const { inFeatures, outFeatures } = linearShape(cfg, m);
      expect(raw.shape).toEqual([outFeatures, inFeatures]);
      const fileValues = dequantize(type, await gguf.readRaw(raw.ggufName));
      const heads = m === 'q_proj' ? cfg.numHeads : m === 'k_proj' ? cfg.numKvHeads : 0;
      // the raw blocks, dequantized, are the file's values with the llama permutation undone
      const hf = heads ? permuteRowsForRope(fileValues, outFeatures, inFeatures, heads, true) : fileValues;
      expect(mismatches(dequantize(type, raw.data), hf), name).toBe(0);
      expect(mismatches(await weights.readF32(name), hf), name).toBe(0);
      // and they are close to the original HF weights row by row (a wrong row order is not)
      const orig = model.weights.get(name)!;
      let worst = 0;
      for (let i = 0; i < orig.length; i++) worst = Math.max(worst, Math.abs(hf[i] - orig[i]));
      const amax = orig.reduce((a, x) => Math.max(a, Math.abs(x)), 0);
      expect(worst).toBeLessThan(amax * (type === 'Q8_0' ? 0.01 : type === 'Q6_K' ? 0.05 : 0.2));
    }
  }, 60_000);

  it('reads only the header and the tensors asked for, not the whole file', async () => {
    const { bytes } = await ggufOf({ layers: 2, hiddenSize: 256, numHeads: 4, numKvHeads: 2, intermediateSize: 256, seed: 7 });
    let read = 0;
    const src = memorySource(bytes);
    const counting = { ...src, read: (o: number, n: number) => ((read += n), src.read(o, n)) };
    const { weights } = await openGgufModel(counting);
    const afterOpen = read;
    expect(bytes.byteLength).toBeGreaterThan(3 << 20);
    expect(afterOpen).toBeLessThanOrEqual(1 << 20); // the header's first read
    await weights.readF32('model.norm.weight');
    expect(read - afterOpen).toBe(256 * 4);
  }, 30_000);
});

describe('GGUF base models: clear refusals', () => {
  const small = { layers: 1, hiddenSize: 32, numHeads: 4, numKvHeads: 2, intermediateSize: 32, seed: 8 };

  it('an unsupported architecture names the supported ones', async () => {
    const { bytes } = await ggufOf(small);
    await expect(openGgufModel(memorySource(await withKvs(bytes, { 'general.architecture': kv.str('general.architecture', 'gemma2') }), 'g2.gguf'))).rejects.toThrow(
      /g2.gguf: general.architecture "gemma2" is a llama.cpp architecture the engine does not run yet \(supported: llama, qwen2, qwen3, gemma3\)/,
    );
    await expect(openGgufModel(memorySource(await withKvs(bytes, { 'general.architecture': kv.str('general.architecture', 'bert') }), 'b.gguf'))).rejects.toThrow(/"bert" is not supported \(supported: llama, qwen2, qwen3, gemma3\)/);
  });

  it('gemma3_text: llama.cpp tensor names for its four layer norms; exports refused where llama.cpp would run the model differently', async () => {
    // gguf-py: ATTN_POST_NORM post_attention_norm, FFN_PRE_NORM ffn_norm, FFN_POST_NORM post_ffw_norm.
    expect(ggufTensorName('model.layers.3.input_layernorm.weight', 'gemma3_text')).toBe('blk.3.attn_norm.weight');
    expect(ggufTensorName('model.layers.3.post_attention_layernorm.weight', 'gemma3_text')).toBe('blk.3.post_attention_norm.weight');
    expect(ggufTensorName('model.layers.3.pre_feedforward_layernorm.weight', 'gemma3_text')).toBe('blk.3.ffn_norm.weight');
    expect(ggufTensorName('model.layers.3.post_feedforward_layernorm.weight', 'gemma3_text')).toBe('blk.3.post_ffw_norm.weight');
    expect(ggufTensorName('model.layers.3.self_attn.q_norm.weight', 'gemma3_text')).toBe('blk.3.attn_q_norm.weight');
    // The llama family's MLP input norm is post_attention_layernorm → ffn_norm.
    expect(ggufTensorName('model.layers.3.post_attention_layernorm.weight', 'qwen3')).toBe('blk.3.ffn_norm.weight');
    expect(() => ggufTensorName('model.layers.3.pre_feedforward_layernorm.weight', 'llama')).toThrow(/no GGUF name/);
    // The fixture's default gemma (pattern 2, query_pre_attn_scalar 16) is not what llama.cpp runs.
    const g = buildTinyModel({ ...small, layers: 2, architecture: 'gemma3_text' });
    await expect(exportBaseGguf(g.config, weightsOf(g), tokenizerFiles(g))).rejects.toThrow(/llama.cpp would run this gemma3_text model differently: its layer types are not llama.cpp's fixed pattern \(every 6th layer global/);
    await expect(exportLoraGguf(randomAdapter(g), g.config)).rejects.toThrow(/llama.cpp would run this gemma3_text model differently/);
    const bad = (o: Record<string, unknown>) => buildTinyModel({ ...GEMMA_LLAMA_CPP, configOverrides: { ...GEMMA_LLAMA_CPP.configOverrides, ...o } }).config;
    await expect(exportLoraGguf(randomAdapter(buildTinyModel(GEMMA_LLAMA_CPP)), bad({ query_pre_attn_scalar: 16 }))).rejects.toThrow(/query_pre_attn_scalar 16 is not the 8 llama.cpp assumes/);
    await expect(exportBaseGguf(bad({ rope_local_base_freq: 5000 }), weightsOf(g), tokenizerFiles(g))).rejects.toThrow(/rope_local_base_freq 5000 is not the 10000 llama.cpp assumes/);
  });

  it('a gemma3 GGUF with final logit softcapping or a quantized norm is refused by name', async () => {
    const { bytes } = await ggufOf({ ...GEMMA_LLAMA_CPP, seed: 33 });
    await expect(openGgufModel(memorySource(await withKvs(bytes, { 'gemma3.final_logit_softcapping': kv.f32('gemma3.final_logit_softcapping', 30) }), 'g.gguf'))).rejects.toThrow(/g.gguf: final_logit_softcapping 30 is not supported/);
    const g = await readGguf(memorySource(bytes));
    const retyped = await collectChunks(ggufChunks([...g.kv.values()], g.tensors.map((t) => ({ name: t.name, shape: t.shape, type: t.name === 'output_norm.weight' ? 'Q8_0' as const : t.typeName! })), (s) => g.readF32(s.name)));
    await expect(openGgufModel(memorySource(retyped, 'q.gguf'))).rejects.toThrow(/norm tensor output_norm.weight is Q8_0, its 1 \+ w cannot be undone on the blocks/);
  });

  it('a qwen3 GGUF without its q/k norm tensors is refused by name', async () => {
    const { bytes } = await ggufOf({ ...small, architecture: 'qwen3' });
    const g = await readGguf(memorySource(bytes));
    const kept = g.tensors.filter((t) => t.name !== 'blk.0.attn_k_norm.weight');
    const cut = await collectChunks(ggufChunks([...g.kv.values()], kept.map((t) => ({ name: t.name, shape: t.shape, type: t.typeName! })), (s) => g.readRaw(s.name)));
    await expect(openGgufModel(memorySource(cut, 'q3.gguf'))).rejects.toThrow(/q3.gguf: checkpoint does not match config.json \(qwen3\): missing model.layers.0.self_attn.k_norm.weight \[8\]/);
  });

  it('an unsupported tensor type names the tensor, its type and the supported types', async () => {
    const { bytes } = await ggufOf(small);
    // rewrite ffn_down's type code in its tensor info to 13 (Q5_K): the name, then n_dims, ne, type
    const name = new TextEncoder().encode('blk.0.ffn_down.weight');
    let at = -1;
    for (let i = 0; i < bytes.length - name.length && at < 0; i++) if (name.every((b, j) => bytes[i + j] === b)) at = i;
    const patched = bytes.slice();
    const view = new DataView(patched.buffer);
    const nd = view.getUint32(at + name.length, true);
    view.setUint32(at + name.length + 4 + 8 * nd, 13, true);
    await expect(openGgufModel(memorySource(patched, 'q5.gguf'))).rejects.toThrow(
      /q5.gguf: tensor blk.0.ffn_down.weight is Q5_K \(ggml type 13\) \(supported: F32, F16, Q4_0, Q8_0, Q4_K, Q6_K, BF16\)/,
    );
  });

  it('a LoRA adapter, a missing tensor and a per-layer head count are refused by name', async () => {
    const { model, bytes } = await ggufOf(small);
    const { weights } = await openGgufModel(memorySource(bytes));
    expect(weights.has('lm_head.weight')).toBe(true);
    const layer = Object.fromEntries(LINEAR_MODULES.map((m) => {
      const { inFeatures, outFeatures } = linearShape(model.config, m);
      return [m, { A: new Float32Array(2 * inFeatures), B: new Float32Array(outFeatures * 2), inFeatures, outFeatures }];
    }));
    const lora = await exportLoraGguf({ config: { r: 2, alpha: 4, dropout: 0, targetModules: [...LINEAR_MODULES], useRslora: false, baseModel: 'x' }, layers: [layer] }, model.config);
    await expect(openGgufModel(memorySource(lora, 'lora.gguf'))).rejects.toThrow(/lora.gguf: is a LoRA adapter GGUF, not a base model/);
    const g = await readGguf(memorySource(bytes));
    const kept = g.tensors.filter((t) => t.name !== 'blk.0.attn_v.weight');
    const missing = await collectChunks(ggufChunks([...g.kv.values()], kept.map((t) => ({ name: t.name, shape: t.shape, type: t.typeName! })), (s) => g.readRaw(s.name)));
    await expect(openGgufModel(memorySource(missing, 'cut.gguf'))).rejects.toThrow(/cut.gguf: checkpoint does not match .*missing model.layers.0.self_attn.v_proj.weight \[16, 32\]/);
    const perLayer = await withKvs(bytes, { 'llama.attention.head_count_kv': kv.arr('llama.attention.head_count_kv', 'u32', [2]) });
    await expect(openGgufModel(memorySource(perLayer, 'pl.gguf'))).rejects.toThrow(/pl.gguf: "llama.attention.head_count_kv" is a per-layer list/);
  });
});
