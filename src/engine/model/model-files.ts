// A Hugging Face model folder, wherever its files live (a directory on disk in the CLI, the
// browser's cache or a dropped folder in the studio). Opening it validates config.json and
// the checkpoint's tensor list before any weight is read.
import { parseJsonObject } from './json';
import { type ModelConfig, checkTensorShapes, parseModelConfig } from './config';
import { type ByteSource, SafetensorsFile, memorySource, ShardedSafetensors, type TensorStore } from './safetensors';

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
  /** The raw config.json object (kept for exports that copy it). */
  configJson: Record<string, unknown>;
  weights: TensorStore;
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
  generationConfig: Record<string, unknown> | null;
}

export class ModelFilesError extends Error {
  override name = 'ModelFilesError';
}

async function json(files: ModelFiles, file: string): Promise<Record<string, unknown>> {
  return parseJsonObject(await files.text(file), (problem, cause) => {
    throw new ModelFilesError(`${files.name}/${file}: ${problem}`, { cause });
  });
}

export async function openModelFiles(files: ModelFiles): Promise<OpenedModel> {
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
