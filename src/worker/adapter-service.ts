// Adapters on disk: export a stored adapter as a PEFT zip, a GGUF LoRA, or merged into its base
// model (Hugging Face folder or GGUF, streamed chunk by chunk to the page: hundreds of MB are
// never built whole here); import a PEFT adapter (zip or the two files) after validating it
// against its base model, and store it in persist/.
import { importPeft, PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE } from '../adapters/peft';
import { baseGgufChunks, exportLoraGguf, ollamaModelfile } from '../adapters/gguf';
import { COPIED_MODEL_FILES, mergedConfigJson, mergedSafetensorsChunks } from '../adapters/merged';
import type { LoraAdapter } from '../adapters/lora';
import { openModelWeights, readModelMetadata } from '../hub';
import { expectedTensors, parseModelConfig, type ModelConfig } from '../engine/model/config';
import { dtypeBytes } from '../engine/model/dtype';
import { CancelledError, endJob, startJob } from './jobs';
import { openModel } from './models-service';
import { memorySource, numel, SafetensorsFile } from '../engine/model/safetensors';
import { newId } from '../persist/db';
import { getAdapter, saveAdapter } from '../persist/repo';
import type { AdapterRecord } from '../persist/records';
import { safeFileName } from '../persist/lifecycle';
import { MODEL_PRESETS } from './presets';
import { unzipFiles, zipFiles, type NamedBytes } from './zip';

/** A stored adapter's PEFT files, and the folder name (from the adapter's name) they go into. */
export async function peftFiles(adapterId: string): Promise<{ folder: string; files: NamedBytes[] }> {
  const a = await getAdapter(adapterId);
  if (!a) throw new Error(`No adapter with id ${adapterId} (was it deleted?)`);
  return { folder: safeFileName(a.name), files: a.files.map((f) => ({ name: f.name, bytes: new Uint8Array(f.bytes) })) };
}

export async function exportAdapterZip(adapterId: string): Promise<{ fileName: string; bytes: Uint8Array }> {
  const { folder, files } = await peftFiles(adapterId);
  return { fileName: `${folder}.zip`, bytes: zipFiles(files, folder) };
}

/** The base model's config.json for an adapter: a preset by id, or the one the caller has loaded. */
function baseConfigFor(baseModel: string, loaded: { id: string; config: unknown } | null): unknown {
  const preset = MODEL_PRESETS.find((p) => p.id === baseModel);
  if (preset) return preset.config;
  if (loaded && (loaded.id === baseModel || baseModel === '')) return loaded.config;
  throw new Error(
    `This adapter was trained on "${baseModel}", which is not one of the presets${loaded ? ` and not the loaded model (${loaded.id})` : ''}. Load that base model on the Model screen first, then import again.`,
  );
}

export async function importAdapter(files: NamedBytes[], name: string, loaded: { id: string; config: unknown } | null): Promise<Omit<AdapterRecord, 'files'>> {
  const flat = files.flatMap((f) => (f.name.toLowerCase().endsWith('.zip') ? unzipFiles(f.bytes) : [f]));
  const cfgFile = flat.find((f) => f.name === PEFT_CONFIG_FILE);
  const wFile = flat.find((f) => f.name === PEFT_WEIGHTS_FILE);
  if (!cfgFile || !wFile) {
    throw new Error(`A PEFT adapter needs ${PEFT_CONFIG_FILE} and ${PEFT_WEIGHTS_FILE}; got ${flat.map((f) => f.name).join(', ') || 'no files'}.`);
  }
  let cfgJson: Record<string, unknown>;
  try {
    cfgJson = JSON.parse(new TextDecoder().decode(cfgFile.bytes));
  } catch (e) {
    throw new Error(`${PEFT_CONFIG_FILE} is not valid JSON (${(e as Error).message})`, { cause: e });
  }
  const baseModel = String(cfgJson.base_model_name_or_path ?? '');
  const base = parseModelConfig(baseConfigFor(baseModel, loaded));
  const weights = await SafetensorsFile.open(memorySource(wFile.bytes, PEFT_WEIGHTS_FILE));
  const adapter = await importPeft({ adapterConfig: cfgJson, weights }, base); // validates every key and shape
  const rec: AdapterRecord = {
    id: newId('adapter'),
    runId: null,
    name: name || baseModel.split('/').pop() + '-lora',
    createdAt: Date.now(),
    baseModel: baseModel || (loaded?.id ?? ''),
    rank: adapter.config.r,
    alpha: adapter.config.alpha,
    targets: adapter.config.targetModules,
    files: [cfgFile, wFile].map((f) => ({ name: f.name, bytes: f.bytes.slice().buffer as ArrayBuffer })),
  };
  await saveAdapter(rec);
  const { files: _f, ...meta } = rec;
  return meta;
}

/** The base model's config for a stored adapter: the cached model when it is here, else a preset. */
async function baseConfigOf(baseModel: string): Promise<unknown> {
  try {
    return (await readModelMetadata(await openModel({ id: baseModel, source: 'hub' }))).config;
  } catch {
    const preset = MODEL_PRESETS.find((p) => p.id === baseModel);
    if (preset) return preset.config;
    throw new Error(`GGUF export needs the base model's config: ${baseModel} is neither on this device nor a preset.`);
  }
}

/** A stored adapter's LoRA weights, checked against its base config. */
async function loadStoredAdapter(a: AdapterRecord, cfg: ModelConfig): Promise<LoraAdapter> {
  const cfgFile = a.files.find((f) => f.name === PEFT_CONFIG_FILE);
  const wFile = a.files.find((f) => f.name === PEFT_WEIGHTS_FILE);
  if (!cfgFile || !wFile) throw new Error(`Adapter “${a.name}” is missing its PEFT files.`);
  const weights = await SafetensorsFile.open(memorySource(new Uint8Array(wFile.bytes), PEFT_WEIGHTS_FILE));
  return importPeft({ adapterConfig: new TextDecoder().decode(cfgFile.bytes), weights }, cfg);
}

/** llama.cpp / Ollama: a LoRA GGUF plus a Modelfile, zipped. */
export async function exportAdapterGguf(adapterId: string): Promise<{ fileName: string; bytes: Uint8Array }> {
  const a = await getAdapter(adapterId);
  if (!a) throw new Error(`No adapter with id ${adapterId} (was it deleted?)`);
  const cfg = parseModelConfig(await baseConfigOf(a.baseModel));
  const adapter = await loadStoredAdapter(a, cfg);
  const folder = safeFileName(a.name);
  const gguf = await exportLoraGguf(adapter, cfg, { name: a.name });
  const base = safeFileName(a.baseModel.split('/').pop() ?? 'base');
  const modelfile =
    `# Ollama: convert the base model (${a.baseModel}) to GGUF as ./${base}.gguf (llama.cpp convert_hf_to_gguf.py), then: ollama create ${folder} -f Modelfile\n` +
    ollamaModelfile({ from: `./${base}.gguf`, adapterFile: `./${folder}.gguf`, adapter });
  const bytes = zipFiles([{ name: `${folder}.gguf`, bytes: gguf }, { name: 'Modelfile', bytes: new TextEncoder().encode(modelfile) }], `${folder}-gguf`);
  return { fileName: `${folder}-gguf.zip`, bytes };
}

// ---- merged model: base + adapter folded in, streamed ----

/** 'merged': Hugging Face folder (model.safetensors, config.json, tokenizer files); 'merged-gguf': one GGUF file. */
export type MergedFormat = 'merged' | 'merged-gguf';

export interface MergedExportPlan {
  /** Folder name for 'merged' (the page zips or writes into it); file stem for 'merged-gguf'. */
  name: string;
  /** Files in the order they are streamed, with their approximate sizes in bytes. */
  files: { name: string; approxBytes: number }[];
  approxBytes: number;
}

/** Receives the export: chunks of one file in order, files one after another. Awaited (backpressure). */
export type ChunkSink = (file: string, chunk: Uint8Array) => Promise<void>;

interface MergedSource {
  plan: MergedExportPlan;
  files: { name: string; chunks: () => AsyncIterable<Uint8Array> }[];
}

const weightBytes = (cfg: ModelConfig, bytesPerValue: number) => expectedTensors(cfg).reduce((n, t) => n + numel(t.shape) * bytesPerValue, 0);

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

/** Opens the base model from the cache and lays out what the export will stream. */
async function mergedSource(adapterId: string, format: MergedFormat): Promise<MergedSource> {
  const a = await getAdapter(adapterId);
  if (!a) throw new Error(`No adapter with id ${adapterId} (was it deleted?)`);
  let model;
  try {
    model = await openModel({ id: a.baseModel, source: 'hub' });
  } catch (e) {
    throw new Error(`A merged export needs the base model's weights on this device: download or import ${a.baseModel} on the Model screen first. (${(e as Error).message})`, { cause: e });
  }
  const meta = await readModelMetadata(model);
  const cfg = parseModelConfig(meta.config);
  const adapter = await loadStoredAdapter(a, cfg);
  const weights = await openModelWeights(model);
  const name = `${safeFileName(a.name)}-merged`;
  const files: MergedSource['files'] = [];
  const sizes: MergedExportPlan['files'] = [];
  if (format === 'merged') {
    files.push({ name: 'model.safetensors', chunks: () => mergedSafetensorsChunks(cfg, weights, adapter) });
    sizes.push({ name: 'model.safetensors', approxBytes: weightBytes(cfg, dtypeBytes(cfg.dtype)) });
    const configJson = new TextEncoder().encode(mergedConfigJson(await model.text('config.json'), cfg.dtype));
    files.push({ name: 'config.json', chunks: () => once(configJson) });
    sizes.push({ name: 'config.json', approxBytes: configJson.length });
    for (const f of COPIED_MODEL_FILES) {
      if (!model.has(f)) continue;
      const src = await model.source(f);
      // Copied byte for byte (small text files; read when their turn comes).
      files.push({ name: f, chunks: async function* () { yield await src.read(0, src.size); } });
      sizes.push({ name: f, approxBytes: src.size });
    }
  } else {
    const file = `${name}.gguf`;
    const tokenizer = { tokenizerJson: meta.tokenizer, tokenizerConfig: meta.tokenizerConfig, generationConfig: meta.generationConfig };
    files.push({ name: file, chunks: () => baseGgufChunks(cfg, weights, tokenizer, { merge: adapter, name: a.name }) });
    sizes.push({ name: file, approxBytes: weightBytes(cfg, 4) }); // F32, as baseGgufChunks writes by default
  }
  return { plan: { name, files: sizes, approxBytes: sizes.reduce((n, f) => n + f.approxBytes, 0) }, files };
}

/** What a merged export will write, without writing it (names and sizes for the page). */
export async function planMergedExport(adapterId: string, format: MergedFormat): Promise<MergedExportPlan> {
  return (await mergedSource(adapterId, format)).plan;
}

/**
 * Streams a merged export into `sink`, one weight at a time: at most one tensor (plus the one
 * chunk in flight) is in this worker's memory. Cancel with cancelJob(jobId) between chunks.
 * `transferChunk` marks a chunk for transfer rather than copy (Comlink in the worker).
 */
export async function streamMergedExport(jobId: string, adapterId: string, format: MergedFormat, sink: ChunkSink, transferChunk: (c: Uint8Array) => Uint8Array = (c) => c): Promise<MergedExportPlan> {
  const signal = startJob(jobId);
  try {
    const src = await mergedSource(adapterId, format);
    for (const f of src.files) {
      for await (const chunk of f.chunks()) {
        if (signal.aborted) throw new CancelledError();
        // A fresh buffer per chunk: the generator may hand out views into buffers it keeps.
        await sink(f.name, transferChunk(chunk.slice()));
      }
    }
    if (signal.aborted) throw new CancelledError();
    return src.plan;
  } finally {
    endJob(jobId, signal);
  }
}
