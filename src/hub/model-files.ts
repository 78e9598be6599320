// A model's files, wherever they are (the cache, a dropped folder): the Hugging Face layout,
// the checks every model passes before use (architecture, GPU limits), and its weights as a
// TensorStore for the safetensors reader.
import { SUPPORTED_ARCHITECTURES } from '../engine/model/config';
import { SafetensorsFile, ShardedSafetensors, type ByteSource, type FloatTensorSource } from '../engine/model/safetensors';
import { GGUF_BASE_FILE } from '../engine/model/model-files';
import { openGgufModel } from '../engine/model/gguf-model';
import { HubError, formatBytes } from './errors';

export const CONFIG_FILE = 'config.json';
export const TOKENIZER_FILE = 'tokenizer.json';
export const TOKENIZER_CONFIG_FILE = 'tokenizer_config.json';
export const GENERATION_CONFIG_FILE = 'generation_config.json';
export const SINGLE_WEIGHTS_FILE = 'model.safetensors';
export const WEIGHTS_INDEX_FILE = 'model.safetensors.index.json';

/** Text files a model needs (generation_config.json is optional). */
export const REQUIRED_TEXT_FILES = [CONFIG_FILE, TOKENIZER_FILE, TOKENIZER_CONFIG_FILE] as const;
export const OPTIONAL_TEXT_FILES = [GENERATION_CONFIG_FILE] as const;

/** config.json model_type values the engine runs (the engine's own list). */
export const SUPPORTED_MODEL_TYPES = SUPPORTED_ARCHITECTURES;

/** Read access to one model's files. */
export interface ModelFiles {
  /** "owner/name" for Hub models, the folder name for local ones. */
  readonly id: string;
  /** Plain file names. */
  readonly files: readonly string[];
  has(file: string): boolean;
  source(file: string): Promise<ByteSource>;
  text(file: string): Promise<string>;
}

export async function readJsonFile(model: ModelFiles, file: string): Promise<unknown> {
  if (!model.has(file)) throw new HubError('missing-files', `${model.id} has no ${file}.`);
  return parseJson(await model.text(file), `${model.id}: ${file}`);
}

export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new HubError('invalid', `${what} is not valid JSON (${(e as Error).message}).`);
  }
}

/** Throws unless config.json names an architecture the engine can train. */
export function checkArchitecture(config: unknown, id: string): { modelType: string } {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new HubError('invalid', `${id}: config.json is not a JSON object.`);
  }
  const modelType = (config as { model_type?: unknown }).model_type;
  if (typeof modelType !== 'string') {
    throw new HubError('unsupported-architecture', `${id}: config.json has no "model_type", so the studio cannot tell which architecture it is. Supported: ${SUPPORTED_MODEL_TYPES.join(', ')}.`);
  }
  if (!(SUPPORTED_MODEL_TYPES as readonly string[]).includes(modelType)) {
    throw new HubError(
      'unsupported-architecture',
      `${id} is a "${modelType}" model; the studio trains Llama-family and Gemma 3 text models (model_type ${SUPPORTED_MODEL_TYPES.map((t) => `"${t}"`).join(', ')}), e.g. HuggingFaceTB/SmolLM2-135M-Instruct, Qwen/Qwen2.5-0.5B-Instruct, Qwen/Qwen3-0.6B or google/gemma-3-270m-it. Nothing was downloaded.`,
    );
  }
  return { modelType };
}

export interface GpuLimitsForFit {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

export interface GpuFitOptions {
  /** Bytes per weight on the GPU (4 for the f32 baseline, 2 for f16 weights). */
  bytesPerWeight?: number;
  /** Largest GPU memory the whole model may take, when the caller knows a budget. */
  memoryBudget?: number;
}

/**
 * Why the model cannot fit this GPU, or null. Checks the largest single weight (the token
 * embedding, vocab × hidden) against maxBufferSize, and the whole model against a budget.
 * The binding limit is not fatal: the engine binds large tensors in ranges.
 */
export function gpuFitProblem(config: Record<string, unknown>, limits: GpuLimitsForFit, opts: GpuFitOptions = {}): string | null {
  const num = (k: string) => (typeof config[k] === 'number' ? (config[k] as number) : 0);
  const bpw = opts.bytesPerWeight ?? 4;
  const V = num('vocab_size');
  const C = num('hidden_size');
  const F = num('intermediate_size');
  const L = num('num_hidden_layers');
  const H = num('num_attention_heads');
  const KVH = num('num_key_value_heads') || H;
  const D = num('head_dim') || (H ? C / H : 0);
  const embedding = V * C * bpw;
  if (embedding > limits.maxBufferSize) {
    return `Its token embedding (${V} × ${C}) needs ${formatBytes(embedding)} in one GPU buffer, but this GPU allows at most ${formatBytes(limits.maxBufferSize)}. Choose a smaller model.`;
  }
  const perLayer = C * (H * D) * 2 + C * (KVH * D) * 2 + 3 * C * F + 2 * C;
  const tied = config.tie_word_embeddings !== false;
  const total = (V * C * (tied ? 1 : 2) + L * perLayer + C) * bpw;
  if (opts.memoryBudget !== undefined && total > opts.memoryBudget) {
    return `Its weights need about ${formatBytes(total)} of GPU memory, more than the ${formatBytes(opts.memoryBudget)} available. Choose a smaller model.`;
  }
  return null;
}

/** Weight file names of a model: the single file, or the index's shards (sorted). */
export function shardNamesFromIndex(index: unknown, id: string): string[] {
  const wm = (index as { weight_map?: unknown } | null)?.weight_map;
  if (typeof wm !== 'object' || wm === null || Array.isArray(wm)) throw new HubError('invalid', `${id}: ${WEIGHTS_INDEX_FILE} has no "weight_map".`);
  const files = new Set<string>();
  for (const [tensor, file] of Object.entries(wm as Record<string, unknown>)) {
    if (typeof file !== 'string' || !file || file.includes('/') || file.includes('\\') || file === '..' || file === '.') {
      throw new HubError('invalid', `${id}: ${WEIGHTS_INDEX_FILE} maps "${tensor}" to something that is not a plain file name.`);
    }
    files.add(file);
  }
  if (files.size === 0) throw new HubError('invalid', `${id}: ${WEIGHTS_INDEX_FILE} lists no weights.`);
  return [...files].sort();
}

/** The weights (single file, shards, or a GGUF base's model.gguf), read tensor by tensor. */
export async function openModelWeights(model: ModelFiles): Promise<FloatTensorSource> {
  if (model.has(GGUF_BASE_FILE) && !model.has(SINGLE_WEIGHTS_FILE) && !model.has(WEIGHTS_INDEX_FILE)) return (await openGgufModel(await model.source(GGUF_BASE_FILE))).weights;
  if (model.has(SINGLE_WEIGHTS_FILE)) return SafetensorsFile.open(await model.source(SINGLE_WEIGHTS_FILE));
  if (model.has(WEIGHTS_INDEX_FILE)) {
    const index = await readJsonFile(model, WEIGHTS_INDEX_FILE);
    for (const shard of shardNamesFromIndex(index, model.id)) {
      if (!model.has(shard)) throw new HubError('missing-files', `${model.id}: the weights index lists ${shard}, which is missing.`);
    }
    return ShardedSafetensors.open(index, (file) => model.source(file));
  }
  throw new HubError('missing-files', `${model.id} has no safetensors weights (${SINGLE_WEIGHTS_FILE} or ${WEIGHTS_INDEX_FILE}). Only safetensors are supported, not PyTorch .bin files.`);
}

/** Everything but the weights, parsed: what the tokenizer and the model builder need. */
export interface ModelMetadata {
  config: Record<string, unknown>;
  tokenizer: unknown;
  tokenizerConfig: Record<string, unknown>;
  generationConfig: Record<string, unknown> | null;
}

export async function readModelMetadata(model: ModelFiles): Promise<ModelMetadata> {
  const config = (await readJsonFile(model, CONFIG_FILE)) as Record<string, unknown>;
  checkArchitecture(config, model.id);
  return {
    config,
    tokenizer: await readJsonFile(model, TOKENIZER_FILE),
    tokenizerConfig: (await readJsonFile(model, TOKENIZER_CONFIG_FILE)) as Record<string, unknown>,
    generationConfig: model.has(GENERATION_CONFIG_FILE) ? ((await readJsonFile(model, GENERATION_CONFIG_FILE)) as Record<string, unknown>) : null,
  };
}
