// A Hugging Face model folder, wherever its files live (a directory on disk in the CLI, the
// browser's cache or a dropped folder in the studio). Opening it validates config.json and
// the checkpoint's tensor list before any weight is read. A GGUF base model opens into the same
// shape: its weights and config from the .gguf, its tokenizer from the original model's files.
import { parseJsonObject } from './json';
import { type ModelConfig, checkTensorShapes, modelConfigJson, parseModelConfig } from './config';
import { openGgufModel } from './gguf-model';
import type { GgufFile } from './gguf-format';
import { type ByteSource, type FloatTensorSource, SafetensorsFile, memorySource, ShardedSafetensors, type TensorStore } from './safetensors';

export interface ModelFiles {
  /** Where the files come from, for messages (a path, a Hub id, a folder name). */
  readonly name: string;
  has(file: string): boolean;
  text(file: string): Promise<string>;
  source(file: string): Promise<ByteSource>;
  /** Releases open file handles (where the files are on disk). */
  close?(): Promise<void>;
}

export interface OpenedModel {
  config: ModelConfig;
  /** The raw config.json object (kept for exports that copy it; built from the config for a GGUF base). */
  configJson: Record<string, unknown>;
  /** Safetensors (a TensorStore) or a GGUF base (raw blocks for quantized tensors, float32 on demand). */
  weights: FloatTensorSource;
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
  generationConfig: Record<string, unknown> | null;
  /** Set when the base is a GGUF file: what it holds, for messages, the Modelfile and the exports. */
  gguf?: GgufBaseInfo;
}

/** A GGUF base model's file and what its tensors are stored as. */
export interface GgufBaseInfo {
  /** The file's name as given (a path in the CLI, a file name in the studio). */
  file: string;
  bytes: number;
  /** Tensor count per ggml type, most common first (e.g. {Q4_K: 97, Q6_K: 16, F32: 65}). */
  types: Record<string, number>;
  /** The types of its 2-D weights, most common first, e.g. "Q4_K, Q6_K" or "F16". */
  weightTypes: string;
  /** Whether any weight is a quantized block type (not F32/F16/BF16). */
  quantized: boolean;
}

const FLOAT_TYPES = new Set(['F32', 'F16', 'BF16']);

const byCount = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);

/** What a GGUF base stores, counted from its tensor list. */
export function ggufBaseInfo(g: GgufFile, file: string, bytes: number): GgufBaseInfo {
  const all = new Map<string, number>();
  const weights = new Map<string, number>();
  for (const t of g.tensors) {
    const type = t.typeName ?? `type ${t.type}`;
    all.set(type, (all.get(type) ?? 0) + 1);
    if (t.shape.length === 2) weights.set(type, (weights.get(type) ?? 0) + 1);
  }
  const w = byCount(weights).map(([t]) => t);
  return { file, bytes, types: Object.fromEntries(byCount(all)), weightTypes: w.join(', '), quantized: w.some((t) => !FLOAT_TYPES.has(t)) };
}

/** "model-Q4_K_M.gguf (Q4_K, Q6_K)": how an adapter's README names the base it was trained on. */
export function ggufBaseLabel(info: GgufBaseInfo): string {
  const name = info.file.split(/[\\/]/).pop() ?? info.file;
  return `${name} (${info.weightTypes})`;
}

export class ModelFilesError extends Error {
  override name = 'ModelFilesError';
}

async function json(files: ModelFiles, file: string): Promise<Record<string, unknown>> {
  return parseJsonObject(await files.text(file), (problem, cause) => {
    throw new ModelFilesError(`${files.name}/${file}: ${problem}`, { cause });
  });
}

/** Where a model folder (the studio's cache) keeps a GGUF base model, beside the original tokenizer files. */
export const GGUF_BASE_FILE = 'model.gguf';

export async function openModelFiles(files: ModelFiles): Promise<OpenedModel> {
  if (files.has(GGUF_BASE_FILE) && !files.has('model.safetensors') && !files.has('model.safetensors.index.json')) return openGgufModelFiles(await files.source(GGUF_BASE_FILE), files);
  for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) {
    if (!files.has(f)) throw new ModelFilesError(`${files.name}: missing ${f} (a Hugging Face model folder needs config.json, tokenizer.json, tokenizer_config.json and model.safetensors)`);
  }
  const configJson = await json(files, 'config.json');
  const config = parseModelConfig(configJson);
  let weights: TensorStore;
  if (files.has('model.safetensors')) {
    weights = await SafetensorsFile.open(await files.source('model.safetensors'));
  } else if (files.has('model.safetensors.index.json')) {
    weights = await ShardedSafetensors.open(await files.text('model.safetensors.index.json'), (f) => {
      if (!files.has(f)) throw new ModelFilesError(`${files.name}: shard ${f} named in model.safetensors.index.json is missing`);
      return files.source(f);
    });
  } else {
    throw new ModelFilesError(`${files.name}: no model.safetensors or model.safetensors.index.json (only safetensors weights are supported, not .bin or .gguf)`);
  }
  checkTensorShapes(config, new Map(weights.names().map((n) => [n, weights.info(n).shape])));
  return {
    config,
    configJson,
    weights,
    tokenizerJson: await json(files, 'tokenizer.json'),
    tokenizerConfig: await json(files, 'tokenizer_config.json'),
    generationConfig: files.has('generation_config.json') ? await json(files, 'generation_config.json') : null,
  };
}

/**
 * The tokenizer files must be the GGUF's own vocabulary: every id tokenizer.json names must be
 * the same token in the GGUF's tokenizer.ggml.tokens (a wrong folder fails here, not as nonsense).
 */
function checkGgufVocabulary(g: GgufFile, tokenizerJson: Record<string, unknown>, where: string, file: string): void {
  const tokens = g.get('tokenizer.ggml.tokens');
  if (!Array.isArray(tokens)) return; // a GGUF without tokenizer metadata: nothing to compare
  const model = tokenizerJson.model as { vocab?: Record<string, number> | [string, number][] } | undefined;
  const pairs: [string, number][] = [];
  if (model?.vocab && !Array.isArray(model.vocab)) pairs.push(...Object.entries(model.vocab));
  for (const a of (tokenizerJson.added_tokens as Array<{ id: number; content: string }> | undefined) ?? []) pairs.push([a.content, a.id]);
  let bad = 0;
  let first = '';
  for (const [tok, id] of pairs) {
    if (tokens[id] === tok) continue;
    if (!bad++) first = `id ${id} is ${JSON.stringify(tokens[id] ?? null)} in the GGUF but ${JSON.stringify(tok)} in tokenizer.json`;
  }
  if (bad) throw new ModelFilesError(`${where}/tokenizer.json is not the vocabulary of ${file}: ${bad} of ${pairs.length} tokens differ (${first}); give the original model's tokenizer files`);
}

/**
 * A GGUF base model: config and weights from the .gguf (quantized tensors kept as stored),
 * tokenizer.json / tokenizer_config.json (and generation_config.json when present) from the
 * original model's files, checked against the GGUF's vocabulary.
 */
export async function openGgufModelFiles(gguf: ByteSource, tokenizer: ModelFiles): Promise<OpenedModel> {
  const missing = ['tokenizer.json', 'tokenizer_config.json'].filter((f) => !tokenizer.has(f));
  if (missing.length) throw new ModelFilesError(`${tokenizer.name}: missing ${missing.join(' and ')} (a GGUF base model takes its tokenizer from the original model's files: tokenizer.json and tokenizer_config.json)`);
  const { config, weights, gguf: g } = await openGgufModel(gguf);
  const tokenizerJson = await json(tokenizer, 'tokenizer.json');
  checkGgufVocabulary(g, tokenizerJson, tokenizer.name, gguf.name);
  return {
    config,
    configJson: modelConfigJson(config),
    weights,
    tokenizerJson,
    tokenizerConfig: await json(tokenizer, 'tokenizer_config.json'),
    generationConfig: tokenizer.has('generation_config.json') ? await json(tokenizer, 'generation_config.json') : null,
    gguf: ggufBaseInfo(g, gguf.name, gguf.size),
  };
}

/** ModelFiles over in-memory bytes (tests, small dropped folders). */
export function memoryModelFiles(name: string, entries: Record<string, Uint8Array | string>): ModelFiles {
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  const bytes = (f: string) => {
    const v = entries[f];
    if (v === undefined) throw new ModelFilesError(`${name}: missing ${f}`);
    return typeof v === 'string' ? enc.encode(v) : v;
  };
  return {
    name,
    has: (f) => f in entries,
    text: async (f) => dec.decode(bytes(f)),
    source: async (f) => memorySource(bytes(f), `${name}/${f}`),
  };
}
