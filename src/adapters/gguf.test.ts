import { describe, expect, it } from 'vitest';
import { buildTinyModel, weightsF64 } from '../../test/fixtures/tiny-model';
import { rng } from '../../test/numeric';
import { linearShape } from '../engine/model/config';
import { SafetensorsFile, memorySource } from '../engine/model/safetensors';
import { loraKeyA, loraKeyB, referenceForward } from '../engine/reference/model';
import { collectChunks, readGguf } from '../engine/model/gguf-format';
import { detectPreTokenizer, exportBaseGguf, exportLoraGguf, ggufLoraAlpha, ggufWeightType, ollamaModelfile, tokenizerKvs } from './gguf';
import { quantize } from '../engine/model/quant';
import { permuteRowsForRope } from '../engine/model/gguf-model';
import { LINEAR_MODULES, type LoraAdapter } from './lora';
import { mergedConfigJson, mergedSafetensorsChunks } from './merged';

const tiny = buildTinyModel({ layers: 2, hiddenSize: 16, numHeads: 2, numKvHeads: 1, intermediateSize: 24, seed: 4 });
const cfg = tiny.config;
const weights = { readF32: async (n: string) => tiny.weights.get(n)! };
const tokFiles = { tokenizerJson: tiny.tokenizerJson, tokenizerConfig: tiny.tokenizerConfig, generationConfig: tiny.generationConfig };

function adapter(opts: { r: number; alpha: number; useRslora: boolean }): LoraAdapter {
  const rand = rng(8);
  const layers = Array.from({ length: cfg.numLayers }, () => {
    const layer: LoraAdapter['layers'][number] = {};
    for (const m of LINEAR_MODULES) {
      const { inFeatures, outFeatures } = linearShape(cfg, m);
      layer[m] = { A: Float32Array.from({ length: opts.r * inFeatures }, () => rand() - 0.5), B: Float32Array.from({ length: outFeatures * opts.r }, () => rand() - 0.5), inFeatures, outFeatures };
    }
    return layer;
  });
  return { config: { ...opts, dropout: 0, targetModules: [...LINEAR_MODULES], baseModel: 'tiny', revision: null }, layers };
}

describe('llama.cpp conventions', () => {
  it('permutes q/k rows per head: h·D + s·D/2 + j → h·D + 2j + s', () => {
    // 2 heads of D = 4, one column holding the row index
    const x = Float32Array.from({ length: 8 }, (_, i) => i);
    expect(Array.from(permuteRowsForRope(x, 8, 1, 2))).toEqual([0, 2, 1, 3, 4, 6, 5, 7]);
    const y = Float32Array.from({ length: 12 }, (_, i) => i); // 6 rows × 2 cols, 1 head of D = 6
    expect(Array.from(permuteRowsForRope(y, 6, 2, 1))).toEqual([0, 1, 6, 7, 2, 3, 8, 9, 4, 5, 10, 11]);
  });

  it('writes tokenizer metadata from tokenizer.json: tokens, types, merges, special ids', () => {
    const kvs = new Map(tokenizerKvs({ ...cfg, vocabSize: cfg.vocabSize + 2 }, tokFiles).map((e) => [e.key, e.value]));
    const tokens = kvs.get('tokenizer.ggml.tokens') as string[];
    const types = kvs.get('tokenizer.ggml.token_type') as number[];
    expect(kvs.get('tokenizer.ggml.model')).toBe('gpt2');
    expect(kvs.get('tokenizer.ggml.pre')).toBe('gpt-2');
    expect(tokens.length).toBe(cfg.vocabSize + 2);
    expect(tokens.slice(0, 3)).toEqual(['<|endoftext|>', '<|im_start|>', '<|im_end|>']);
    expect(types.slice(0, 4)).toEqual([3, 3, 3, 1]); // added specials are CONTROL, bytes NORMAL
    expect(tokens.at(-1)).toBe(`[PAD${cfg.vocabSize + 1}]`);
    expect(types.at(-1)).toBe(5); // UNUSED padding rows, as convert_hf_to_gguf.py writes
    const merges = kvs.get('tokenizer.ggml.merges') as string[];
    expect(merges).toEqual((tiny.tokenizerJson.model as { merges: string[] }).merges);
    expect(kvs.get('tokenizer.ggml.eos_token_id')).toBe(2);
    expect(kvs.get('tokenizer.ggml.padding_token_id')).toBe(2);
    expect(kvs.get('tokenizer.ggml.bos_token_id')).toBe(1);
    expect(kvs.get('tokenizer.ggml.add_bos_token')).toBe(false);
    expect(kvs.get('tokenizer.chat_template')).toBe(tiny.tokenizerConfig.chat_template);
  });

  it('detects the pre-tokenizer of SmolLM2 and Qwen2 tokenizer.json files', () => {
    expect(detectPreTokenizer({ pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Digits', individual_digits: true }, { type: 'ByteLevel', add_prefix_space: false, use_regex: true }] } })).toBe('smollm');
    const qwenRegex = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    expect(detectPreTokenizer({ pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { Regex: qwenRegex } }, { type: 'ByteLevel', use_regex: false }] } })).toBe('qwen2');
    expect(() => detectPreTokenizer({ pre_tokenizer: { type: 'Metaspace' } })).toThrow(/pass `pre` explicitly/);
  });

  it('writes a SentencePiece-style tokenizer (byte fallback: Llama 2, Gemma) as llama.cpp\'s SPM vocabulary: scores from the merge order', () => {
    for (const kind of ['llama', 'gemma'] as const) {
      const sp = buildTinyModel({ seed: 5, tokenizer: kind });
      const kvs = new Map(tokenizerKvs(sp.config, { tokenizerJson: sp.tokenizerJson, tokenizerConfig: sp.tokenizerConfig }).map((e) => [e.key, e.value]));
      expect([kvs.get('tokenizer.ggml.model'), kvs.get('tokenizer.ggml.pre'), kvs.get('tokenizer.ggml.add_space_prefix'), kvs.get('tokenizer.ggml.merges')]).toEqual(['llama', 'default', kind === 'llama', undefined]);
      const tokens = kvs.get('tokenizer.ggml.tokens') as string[];
      const scores = kvs.get('tokenizer.ggml.scores') as number[];
      const types = kvs.get('tokenizer.ggml.token_type') as number[];
      expect([tokens[0], types[0], kvs.get('tokenizer.ggml.unknown_token_id')]).toEqual(['<unk>', 2, 0]); // UNKNOWN
      expect([tokens[1], types[1], tokens[3], types[3], tokens[258], types[258]]).toEqual(['<s>', 3, '<0x00>', 6, '<0xFF>', 6]); // CONTROL, BYTE
      const merges = (sp.tokenizerJson.model as { merges: string[] }).merges;
      // the k-th merge's token scores −k (the first merge making it), unmerged pieces 0
      merges.forEach((m, k) => {
        const t = m.replace(' ', '');
        if (merges.findIndex((x) => x.replace(' ', '') === t) === k) expect(scores[tokens.indexOf(t)], m).toBe(-k);
      });
      expect(scores[tokens.indexOf('▁')]).toBe(0);
    }
    // llama.cpp's SPM tokenizer does no other normalization: anything else is refused by name.
    const sp = buildTinyModel({ seed: 5, tokenizer: 'llama' });
    const metaspace = { ...sp.tokenizerJson, normalizer: null, pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first' } };
    expect(() => tokenizerKvs(sp.config, { tokenizerJson: metaspace })).toThrow(/normalizes text in a way llama.cpp's SPM tokenizer does not \(supported: Replace\(" ", "▁"\) as Gemma, Prepend\("▁"\) \+ Replace as Llama 2, no pre-tokenizer\)/);
  });

  it('base GGUF: llama KVs, tensor names, permuted q/k, untouched v', async () => {
    const g = await readGguf(memorySource(await exportBaseGguf(cfg, weights, tokFiles, { name: 'tiny' }), 'base.gguf'));
    expect(g.get('general.architecture')).toBe('llama');
    expect(g.get('llama.attention.head_count_kv')).toBe(1);
    expect(g.get('llama.rope.dimension_count')).toBe(8);
    expect(g.get('llama.vocab_size')).toBe(cfg.vocabSize);
    expect(g.get('llama.attention.layer_norm_rms_epsilon')).toBeCloseTo(1e-5, 10);
    const names = g.tensors.map((t) => t.name);
    expect(names).toContain('blk.1.ffn_down.weight');
    expect(names).toContain('output.weight');
    expect(g.tensors.find((t) => t.name === 'blk.0.attn_k.weight')!.ne).toEqual([16, 8]);
    const q = tiny.weights.get('model.layers.0.self_attn.q_proj.weight')!;
    expect(Array.from(await g.readF32('blk.0.attn_q.weight'))).toEqual(Array.from(permuteRowsForRope(q, 16, 16, 2)));
    expect(Array.from(await g.readF32('blk.1.attn_v.weight'))).toEqual(Array.from(tiny.weights.get('model.layers.1.self_attn.v_proj.weight')!));
  });

  it('base GGUF in Q4_K_M: llama-quantize\'s mix of Q4_K and Q6_K, each tensor ggml\'s reference blocks of the (permuted) weights', async () => {
    // 2 layers: useMoreBits picks layer 1 (≥ 7n/8) only
    const m = buildTinyModel({ layers: 2, hiddenSize: 256, numHeads: 4, numKvHeads: 2, intermediateSize: 256, tied: false, seed: 5 });
    const src = { readF32: async (n: string) => m.weights.get(n)! };
    const tok = { tokenizerJson: m.tokenizerJson, tokenizerConfig: m.tokenizerConfig };
    const g = await readGguf(memorySource(await exportBaseGguf(m.config, src, tok, { type: 'Q4_K_M' }), 'q4km.gguf'));
    expect(g.get('general.file_type')).toBe(15); // LLAMA_FTYPE_MOSTLY_Q4_K_M
    const typeOf = (n: string) => g.tensors.find((t) => t.name === n)!.typeName;
    for (let i = 0; i < 2; i++) {
      for (const n of ['attn_v', 'ffn_down']) expect(typeOf(`blk.${i}.${n}.weight`), `blk.${i}.${n}`).toBe(i === 1 ? 'Q6_K' : 'Q4_K');
      for (const n of ['attn_q', 'attn_k', 'attn_output', 'ffn_gate', 'ffn_up']) expect(typeOf(`blk.${i}.${n}.weight`)).toBe('Q4_K');
      expect(typeOf(`blk.${i}.attn_norm.weight`)).toBe('F32');
    }
    expect([typeOf('output.weight'), typeOf('token_embd.weight')]).toEqual(['Q6_K', 'Q4_K']);
    const q = m.weights.get('model.layers.0.self_attn.q_proj.weight')!;
    expect(Array.from(await g.readRaw('blk.0.attn_q.weight'))).toEqual(Array.from(quantize('Q4_K', permuteRowsForRope(q, 256, 256, 4), 256)));
    expect(Array.from(await g.readRaw('blk.1.ffn_down.weight'))).toEqual(Array.from(quantize('Q6_K', m.weights.get('model.layers.1.mlp.down_proj.weight')!, 256)));
  }, 60_000);

  it('Q4_K_M picks Q6_K for v/down on useMoreBits layers and the LM head (the embedding when tied); rows that are not whole 256-value blocks get Q8_0', () => {
    const cfg = buildTinyModel({ layers: 8, hiddenSize: 32, numHeads: 2, numKvHeads: 1, intermediateSize: 64, tied: false, seed: 5 }).config;
    const pick = (c: typeof cfg, name: string, shape = [512, 256]) => ggufWeightType(c, 'Q4_K_M', name, shape);
    // 8 layers: layers 0 (< n/8), 7 (≥ 7n/8), and 3, 6 ((i − n/8) mod 3 = 2)
    for (let i = 0; i < 8; i++) {
      const want = [0, 3, 6, 7].includes(i) ? 'Q6_K' : 'Q4_K';
      expect([pick(cfg, `model.layers.${i}.self_attn.v_proj.weight`), pick(cfg, `model.layers.${i}.mlp.down_proj.weight`)], `layer ${i}`).toEqual([want, want]);
      expect(pick(cfg, `model.layers.${i}.self_attn.q_proj.weight`)).toBe('Q4_K');
    }
    expect(pick(cfg, 'lm_head.weight')).toBe('Q6_K');
    expect(pick(cfg, 'model.embed_tokens.weight')).toBe('Q4_K');
    expect(pick({ ...cfg, tieWordEmbeddings: true }, 'model.embed_tokens.weight')).toBe('Q6_K');
    expect(pick(cfg, 'model.layers.1.self_attn.q_proj.weight', [640, 640])).toBe('Q8_0');
    expect(pick(cfg, 'lm_head.weight', [300, 640])).toBe('Q8_0');
    expect(ggufWeightType(cfg, 'Q6_K', 'model.layers.1.mlp.down_proj.weight', [256, 96])).toBe('Q8_0');
    expect(ggufWeightType(cfg, 'Q4_0', 'model.layers.1.mlp.down_proj.weight', [256, 96])).toBe('Q4_0'); // a 32-value block type keeps its type (the writer checks rows)
  });

  it('LoRA GGUF: adapter KVs, alpha (·√r for rsLoRA), lora_b of q/k permuted, lora_a untouched', async () => {
    for (const useRslora of [false, true]) {
      const a = adapter({ r: 4, alpha: 6, useRslora });
      const g = await readGguf(memorySource(await exportLoraGguf(a, cfg), 'lora.gguf'));
      expect(g.get('general.type')).toBe('adapter');
      expect(g.get('adapter.type')).toBe('lora');
      expect(g.get('general.architecture')).toBe('llama');
      expect(g.get('adapter.lora.alpha')).toBeCloseTo(useRslora ? 6 * 2 : 6, 5); // llama.cpp scale = alpha / r
      expect(g.get('general.base_model.count')).toBe(1);
      expect(g.get('general.base_model.0.name')).toBe('tiny');
      expect(g.tensors.length).toBe(2 * 7 * 2);
      expect(g.tensors.find((t) => t.name === 'blk.0.attn_q.weight.lora_a')!.ne).toEqual([16, 4]);
      expect(g.tensors.find((t) => t.name === 'blk.0.attn_q.weight.lora_b')!.ne).toEqual([4, 16]);
      expect(Array.from(await g.readF32('blk.1.attn_k.weight.lora_b'))).toEqual(Array.from(permuteRowsForRope(a.layers[1].k_proj!.B, 8, 4, 1)));
      expect(Array.from(await g.readF32('blk.1.attn_k.weight.lora_a'))).toEqual(Array.from(a.layers[1].k_proj!.A));
      expect(Array.from(await g.readF32('blk.0.ffn_up.weight.lora_b'))).toEqual(Array.from(a.layers[0].up_proj!.B));
    }
  });

  it('LoRA GGUF names a Hub base model with its organization and repo URL', async () => {
    const a = adapter({ r: 2, alpha: 4, useRslora: false });
    a.config.baseModel = 'acme/tiny-llama-128';
    const g = await readGguf(memorySource(await exportLoraGguf(a, cfg), 'lora.gguf'));
    expect(g.get('general.base_model.0.name')).toBe('tiny-llama-128');
    expect(g.get('general.base_model.0.organization')).toBe('acme');
    expect(g.get('general.base_model.0.repo_url')).toBe('https://huggingface.co/acme/tiny-llama-128');
  });

  it('Ollama Modelfile, with a note when the effective alpha is not an integer', () => {
    const plain = ollamaModelfile({ from: 'smollm2:135m', adapterFile: './adapter.gguf', adapter: adapter({ r: 4, alpha: 8, useRslora: false }) });
    expect(plain).toBe('FROM smollm2:135m\nADAPTER ./adapter.gguf\n');
    const rs = ollamaModelfile({ from: './base.gguf', adapterFile: './a.gguf', adapter: adapter({ r: 2, alpha: 8, useRslora: true }) });
    expect(ggufLoraAlpha(adapter({ r: 2, alpha: 8, useRslora: true }).config)).toBeCloseTo(8 * Math.SQRT2, 12);
    expect(rs).toMatch(/^# Note: the effective lora_alpha is 11\.31.*not an integer/);
    expect(rs).toContain('\nFROM ./base.gguf\nADAPTER ./a.gguf\n');
  });
});

describe('merged model (HF safetensors)', () => {
  it('base + scaling·B·A folded into the weights gives the same logits as base with the adapter', async () => {
    const a = adapter({ r: 3, alpha: 4, useRslora: true });
    const bytes = await collectChunks(mergedSafetensorsChunks(cfg, weights, a));
    const file = await SafetensorsFile.open(memorySource(bytes, 'model.safetensors'));
    expect(file.metadata).toEqual({ format: 'pt' });
    expect(file.info('model.layers.0.self_attn.q_proj.weight').dtype).toBe('F32');
    const merged = new Map<string, Float64Array>();
    for (const n of file.names()) merged.set(n, Float64Array.from(await file.readF32(n)));
    const ids = [1, 50, 60, 70, 2];
    const batch = { B: 1, T: 5, inputIds: ids, targets: [50, 60, 70, 2, -100], positions: [0, 1, 2, 3, 4], segmentIds: [0, 0, 0, 0, 0] };
    const loraW = new Map<string, Float64Array>();
    a.layers.forEach((layer, l) => {
      for (const m of LINEAR_MODULES) {
        loraW.set(loraKeyA(l, m), Float64Array.from(layer[m]!.A));
        loraW.set(loraKeyB(l, m), Float64Array.from(layer[m]!.B));
      }
    });
    const want = referenceForward(cfg, weightsF64(tiny), { scaling: 4 / Math.sqrt(3), weights: loraW }, batch);
    const got = referenceForward(cfg, merged, null, batch);
    // Merged weights are rounded to f32 once (rel 6e-8); logits of this size move by < 1e-5.
    let worst = 0;
    for (let i = 0; i < want.logits.length; i++) worst = Math.max(worst, Math.abs(got.logits[i] - want.logits[i]));
    expect(worst).toBeLessThan(1e-5);
    const base = referenceForward(cfg, weightsF64(tiny), null, batch);
    expect(Math.abs(base.loss - want.loss)).toBeGreaterThan(1e-2); // the adapter matters
    // the caller's base weights are never modified
    expect(tiny.weights.get('model.layers.0.self_attn.q_proj.weight')).toEqual(buildTinyModel({ layers: 2, hiddenSize: 16, numHeads: 2, numKvHeads: 1, intermediateSize: 24, seed: 4 }).weights.get('model.layers.0.self_attn.q_proj.weight'));
  });

  it('config.json of the merged model records the written dtype', () => {
    const c = JSON.parse(mergedConfigJson(tiny.files['config.json'] as string, 'BF16'));
    expect(c.torch_dtype).toBe('bfloat16');
    expect(c.hidden_size).toBe(16);
  });
});
