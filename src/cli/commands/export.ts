// `export --model DIR --adapter DIR --format peft|gguf|merged|merged-gguf --out DIR`
import { join } from 'node:path';
import { openModelFiles, type OpenedModel } from '../../engine/model/model-files';
import { SafetensorsFile } from '../../engine/model/safetensors';
import { openFileSource } from '../../engine/model/node-source';
import { exportPeft, importPeft, PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE } from '../../adapters/peft';
import { baseGgufChunks, exportLoraGguf, ollamaModelfile } from '../../adapters/gguf';
import { COPIED_MODEL_FILES, mergedConfigJson, mergedSafetensorsChunks } from '../../adapters/merged';
import type { LoraAdapter } from '../../adapters/lora';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { str, type Values } from '../args';
import { CliError, directoryModelFiles } from '../model-dir';
import { checkOutPath, writeChunks, writeDirAtomically } from '../output';

export const EXPORT_FORMATS = ['peft', 'gguf', 'merged', 'merged-gguf'] as const;

export async function loadPeftDir(dir: string, model: OpenedModel): Promise<LoraAdapter> {
  for (const f of [PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE]) {
    if (!existsSync(join(dir, f))) throw new CliError(`--adapter ${dir}: missing ${f} (expected a PEFT adapter folder)`);
  }
  const source = await openFileSource(join(dir, PEFT_WEIGHTS_FILE));
  try {
    const weights = await SafetensorsFile.open(source);
    return await importPeft({ adapterConfig: await readFile(join(dir, PEFT_CONFIG_FILE), 'utf8'), weights }, model.config);
  } finally {
    await source.close();
  }
}

/** Writes `adapter` in `format` into the folder `dir` (which exists and is empty). */
export async function writeExport(format: (typeof EXPORT_FORMATS)[number], dir: string, modelDir: string, model: OpenedModel, adapter: LoraAdapter): Promise<string[]> {
  const written: string[] = [];
  const put = async (name: string, data: string | Uint8Array) => {
    await writeFile(join(dir, name), data);
    written.push(name);
  };
  if (format === 'peft') {
    const files = exportPeft(adapter, model.config);
    for (const [name, data] of Object.entries(files)) await put(name, data);
  } else if (format === 'gguf') {
    await put('adapter.gguf', await exportLoraGguf(adapter, model.config, { name: 'lora-studio adapter' }));
    await put('Modelfile', ollamaModelfile({ from: adapter.config.baseModel || modelDir, adapterFile: './adapter.gguf', adapter }));
  } else if (format === 'merged') {
    await writeChunks(join(dir, 'model.safetensors'), mergedSafetensorsChunks(model.config, model.weights, adapter));
    written.push('model.safetensors');
    await put('config.json', mergedConfigJson(JSON.stringify(model.configJson), model.config.dtype));
    for (const f of COPIED_MODEL_FILES) {
      if (existsSync(join(modelDir, f))) {
        await copyFile(join(modelDir, f), join(dir, f));
        written.push(f);
      }
    }
  } else {
    await writeChunks(join(dir, 'model.gguf'), baseGgufChunks(model.config, model.weights, { tokenizerJson: model.tokenizerJson, tokenizerConfig: model.tokenizerConfig, generationConfig: model.generationConfig }, { merge: adapter }));
    written.push('model.gguf');
  }
  return written;
}

export async function exportCommand(v: Values, out: (l: string) => void): Promise<void> {
  const modelDir = str(v, 'model');
  const adapterDir = str(v, 'adapter');
  const format = str(v, 'format', 'peft');
  const outDir = str(v, 'out');
  if (!(EXPORT_FORMATS as readonly string[]).includes(format)) throw new CliError(`--format ${format}: expected one of ${EXPORT_FORMATS.join(', ')}`);
  checkOutPath(outDir, v.force === true);
  const files = directoryModelFiles(modelDir);
  let written: string[] = [];
  try {
    const model = await openModelFiles(files);
    const adapter = await loadPeftDir(adapterDir, model);
    await writeDirAtomically(outDir, async (dir) => {
      written = await writeExport(format as (typeof EXPORT_FORMATS)[number], dir, modelDir, model, adapter);
    });
  } finally {
    await files.close();
  }
  if (v.json === true) out(JSON.stringify({ format, out: outDir, files: written }));
  else out(`wrote ${format} to ${outDir}: ${written.join(', ')}`);
}
