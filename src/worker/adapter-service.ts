// Adapters on disk: export a stored adapter as a PEFT zip, import a PEFT adapter (zip or the
// two files) after validating it against its base model, and store it in persist/.
import { importPeft, PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE } from '../adapters/peft';
import { exportLoraGguf, ollamaModelfile } from '../adapters/gguf';
import { readModelMetadata } from '../hub';
import { openModel } from './models-service';
import { parseModelConfig } from '../engine/model/config';
import { memorySource, SafetensorsFile } from '../engine/model/safetensors';
import { newId } from '../persist/db';
import { getAdapter, saveAdapter } from '../persist/repo';
import type { AdapterRecord } from '../persist/records';
import { safeFileName } from '../persist/lifecycle';
import { MODEL_PRESETS } from './presets';
import { unzipFiles, zipFiles, type NamedBytes } from './zip';

export async function exportAdapterZip(adapterId: string): Promise<{ fileName: string; bytes: Uint8Array }> {
  const a = await getAdapter(adapterId);
  if (!a) throw new Error(`No adapter with id ${adapterId} (was it deleted?)`);
  const folder = safeFileName(a.name);
  const bytes = zipFiles(a.files.map((f) => ({ name: f.name, bytes: new Uint8Array(f.bytes) })), folder);
  return { fileName: `${folder}.zip`, bytes };
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

/** llama.cpp / Ollama: a LoRA GGUF plus a Modelfile, zipped. */
export async function exportAdapterGguf(adapterId: string): Promise<{ fileName: string; bytes: Uint8Array }> {
  const a = await getAdapter(adapterId);
  if (!a) throw new Error(`No adapter with id ${adapterId} (was it deleted?)`);
  const cfg = parseModelConfig(await baseConfigOf(a.baseModel));
  const cfgFile = a.files.find((f) => f.name === PEFT_CONFIG_FILE);
  const wFile = a.files.find((f) => f.name === PEFT_WEIGHTS_FILE);
  if (!cfgFile || !wFile) throw new Error(`Adapter “${a.name}” is missing its PEFT files.`);
  const weights = await SafetensorsFile.open(memorySource(new Uint8Array(wFile.bytes), PEFT_WEIGHTS_FILE));
  const adapter = await importPeft({ adapterConfig: new TextDecoder().decode(cfgFile.bytes), weights }, cfg);
  const folder = safeFileName(a.name);
  const gguf = await exportLoraGguf(adapter, cfg, { name: a.name });
  const base = safeFileName(a.baseModel.split('/').pop() ?? 'base');
  const modelfile =
    `# Ollama: convert the base model (${a.baseModel}) to GGUF as ./${base}.gguf (llama.cpp convert_hf_to_gguf.py), then: ollama create ${folder} -f Modelfile\n` +
    ollamaModelfile({ from: `./${base}.gguf`, adapterFile: `./${folder}.gguf`, adapter });
  const bytes = zipFiles([{ name: `${folder}.gguf`, bytes: gguf }, { name: 'Modelfile', bytes: new TextEncoder().encode(modelfile) }], `${folder}-gguf`);
  return { fileName: `${folder}-gguf.zip`, bytes };
}
