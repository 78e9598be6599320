// The base models the studio offers by name, with their published config.json (so memory can
// be estimated before anything is downloaded). Any other Hub id or a local folder works too.

import type { ModelRef } from '../persist/records';

/** Hub ids look like owner/name. */
export const HUB_ID = /^[\w.-]+\/[\w.-]+$/;

/**
 * The Hub id a model folder most likely holds: config.json's `_name_or_path` when it is an id
 * (transformers writes the id it loaded from; a local path says nothing), else the folder name.
 */
export function defaultHubId(config: Record<string, unknown> | null, folder: string): string {
  const named = typeof config?._name_or_path === 'string' ? config._name_or_path.trim() : '';
  return HUB_ID.test(named) ? named : folder;
}

/** The id exports name as the base model: the Hub id set for a local folder, else the model's id. */
export function baseModelName(ref: ModelRef): string {
  return (ref.source === 'local' && ref.hubId?.trim()) || ref.gguf?.tokenizerRepo || ref.id;
}

export interface ModelPreset {
  id: string;
  label: string;
  params: string;
  note: string;
  /** config.json as published on the Hub (the fields the estimate needs). */
  config: Record<string, unknown>;
  /** The checkpoint stores lm_head.weight although the config ties it (Qwen3): the download is that much bigger. */
  storesTiedHead?: boolean;
  /**
   * Issue 13's training-memory target: LoRA r=16 on all linears, batch 4 × 512, default
   * settings, weights in `storage`, at most `gb` GB (10⁹ bytes). The bench reports the plan
   * against it and memory.test.ts fails when the plan grows past it.
   */
  memoryTarget?: { storage: 'q8' | 'q4'; gb: number };
}

/** What Qwen3-0.6B's and Qwen3-1.7B's config.json share (they differ in hidden_size and intermediate_size only). */
const QWEN3_CONFIG = {
  model_type: 'qwen3', architectures: ['Qwen3ForCausalLM'], num_hidden_layers: 28, num_attention_heads: 16, num_key_value_heads: 8,
  head_dim: 128, vocab_size: 151936, rms_norm_eps: 1e-6, rope_theta: 1000000, rope_scaling: null, max_position_embeddings: 40960,
  tie_word_embeddings: true, torch_dtype: 'bfloat16', attention_bias: false, bos_token_id: 151643, eos_token_id: 151645,
  hidden_act: 'silu', use_sliding_window: false,
};

/**
 * What Gemma-3-270M-it's and Gemma-3-1B-it's config.json share (published configs; they differ in
 * width, depth and dtype key). Every 6th layer is global, the others slide over 512 tokens.
 */
const GEMMA3_CONFIG = {
  model_type: 'gemma3_text', architectures: ['Gemma3ForCausalLM'], num_attention_heads: 4, num_key_value_heads: 1, head_dim: 256,
  query_pre_attn_scalar: 256, vocab_size: 262144, rms_norm_eps: 1e-6, rope_theta: 1000000, rope_local_base_freq: 10000, rope_scaling: null,
  sliding_window: 512, sliding_window_pattern: 6, max_position_embeddings: 32768, tie_word_embeddings: true, torch_dtype: 'bfloat16',
  attention_bias: false, hidden_activation: 'gelu_pytorch_tanh', final_logit_softcapping: null, attn_logit_softcapping: null,
  bos_token_id: 2, pad_token_id: 0,
};
const GEMMA_GATE = 'Gated on the Hub: accept Google’s Gemma Terms of Use there and give an access token.';

export const MODEL_PRESETS: ModelPreset[] = [
  {
    id: 'HuggingFaceTB/SmolLM2-135M-Instruct',
    label: 'SmolLM2 135M Instruct',
    params: '135M',
    note: 'Default. Small enough to train on most laptops; good for style and format.',
    config: {
      model_type: 'llama', architectures: ['LlamaForCausalLM'], hidden_size: 576, intermediate_size: 1536, num_hidden_layers: 30,
      num_attention_heads: 9, num_key_value_heads: 3, head_dim: 64, vocab_size: 49152, rms_norm_eps: 1e-5, rope_theta: 100000,
      max_position_embeddings: 8192, tie_word_embeddings: true, torch_dtype: 'bfloat16', bos_token_id: 1, eos_token_id: 2, hidden_act: 'silu',
    },
  },
  {
    id: 'HuggingFaceTB/SmolLM2-360M-Instruct',
    label: 'SmolLM2 360M Instruct',
    params: '360M',
    note: 'Noticeably better answers; needs roughly three times the memory and time.',
    config: {
      model_type: 'llama', architectures: ['LlamaForCausalLM'], hidden_size: 960, intermediate_size: 2560, num_hidden_layers: 32,
      num_attention_heads: 15, num_key_value_heads: 5, head_dim: 64, vocab_size: 49152, rms_norm_eps: 1e-5, rope_theta: 100000,
      max_position_embeddings: 8192, tie_word_embeddings: true, torch_dtype: 'bfloat16', bos_token_id: 1, eos_token_id: 2, hidden_act: 'silu',
    },
  },
  {
    id: 'Qwen/Qwen2.5-0.5B-Instruct',
    label: 'Qwen2.5 0.5B Instruct',
    params: '494M',
    note: 'Multilingual, strong for its size. Its 152k-token vocabulary makes the embedding large.',
    config: {
      model_type: 'qwen2', architectures: ['Qwen2ForCausalLM'], hidden_size: 896, intermediate_size: 4864, num_hidden_layers: 24,
      num_attention_heads: 14, num_key_value_heads: 2, vocab_size: 151936, rms_norm_eps: 1e-6, rope_theta: 1000000,
      max_position_embeddings: 32768, tie_word_embeddings: true, torch_dtype: 'bfloat16', bos_token_id: 151643, eos_token_id: 151645,
      hidden_act: 'silu', use_sliding_window: false,
    },
  },
  {
    id: 'Qwen/Qwen3-0.6B',
    label: 'Qwen3 0.6B',
    params: '596M',
    note: 'Newer and stronger than Qwen2.5 0.5B, with thinking and non-thinking chat. 8-bit weights keep it near 1.5 GB.',
    storesTiedHead: true,
    memoryTarget: { storage: 'q8', gb: 1.5 },
    config: { ...QWEN3_CONFIG, hidden_size: 1024, intermediate_size: 3072 },
  },
  {
    id: 'Qwen/Qwen3-1.7B',
    label: 'Qwen3 1.7B',
    params: '1.7B',
    note: 'The largest preset: needs a discrete GPU or 4-bit weights (QLoRA).',
    storesTiedHead: true,
    memoryTarget: { storage: 'q4', gb: 2.5 },
    config: { ...QWEN3_CONFIG, hidden_size: 2048, intermediate_size: 6144 },
  },
  {
    id: 'meta-llama/Llama-3.2-1B-Instruct',
    label: 'Llama 3.2 1B Instruct',
    params: '1.24B',
    note: 'Gated on the Hub: accept Meta’s license there and give an access token. 4-bit weights (QLoRA) train it in under 1.8 GB.',
    memoryTarget: { storage: 'q4', gb: 1.8 },
    config: {
      model_type: 'llama', architectures: ['LlamaForCausalLM'], hidden_size: 2048, intermediate_size: 8192, num_hidden_layers: 16,
      num_attention_heads: 32, num_key_value_heads: 8, head_dim: 64, vocab_size: 128256, rms_norm_eps: 1e-5, rope_theta: 500000,
      rope_scaling: { factor: 32, high_freq_factor: 4, low_freq_factor: 1, original_max_position_embeddings: 8192, rope_type: 'llama3' },
      max_position_embeddings: 131072, tie_word_embeddings: true, torch_dtype: 'bfloat16', attention_bias: false, mlp_bias: false,
      bos_token_id: 128000, eos_token_id: [128001, 128008, 128009], hidden_act: 'silu',
    },
  },
  {
    id: 'google/gemma-3-270m-it',
    label: 'Gemma 3 270M Instruct',
    params: '268M',
    note: `${GEMMA_GATE} Tiny but instruction-tuned; nearly two thirds of it is the 262k-token embedding, which needs 8-bit weights on GPUs with 256 MiB buffers.`,
    config: { ...GEMMA3_CONFIG, hidden_size: 640, intermediate_size: 2048, num_hidden_layers: 18, eos_token_id: [1, 106] },
  },
  {
    id: 'google/gemma-3-1b-it',
    label: 'Gemma 3 1B Instruct',
    params: '1.0B',
    note: `${GEMMA_GATE} Its 262k-token embedding needs a GPU whose buffers hold 340 MB (8-bit); 4-bit weights (QLoRA) train it in under 1.7 GB.`,
    memoryTarget: { storage: 'q4', gb: 2 },
    config: { ...GEMMA3_CONFIG, hidden_size: 1152, intermediate_size: 6912, num_hidden_layers: 26, eos_token_id: [1, 106] },
  },
];

export const DEFAULT_MODEL_ID = MODEL_PRESETS[0].id;
