// Merged model in Hugging Face layout: base weights with scaling·B·A folded in, streamed one
// tensor at a time as model.safetensors, plus config.json (torch_dtype updated) and the
// tokenizer/generation files copied unchanged.
import { type ModelConfig, expectedTensors } from '../engine/model/config';
import { type FloatDtype, TORCH_DTYPE } from '../engine/model/dtype';
import { safetensorsChunks } from '../engine/model/safetensors';
import { type WeightSource, mergedWeightSource } from './gguf';
import type { LoraAdapter } from './lora';

/** model.safetensors of base + adapter, in `dtype` (default: the base config's dtype). */
export function mergedSafetensorsChunks(cfg: ModelConfig, weights: WeightSource, adapter: LoraAdapter, opts: { dtype?: FloatDtype } = {}): AsyncGenerator<Uint8Array> {
  const dtype = opts.dtype ?? cfg.dtype;
  const merged = mergedWeightSource(cfg, weights, adapter);
  const specs = expectedTensors(cfg).map((t) => ({ name: t.name, dtype, shape: t.shape }));
  return safetensorsChunks(specs, (s) => merged.readF32(s.name), { format: 'pt' });
}

/** config.json of the merged model: the original with torch_dtype set to the written dtype. */
export function mergedConfigJson(originalConfigJson: string, dtype: FloatDtype): string {
  const j = JSON.parse(originalConfigJson) as Record<string, unknown>;
  j.torch_dtype = TORCH_DTYPE[dtype];
  return JSON.stringify(j, null, 2) + '\n';
}

/** Files of the original folder that a merged model folder copies unchanged. */
export const COPIED_MODEL_FILES = ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'special_tokens_map.json', 'chat_template.jinja'] as const;
