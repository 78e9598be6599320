// Adapters on disk: export a stored adapter as a PEFT zip, a GGUF LoRA, or merged into its base
// model (Hugging Face folder or GGUF, streamed chunk by chunk to the page: hundreds of MB are
// never built whole here); import a PEFT adapter (zip or the two files) after validating it
// against its base model, and store it in persist/.
import { importPeft, PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE } from '../adapters/peft';
import { type ChunkSink, type ExportBase, type ExportFile, type ExportFormat, type MergedGgufType, exportFileBytes, exportFiles, openExportBase, streamExport } from '../adapters/export';
import { loadPeftFiles } from '../adapters/load';
import { readModelMetadata, type ModelFiles as HubModelFiles } from '../hub';
import { parseModelConfig } from '../engine/model/config';
import { CancelledError, endJob, startJob } from './jobs';
import { openModel } from './models-service';
import { memorySource, SafetensorsFile } from '../engine/model/safetensors';
import { newId } from '../persist/db';
import { getAdapter, saveAdapter } from '../persist/repo';
import type { AdapterRecord } from '../persist/records';
import { safeFileName } from '../persist/lifecycle';
import { MODEL_PRESETS } from './presets';
import { unzipFiles, zipFiles, type NamedBytes } from './zip';
import { adapterRunRecord, TRAINING_SETTINGS_FILE } from '../train/recipe/run-record';

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

/** The model the page has chosen: its device id, the Hub id set for a local folder, its config.json. */
export interface LoadedModel {
  id: string;
  hubId?: string;
  config: unknown;
}

/** The loaded model when the adapter names it (by device id or Hub id), else null. */
const loadedMatch = (baseModel: string, loaded: LoadedModel | null): LoadedModel | null => (loaded && (loaded.id === baseModel || loaded.hubId === baseModel || baseModel === '') ? loaded : null);

/** The base model's config.json for an adapter: a preset by id, or the one the caller has loaded. */
function baseConfigFor(baseModel: string, loaded: LoadedModel | null): unknown {
  const preset = MODEL_PRESETS.find((p) => p.id === baseModel);
  if (preset) return preset.config;
  const match = loadedMatch(baseModel, loaded);
  if (match) return match.config;
  throw new Error(
    `This adapter was trained on "${baseModel}", which is not one of the presets${loaded ? ` and not the loaded model (${loaded.id})` : ''}. Load that base model on the Model screen first, then import again.`,
  );
}

export async function importAdapter(files: NamedBytes[], name: string, loaded: LoadedModel | null): Promise<Omit<AdapterRecord, 'files'>> {
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
  // A LoRA Studio export carries its run record (training_settings.json): kept, with the objective it names.
  let record: ReturnType<typeof adapterRunRecord>;
  try {
    record = adapterRunRecord(flat);
  } catch (e) {
    throw new Error(`The adapter's ${TRAINING_SETTINGS_FILE} cannot be read (${(e as Error).message}); import it without that file.`, { cause: e });
  }
  const recordFile = record ? flat.filter((f) => f.name === TRAINING_SETTINGS_FILE) : [];
  const rec: AdapterRecord = {
    id: newId('adapter'),
    runId: null,
    name: name || baseModel.split('/').pop() + '-lora',
    createdAt: Date.now(),
    // Stored under the id the model has on this device (a local folder's name when it was matched by its Hub id).
    baseModel: loadedMatch(baseModel, loaded)?.id ?? baseModel,
    rank: adapter.config.r,
    alpha: adapter.config.alpha,
    targets: adapter.config.targetModules,
    ...(record && { objective: record.objective.kind }),
    files: [cfgFile, wFile, ...recordFile].map((f) => ({ name: f.name, bytes: f.bytes.slice().buffer as ArrayBuffer })),
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

/** llama.cpp / Ollama: the pipeline's LoRA GGUF and Modelfile, zipped. */
export async function exportAdapterGguf(adapterId: string): Promise<{ fileName: string; bytes: Uint8Array }> {
  const a = await getAdapter(adapterId);
  if (!a) throw new Error(`No adapter with id ${adapterId} (was it deleted?)`);
  const cfg = parseModelConfig(await baseConfigOf(a.baseModel));
  const files = await storedAdapterExport('gguf', { config: cfg }, a);
  const folder = `${safeFileName(a.name)}-gguf`;
  const gguf = await Promise.all(files.map(async (f) => ({ name: f.name, bytes: await exportFileBytes(f) })));
  // The run record goes along, as beside the PEFT files (llama.cpp and Ollama ignore it).
  const record = a.files.filter((f) => f.name === TRAINING_SETTINGS_FILE).map((f) => ({ name: f.name, bytes: new Uint8Array(f.bytes) }));
  return { fileName: `${folder}.zip`, bytes: zipFiles([...gguf, ...record], folder) };
}

// ---- merged model: base + adapter folded in, streamed ----

/** 'merged': Hugging Face folder (model.safetensors, config.json, tokenizer files); 'merged-gguf': one GGUF file. */
export type MergedFormat = Extract<ExportFormat, 'merged' | 'merged-gguf'>;

export interface MergedExportPlan {
  /** Folder name for 'merged' (the page zips or writes into it); file stem for 'merged-gguf'. */
  name: string;
  /** Files in the order they are streamed, with their approximate sizes in bytes. */
  files: { name: string; approxBytes: number }[];
  approxBytes: number;
}

export type { ChunkSink };

/** Folder name for 'merged'; file stem for 'merged-gguf'. */
const mergedName = (a: Pick<AdapterRecord, 'name'>) => `${safeFileName(a.name)}-merged`;

/** A cached model's files as the export pipeline opens them. */
export function exportBaseOf(model: HubModelFiles): Promise<ExportBase> {
  return openExportBase({ name: model.id, has: (f) => model.has(f), text: (f) => model.text(f), source: (f) => model.source(f) });
}

/**
 * The pipeline's files for a stored adapter: the worker's side of the one export pipeline
 * (the CLI's is cli/commands/export.ts). A merged GGUF is one file the page saves on its
 * own, so it is named after the adapter.
 */
export async function storedAdapterExport(format: ExportFormat, base: ExportBase, a: Pick<AdapterRecord, 'name' | 'baseModel' | 'files'>, ggufType?: MergedGgufType): Promise<ExportFile[]> {
  const adapter = await loadPeftFiles(a.files, base.config, `Adapter “${a.name}”`);
  // The adapter's own base_model_name_or_path names the base: the Hub id, also for a model imported from a folder.
  const files = await exportFiles(format, base, adapter, { name: a.name, baseModelId: adapter.config.baseModel || a.baseModel, ggufType });
  return format === 'merged-gguf' ? files.map((f) => ({ ...f, name: mergedGgufName(a, ggufType) })) : files;
}

/** The merged GGUF's file name: the adapter's, with the weight type unless F32 (the default). */
const mergedGgufName = (a: Pick<AdapterRecord, 'name'>, type: MergedGgufType = 'F32') => `${mergedName(a)}${type === 'F32' ? '' : `-${type}`}.gguf`;

/** Opens the base model from the cache and lays out what the export will stream. */
async function mergedSource(adapterId: string, format: MergedFormat, ggufType?: MergedGgufType): Promise<{ plan: MergedExportPlan; files: ExportFile[] }> {
  const a = await getAdapter(adapterId);
  if (!a) throw new Error(`No adapter with id ${adapterId} (was it deleted?)`);
  let model;
  try {
    model = await openModel({ id: a.baseModel, source: 'hub' });
  } catch (e) {
    throw new Error(`A merged export needs the base model's weights on this device: download or import ${a.baseModel} on the Model screen first. (${(e as Error).message})`, { cause: e });
  }
  const files = await storedAdapterExport(format, await exportBaseOf(model), a, ggufType);
  const sizes = files.map((f) => ({ name: f.name, approxBytes: f.approxBytes }));
  const name = mergedName(a);
  return { plan: { name, files: sizes, approxBytes: sizes.reduce((n, f) => n + f.approxBytes, 0) }, files };
}

/** What a merged export will write, without writing it (names and sizes for the page). */
export async function planMergedExport(adapterId: string, format: MergedFormat, ggufType?: MergedGgufType): Promise<MergedExportPlan> {
  return (await mergedSource(adapterId, format, ggufType)).plan;
}

/**
 * Streams a merged export into `sink`, one weight at a time: at most one tensor (plus the one
 * chunk in flight) is in this worker's memory. Cancel with cancelJob(jobId) between chunks.
 * `transferChunk` marks a chunk for transfer rather than copy (Comlink in the worker).
 */
export async function streamMergedExport(
  jobId: string,
  adapterId: string,
  format: MergedFormat,
  sink: ChunkSink,
  transferChunk: (c: Uint8Array) => Uint8Array = (c) => c,
  ggufType?: MergedGgufType,
): Promise<MergedExportPlan> {
  const signal = startJob(jobId);
  try {
    const src = await mergedSource(adapterId, format, ggufType);
    await streamExport(src.files, async (file, chunk) => {
      if (signal.aborted) throw new CancelledError();
      // A fresh buffer per chunk: the generator may hand out views into buffers it keeps.
      await sink(file, transferChunk(chunk.slice()));
    });
    if (signal.aborted) throw new CancelledError();
    return src.plan;
  } finally {
    endJob(jobId, signal);
  }
}
