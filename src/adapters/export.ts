// The one export pipeline: given the base model, an adapter and a format, the files to write,
// each as a name and its bytes in chunks. The CLI writes them into a folder (atomically); the
// worker streams them to the page's sink (a folder the user picked, a zip, a download). Both
// get the same bytes because both take them from here. Pure over bytes: no node:*, no DOM.
//
//   peft         adapter_model.safetensors, adapter_config.json, README.md
//   gguf         adapter.gguf (llama.cpp LoRA) and an Ollama Modelfile
//   merged       model.safetensors (base + scaling·B·A, streamed tensor by tensor), config.json,
//                the tokenizer/generation files copied byte for byte
//   merged-gguf  model.gguf (base + adapter, tokenizer included, streamed tensor by tensor)
import { type ModelConfig, expectedTensors } from '../engine/model/config';
import { dtypeBytes } from '../engine/model/dtype';
import { type ModelFiles, ggufBaseLabel, openModelFiles, type OpenedModel } from '../engine/model/model-files';
import { concatBytes, numel } from '../engine/model/safetensors';
import { type GgufWeightType, baseGgufChunks, exportLoraGguf, ggufWeightType, ollamaModelfile } from './gguf';
import { ggmlByteSize } from '../engine/model/quant';
import type { LoraAdapter } from './lora';
import { COPIED_MODEL_FILES, mergedConfigJson, mergedSafetensorsChunks } from './merged';
import { exportPeft } from './peft';

export const EXPORT_FORMATS = ['peft', 'gguf', 'merged', 'merged-gguf'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** One file of an export. Its chunks are produced when read, so a merged model is never whole in memory. */
export interface ExportFile {
  name: string;
  /** Exact for files built whole; for streamed weights the size the written dtype implies. */
  approxBytes: number;
  chunks(): AsyncIterable<Uint8Array>;
}

/** What an export reads of the base model: its config; for the merged formats the opened model and its files. */
export interface ExportBase {
  config: ModelConfig;
  model?: { opened: OpenedModel; files: Pick<ModelFiles, 'has' | 'source'> };
}

export interface ExportOptions {
  /** The adapter's name (GGUF general.name). */
  name: string;
  /** The full-precision base model written into the export: PEFT base_model_name_or_path and the Modelfile. */
  baseModelId: string;
  /** Weights of a merged-gguf export (default F32). */
  ggufType?: GgufWeightType;
}

export { MERGED_GGUF_TYPES, type MergedGgufType } from './merged-gguf-types';

/** The file name of the base model's GGUF that the Modelfile's FROM names. */
export const MODELFILE_BASE_GGUF = 'base-model.gguf';

/** Opens a model folder for any export format (the merged ones read its weights and files). */
export async function openExportBase(files: ModelFiles): Promise<ExportBase> {
  const opened = await openModelFiles(files);
  return { config: opened.config, model: { opened, files } };
}

async function* single(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

function whole(name: string, data: string | Uint8Array): ExportFile {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  return { name, approxBytes: bytes.length, chunks: () => single(bytes) };
}

const weightBytes = (cfg: ModelConfig, bytesPerValue: number) => expectedTensors(cfg).reduce((n, t) => n + numel(t.shape) * bytesPerValue, 0);

/** The files of `adapter` exported in `format` over `base`, in the order they are to be written. */
export async function exportFiles(format: ExportFormat, base: ExportBase, adapter: LoraAdapter, opts: ExportOptions): Promise<ExportFile[]> {
  const cfg = base.config;
  // Over a quantized GGUF base the adapter is written for the full-precision id and says what it was trained on.
  const gguf = base.model?.opened.gguf;
  const trainedOn = gguf?.quantized ? ggufBaseLabel(gguf) : adapter.config.trainedOn;
  const a: LoraAdapter = { ...adapter, config: { ...adapter.config, baseModel: opts.baseModelId, trainedOn } };
  if (format === 'peft') return Object.entries(exportPeft(a, cfg)).map(([name, data]) => whole(name, data));
  if (format === 'gguf') {
    // Over a GGUF base the Modelfile names that very file (the LoRA applies to it as trained);
    // over a model folder the user converts the base first.
    const modelfile = gguf
      ? `# Ollama: the adapter was trained on ${gguf.file}; ollama create <name> -f Modelfile\n` + ollamaModelfile({ from: gguf.file, adapterFile: './adapter.gguf', adapter: a })
      : `# Ollama: convert the base model (${opts.baseModelId}) to GGUF as ./${MODELFILE_BASE_GGUF} (llama.cpp convert_hf_to_gguf.py), then: ollama create <name> -f Modelfile\n` +
        ollamaModelfile({ from: `./${MODELFILE_BASE_GGUF}`, adapterFile: './adapter.gguf', adapter: a });
    return [whole('adapter.gguf', await exportLoraGguf(a, cfg, { name: opts.name })), whole('Modelfile', modelfile)];
  }
  if (!base.model) throw new Error(`A ${format} export needs the base model's weights, not only its config.`);
  const { opened, files } = base.model;
  // Merged exports read every base weight through readF32: a quantized GGUF base is dequantized (as ggml does) before the LoRA is folded in.
  if (format === 'merged-gguf') {
    const tokenizer = { tokenizerJson: opened.tokenizerJson, tokenizerConfig: opened.tokenizerConfig, generationConfig: opened.generationConfig };
    const type = opts.ggufType ?? 'F32';
    // 2-D weights of `type` (per tensor for Q4_K_M), norms and biases F32.
    const bytes = expectedTensors(cfg).reduce((n, t) => n + (t.shape.length === 2 ? ggmlByteSize(ggufWeightType(cfg, type, t.name, t.shape), numel(t.shape)) : 4 * numel(t.shape)), 0);
    return [{ name: 'model.gguf', approxBytes: bytes, chunks: () => baseGgufChunks(cfg, opened.weights, tokenizer, { merge: a, name: opts.name, type }) }];
  }
  const out: ExportFile[] = [
    { name: 'model.safetensors', approxBytes: weightBytes(cfg, dtypeBytes(cfg.dtype)), chunks: () => mergedSafetensorsChunks(cfg, opened.weights, a) },
    whole('config.json', mergedConfigJson(JSON.stringify(opened.configJson), cfg.dtype)),
  ];
  for (const f of COPIED_MODEL_FILES) {
    if (!files.has(f)) continue;
    const src = await files.source(f);
    // Small text files, copied byte for byte when their turn comes.
    out.push({ name: f, approxBytes: src.size, chunks: async function* () { yield await src.read(0, src.size); } });
  }
  return out;
}

/** Receives an export: chunks of one file in order, files one after another. Awaited (backpressure). */
export type ChunkSink = (file: string, chunk: Uint8Array) => Promise<void>;

/** Streams `files` into `sink` one chunk at a time. */
export async function streamExport(files: readonly ExportFile[], sink: ChunkSink): Promise<void> {
  for (const f of files) for await (const chunk of f.chunks()) await sink(f.name, chunk);
}

/** One file's bytes in one array (for the adapter-sized files a zip or a store holds whole). */
export async function exportFileBytes(f: ExportFile): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of f.chunks()) parts.push(c);
  return concatBytes(parts);
}
