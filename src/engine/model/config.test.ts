import { describe, expect, it } from 'vitest';
import { checkTensorShapes, expectedTensors, layerAttention, loraParameterCount, modelConfigJson, normOffset, parameterCount, parseModelConfig, ropeTable } from './config';

// Published config.json files (fields that matter), as on the Hugging Face Hub.
const SMOLLM2_135M = {
  architectures: ['LlamaForCausalLM'], attention_bias: false, attention_dropout: 0.0, bos_token_id: 1, eos_token_id: 2,
  hidden_act: 'silu', hidden_size: 576, initializer_range: 0.041666666666666664, intermediate_size: 1536,
  max_position_embeddings: 8192, mlp_bias: false, model_type: 'llama', num_attention_heads: 9, num_hidden_layers: 30,
  num_key_value_heads: 3, pad_token_id: 2, pretraining_tp: 1, rms_norm_eps: 1e-5, rope_scaling: null, rope_theta: 100000,
  tie_word_embeddings: true, torch_dtype: 'bfloat16', transformers_version: '4.42.3', use_cache: true, vocab_size: 49152,
};
const SMOLLM2_360M = { ...SMOLLM2_135M, hidden_size: 960, intermediate_size: 2560, num_attention_heads: 15, num_hidden_layers: 32, num_key_value_heads: 5 };
const SMOLLM2_1_7B = { ...SMOLLM2_135M, hidden_size: 2048, intermediate_size: 8192, num_attention_heads: 32, num_hidden_layers: 24, num_key_value_heads: 32, rope_theta: 130000 };
const QWEN25_05B = {
  architectures: ['Qwen2ForCausalLM'], attention_dropout: 0.0, bos_token_id: 151643, eos_token_id: 151645, hidden_act: 'silu',
  hidden_size: 896, initializer_range: 0.02, intermediate_size: 4864, max_position_embeddings: 32768, max_window_layers: 21,
  model_type: 'qwen2', num_attention_heads: 14, num_hidden_layers: 24, num_key_value_heads: 2, rms_norm_eps: 1e-6,
  rope_theta: 1000000.0, sliding_window: 32768, tie_word_embeddings: true, torch_dtype: 'bfloat16', use_cache: true,
  use_sliding_window: false, vocab_size: 151936,
};
const QWEN25_15B = { ...QWEN25_05B, hidden_size: 1536, intermediate_size: 8960, num_attention_heads: 12, num_hidden_layers: 28, max_window_layers: 21 };
const TINYLLAMA = {
  architectures: ['LlamaForCausalLM'], bos_token_id: 1, eos_token_id: 2, hidden_act: 'silu', hidden_size: 2048, initializer_range: 0.02,
  intermediate_size: 5632, max_position_embeddings: 2048, model_type: 'llama', num_attention_heads: 32, num_hidden_layers: 22,
  num_key_value_heads: 4, pretraining_tp: 1, rms_norm_eps: 1e-5, rope_scaling: null, tie_word_embeddings: false, torch_dtype: 'bfloat16', vocab_size: 32000,
};
// Qwen3-0.6B and Qwen3-1.7B as published: head_dim 128 explicit (≠ 1024/16), q/k norms, tied.
const QWEN3_06B = {
  architectures: ['Qwen3ForCausalLM'], attention_bias: false, attention_dropout: 0.0, bos_token_id: 151643, eos_token_id: 151645,
  head_dim: 128, hidden_act: 'silu', hidden_size: 1024, initializer_range: 0.02, intermediate_size: 3072, max_position_embeddings: 40960,
  max_window_layers: 28, model_type: 'qwen3', num_attention_heads: 16, num_hidden_layers: 28, num_key_value_heads: 8, rms_norm_eps: 1e-6,
  rope_scaling: null, rope_theta: 1000000, sliding_window: null, tie_word_embeddings: true, torch_dtype: 'bfloat16', use_cache: true,
  use_sliding_window: false, vocab_size: 151936,
};
const QWEN3_17B = { ...QWEN3_06B, hidden_size: 2048, intermediate_size: 6144 };
// Gemma-3-1B-it (transformers 4.50: sliding_window_pattern, rope_local_base_freq) and
// Gemma-3-270M (transformers 5: layer_types, rope_parameters, dtype), as published.
const GEMMA3_1B = {
  architectures: ['Gemma3ForCausalLM'], attention_bias: false, attention_dropout: 0.0, attn_logit_softcapping: null, bos_token_id: 2,
  cache_implementation: 'hybrid', eos_token_id: [1, 106], final_logit_softcapping: null, head_dim: 256, hidden_activation: 'gelu_pytorch_tanh',
  hidden_size: 1152, initializer_range: 0.02, intermediate_size: 6912, max_position_embeddings: 32768, model_type: 'gemma3_text',
  num_attention_heads: 4, num_hidden_layers: 26, num_key_value_heads: 1, pad_token_id: 0, query_pre_attn_scalar: 256, rms_norm_eps: 1e-6,
  rope_local_base_freq: 10000, rope_scaling: null, rope_theta: 1000000, sliding_window: 512, sliding_window_pattern: 6,
  torch_dtype: 'bfloat16', transformers_version: '4.50.0.dev0', use_cache: true, vocab_size: 262144,
};
const GEMMA3_270M = {
  _sliding_window_pattern: 6, architectures: ['Gemma3ForCausalLM'], attention_bias: false, attn_logit_softcapping: null, bos_token_id: 2,
  dtype: 'bfloat16', eos_token_id: 1, final_logit_softcapping: null, head_dim: 256, hidden_activation: 'gelu_pytorch_tanh', hidden_size: 640,
  intermediate_size: 2048, layer_types: [...Array(18).keys()].map((i) => ((i + 1) % 6 === 0 ? 'full_attention' : 'sliding_attention')),
  max_position_embeddings: 32768, model_type: 'gemma3_text', num_attention_heads: 4, num_hidden_layers: 18, num_key_value_heads: 1,
  pad_token_id: 0, query_pre_attn_scalar: 256, rms_norm_eps: 1e-6,
  rope_parameters: { full_attention: { rope_theta: 1000000.0, rope_type: 'default' }, sliding_attention: { rope_theta: 10000.0, rope_type: 'default' } },
  sliding_window: 512, tie_word_embeddings: true, transformers_version: '5.0.0', use_bidirectional_attention: false, vocab_size: 262144,
};
const LLAMA32_1B_ROPE = { rope_scaling: { factor: 32.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: 'llama3' } };

describe('parseModelConfig', () => {
  it('SmolLM2-135M: GQA, tied, head_dim defaulted, bf16', () => {
    const c = parseModelConfig(JSON.stringify(SMOLLM2_135M));
    expect(c).toMatchObject({
      architecture: 'llama', hiddenSize: 576, intermediateSize: 1536, numLayers: 30, numHeads: 9, numKvHeads: 3, headDim: 64,
      rmsNormEps: 1e-5, ropeTheta: 100000, ropeScaling: null, tieWordEmbeddings: true, vocabSize: 49152,
      maxPositionEmbeddings: 8192, attentionBias: false, dtype: 'BF16', bosTokenId: 1, eosTokenIds: [2],
    });
    // 134.5M parameters with the tied embedding counted once (SmolLM2-135M's published size).
    expect(parameterCount(c)).toBe(134_515_008);
  });

  it('SmolLM2-360M and 1.7B, TinyLlama (untied)', () => {
    expect(parseModelConfig(SMOLLM2_360M)).toMatchObject({ headDim: 64, numKvHeads: 5, numLayers: 32 });
    expect(parseModelConfig(SMOLLM2_1_7B)).toMatchObject({ headDim: 64, numKvHeads: 32, ropeTheta: 130000 });
    const t = parseModelConfig(TINYLLAMA);
    expect(t).toMatchObject({ headDim: 64, numKvHeads: 4, tieWordEmbeddings: false });
    expect(expectedTensors(t).at(-1)).toEqual({ name: 'lm_head.weight', shape: [32000, 2048] });
    expect(parameterCount(t)).toBe(1_100_048_384); // TinyLlama-1.1B
  });

  it('Qwen2.5-0.5B / 1.5B: q/k/v biases, rms eps 1e-6, eos', () => {
    const q = parseModelConfig(QWEN25_05B);
    expect(q).toMatchObject({ architecture: 'qwen2', attentionBias: true, headDim: 64, numKvHeads: 2, rmsNormEps: 1e-6, ropeTheta: 1e6, eosTokenIds: [151645] });
    const names = expectedTensors(q).map((t) => t.name);
    expect(names).toContain('model.layers.0.self_attn.q_proj.bias');
    expect(names).toContain('model.layers.23.self_attn.v_proj.bias');
    expect(names).not.toContain('model.layers.0.self_attn.o_proj.bias');
    expect(parameterCount(q)).toBe(494_032_768); // Qwen2.5-0.5B
    expect(parseModelConfig(QWEN25_15B)).toMatchObject({ headDim: 128, numKvHeads: 2 });
  });

  it('Qwen3-0.6B / 1.7B: explicit head_dim 128, per-head q/k norms, no biases, tied', () => {
    const q = parseModelConfig(QWEN3_06B);
    expect(q).toMatchObject({
      architecture: 'qwen3', hiddenSize: 1024, numHeads: 16, numKvHeads: 8, headDim: 128, qkNorm: true, attentionBias: false,
      tieWordEmbeddings: true, ropeTheta: 1e6, rmsNormEps: 1e-6, ropeScaling: null, eosTokenIds: [151645],
    });
    const shapes = new Map(expectedTensors(q).map((t) => [t.name, t.shape]));
    expect(shapes.get('model.layers.0.self_attn.q_proj.weight')).toEqual([16 * 128, 1024]);
    expect(shapes.get('model.layers.0.self_attn.o_proj.weight')).toEqual([1024, 16 * 128]);
    expect(shapes.get('model.layers.27.self_attn.q_norm.weight')).toEqual([128]);
    expect(shapes.get('model.layers.27.self_attn.k_norm.weight')).toEqual([128]);
    expect(shapes.has('model.layers.0.self_attn.q_proj.bias')).toBe(false);
    expect(shapes.has('lm_head.weight')).toBe(false);
    // The model cards' non-embedding sizes: 0.44B and 1.4B.
    expect(parameterCount(q) - 151936 * 1024).toBe(440_467_456);
    expect(parameterCount(parseModelConfig(QWEN3_17B)) - 151936 * 2048).toBe(1_409_410_048);
    // llama and qwen2 have no q/k norms.
    expect(parseModelConfig(QWEN25_05B).qkNorm).toBe(false);
    expect(expectedTensors(parseModelConfig(SMOLLM2_135M)).some((t) => t.name.includes('q_norm'))).toBe(false);
  });

  it('Gemma-3-1B / 270M: (1 + w) norms, four norms per layer, q/k norms, every 6th layer global, tied, √C embedding scale in bf16', () => {
    const g = parseModelConfig(GEMMA3_1B);
    expect(g).toMatchObject({
      architecture: 'gemma3_text', hiddenSize: 1152, numHeads: 4, numKvHeads: 1, headDim: 256, qkNorm: true, attentionBias: false,
      tieWordEmbeddings: true, ropeTheta: 1e6, ropeScaling: null, rmsNormEps: 1e-6, dtype: 'BF16', eosTokenIds: [1, 106],
    });
    expect(g.gemma).toMatchObject({ slidingWindow: 512, ropeLocalTheta: 10000, ropeLinearFactor: 1, queryPreAttnScalar: 256 });
    // √1152 = 33.941…, which bfloat16 (8 significant bits) holds as 34.
    expect(g.gemma!.embedScale).toBe(34);
    expect(g.gemma!.slidingLayers.map((x) => (x ? 'L' : 'G')).join('')).toBe('LLLLLGLLLLLGLLLLLGLLLLLGLL');
    expect(normOffset(g)).toBe(1);
    expect(layerAttention(g, 0)).toEqual({ rope: 'local', window: 512, scale: 1 / 16 });
    expect(layerAttention(g, 5)).toEqual({ rope: 'global', window: undefined, scale: 1 / 16 });
    expect(ropeTable(g, 'local')).toEqual({ theta: 10000, scaling: null, linearFactor: 1 });
    const names = new Set(expectedTensors(g).map((t) => t.name));
    for (const n of ['input_layernorm', 'post_attention_layernorm', 'pre_feedforward_layernorm', 'post_feedforward_layernorm', 'self_attn.q_norm', 'self_attn.k_norm']) expect(names).toContain(`model.layers.25.${n}.weight`);
    expect(names.has('lm_head.weight')).toBe(false);
    expect(parameterCount(g)).toBe(999_885_952); // Gemma-3-1B's published size
    // transformers 5's layout gives the same model.
    const t = parseModelConfig(GEMMA3_270M);
    expect(t).toMatchObject({ architecture: 'gemma3_text', hiddenSize: 640, ropeTheta: 1e6, dtype: 'BF16', tieWordEmbeddings: true });
    expect(t.gemma).toMatchObject({ ropeLocalTheta: 10000, ropeLinearFactor: 1, slidingWindow: 512, embedScale: 25.25 }); // √640 = 25.298 in bf16 (steps of 1/8 in [16, 32))
    expect(t.gemma!.slidingLayers.filter((x) => !x).length).toBe(3);
    expect(parameterCount(t)).toBe(268_098_176); // Gemma-3-270M's published size
    // sliding_window_pattern 6 and the equivalent layer_types agree.
    expect(parseModelConfig({ ...GEMMA3_270M, layer_types: undefined }).gemma!.slidingLayers).toEqual(t.gemma!.slidingLayers);
    // Other families scale norms by w alone.
    expect(normOffset(parseModelConfig(QWEN3_06B))).toBe(0);
  });

  it('Gemma 3 linear rope scaling (4B and up) applies to the global layers only; dtype read from transformers 5 "dtype"', () => {
    const g = parseModelConfig({ ...GEMMA3_1B, rope_scaling: { rope_type: 'linear', factor: 8 }, torch_dtype: 'float32' });
    expect(ropeTable(g, 'global')).toEqual({ theta: 1e6, scaling: null, linearFactor: 8 });
    expect(ropeTable(g, 'local')).toEqual({ theta: 10000, scaling: null, linearFactor: 1 });
    expect(g.gemma!.embedScale).toBe(Math.fround(Math.sqrt(1152)));
    const v5 = parseModelConfig({ ...GEMMA3_270M, rope_parameters: { ...GEMMA3_270M.rope_parameters, full_attention: { rope_type: 'linear', factor: 8, rope_theta: 1e6 } } });
    expect(ropeTable(v5, 'global').linearFactor).toBe(8);
    expect(parseModelConfig({ ...SMOLLM2_135M, torch_dtype: undefined, dtype: 'float16' }).dtype).toBe('F16');
  });

  it('llama3 rope_scaling and explicit head_dim', () => {
    const c = parseModelConfig({ ...TINYLLAMA, ...LLAMA32_1B_ROPE, head_dim: 96 });
    expect(c.ropeScaling).toEqual({ ropeType: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 });
    expect(c.headDim).toBe(96);
    expect(expectedTensors(c).find((t) => t.name === 'model.layers.0.self_attn.q_proj.weight')!.shape).toEqual([32 * 96, 2048]);
    expect(expectedTensors(c).find((t) => t.name === 'model.layers.0.self_attn.o_proj.weight')!.shape).toEqual([2048, 32 * 96]);
  });

  it.each<[string, unknown, RegExp]>([
    ['bad JSON', '{', /config.json: not valid JSON/],
    ['unsupported architecture', { ...SMOLLM2_135M, model_type: 'mistral' }, /model_type "mistral" is not supported \(supported: llama, qwen2, qwen3,/],
    ['gemma2', { ...GEMMA3_1B, model_type: 'gemma2' }, /model_type "gemma2" is not supported \(supported: llama, qwen2, qwen3, gemma3_text/],
    ['gemma3 with a Gemma2 class', { ...GEMMA3_1B, architectures: ['Gemma2ForCausalLM'] }, /supported: Gemma3ForCausalLM/],
    ['gemma3 logit softcapping', { ...GEMMA3_1B, final_logit_softcapping: 30 }, /final_logit_softcapping: 30 is not supported/],
    ['gemma3 attention softcapping', { ...GEMMA3_1B, attn_logit_softcapping: 50 }, /attn_logit_softcapping: 50 is not supported/],
    ['EmbeddingGemma (bidirectional)', { ...GEMMA3_270M, use_bidirectional_attention: true }, /use_bidirectional_attention: true \(EmbeddingGemma\) is not supported/],
    ['gemma3 silu', { ...GEMMA3_1B, hidden_activation: 'silu' }, /hidden_activation "silu" is not supported for gemma3_text \(supported: gelu_pytorch_tanh\)/],
    ['gemma3 attention bias', { ...GEMMA3_1B, attention_bias: true }, /attention_bias: true is not supported for gemma3_text/],
    ['gemma3 layer_types of the wrong length', { ...GEMMA3_270M, layer_types: ['full_attention'] }, /layer_types must list .* each of the 18 layers/],
    ['gemma3 unknown layer type', { ...GEMMA3_270M, layer_types: GEMMA3_270M.layer_types.map(() => 'chunked_attention') }, /layer_types must list/],
    ['gemma3 yarn rope scaling', { ...GEMMA3_1B, rope_scaling: { rope_type: 'yarn', factor: 4 } }, /rope_scaling type "yarn" is not supported for gemma3_text \(supported: linear, or none\)/],
    ['gemma3 scaled local rope', { ...GEMMA3_270M, rope_parameters: { ...GEMMA3_270M.rope_parameters, sliding_attention: { rope_type: 'linear', factor: 2, rope_theta: 1e4 } } }, /sliding_attention must not scale RoPE/],
    ['gemma3 rope_parameters without sliding_attention', { ...GEMMA3_270M, rope_parameters: { full_attention: { rope_theta: 1e6 } } }, /"rope_parameters.sliding_attention" must be an object/],
    ['gemma3 zero window', { ...GEMMA3_1B, sliding_window: 0 }, /"sliding_window" must be a positive integer/],
    ['qwen3 with a Qwen2 class', { ...QWEN3_06B, architectures: ['Qwen2ForCausalLM'] }, /supported: Qwen3ForCausalLM/],
    ['qwen3 with attention biases', { ...QWEN3_06B, attention_bias: true }, /attention_bias: true is not supported for qwen3/],
    ['qwen3 sliding window', { ...QWEN3_06B, use_sliding_window: true }, /use_sliding_window: true is not supported/],
    ['qwen3 yarn rope scaling', { ...QWEN3_06B, rope_scaling: { rope_type: 'yarn', factor: 4, original_max_position_embeddings: 32768 } }, /rope_scaling type "yarn" is not supported/],
    ['odd head_dim', { ...QWEN3_06B, head_dim: 127 }, /head_dim \(127\) must be even/],
    ['architectures class mismatch', { ...SMOLLM2_135M, architectures: ['LlamaForSequenceClassification'] }, /supported: LlamaForCausalLM/],
    ['unsupported dtype', { ...SMOLLM2_135M, torch_dtype: 'float8_e4m3fn' }, /torch_dtype "float8_e4m3fn" is not supported \(supported: float32, float16, bfloat16\)/],
    ['unknown rope_scaling type', { ...SMOLLM2_135M, rope_scaling: { type: 'yarn', factor: 4 } }, /rope_scaling type "yarn" is not supported \(supported: llama3, or none\)/],
    ['llama3 rope_scaling with high_freq_factor ≤ low_freq_factor', { ...SMOLLM2_135M, rope_scaling: { ...LLAMA32_1B_ROPE.rope_scaling, high_freq_factor: 1 } }, /high_freq_factor \(1\) must exceed low_freq_factor \(1\)/],
    ['linear rope_scaling', { ...SMOLLM2_135M, rope_scaling: { type: 'linear', factor: 2 } }, /"linear" is not supported/],
    ['heads not a multiple of kv heads', { ...SMOLLM2_135M, num_key_value_heads: 4 }, /multiple of num_key_value_heads/],
    ['missing hidden_size', { ...SMOLLM2_135M, hidden_size: undefined }, /missing "hidden_size"/],
    ['non-integer layers', { ...SMOLLM2_135M, num_hidden_layers: 2.5 }, /"num_hidden_layers" must be a positive integer/],
    ['gelu activation', { ...SMOLLM2_135M, hidden_act: 'gelu' }, /hidden_act "gelu" is not supported \(supported: silu\)/],
    ['sliding window', { ...QWEN25_05B, use_sliding_window: true }, /use_sliding_window/],
    ['hidden not divisible by heads, no head_dim', { ...SMOLLM2_135M, hidden_size: 577 }, /not divisible/],
  ])('rejects %s with a clear message', (_n, input, re) => {
    expect(() => parseModelConfig(input)).toThrow(re);
  });
});

describe('tensor shapes and estimates', () => {
  const tiny = parseModelConfig({ ...SMOLLM2_135M, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 40 });

  it('checkTensorShapes accepts the expected set and names every problem', () => {
    const shapes = new Map(expectedTensors(tiny).map((t) => [t.name, t.shape] as [string, number[]]));
    expect(() => checkTensorShapes(tiny, shapes)).not.toThrow();
    shapes.set('lm_head.weight', [40, 16]); // tied models may still ship a head
    shapes.set('model.layers.0.self_attn.rotary_emb.inv_freq', [2]);
    expect(() => checkTensorShapes(tiny, shapes)).not.toThrow();
    shapes.delete('model.norm.weight');
    shapes.set('model.layers.1.self_attn.k_proj.weight', [16, 16]);
    shapes.set('model.layers.2.mlp.up_proj.weight', [24, 16]);
    expect(() => checkTensorShapes(tiny, shapes)).toThrow(/k_proj.weight is \[16, 16\], config says \[8, 16\].*missing model.norm.weight \[16\].*unexpected tensor model.layers.2.mlp.up_proj.weight/);
  });

  it('LoRA parameter count', () => {
    // per layer r·(in+out): q 4·(16+16), k,v 4·(16+8) each, o 4·32, gate/up 4·40 each, down 4·40
    expect(loraParameterCount(tiny, 4, ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'])).toBe(2 * 4 * (32 + 24 + 24 + 32 + 40 + 40 + 40));
  });
});

describe('modelConfigJson: the config.json a GGUF base stands for', () => {
  it.each([
    ['SmolLM2-135M (tied, bf16)', SMOLLM2_135M],
    ['Qwen2.5-0.5B (biases)', QWEN25_05B],
    ['TinyLlama', TINYLLAMA],
    ['Qwen3-0.6B (q/k norms, head_dim)', QWEN3_06B],
    ['Llama 3.2 RoPE scaling', { ...TINYLLAMA, ...LLAMA32_1B_ROPE, eos_token_id: [128001, 128008, 128009] }],
  ])('%s: parses back to the same ModelConfig', (_name, json) => {
    const cfg = parseModelConfig(json);
    expect(parseModelConfig(modelConfigJson(cfg))).toEqual(cfg);
  });
});
