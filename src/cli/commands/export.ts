// `export --model DIR --adapter DIR --format peft|gguf|merged|merged-gguf --out DIR`
import { basename, join } from 'node:path';
import type { ModelConfig } from '../../engine/model/config';
import { PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE } from '../../adapters/peft';
import { loadPeftFiles } from '../../adapters/load';
import { EXPORT_FORMATS, type ExportBase, type ExportFormat, exportFiles, openExportBase } from '../../adapters/export';
import type { LoraAdapter } from '../../adapters/lora';
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { str, type Values } from '../args';
import { CliError, directoryModelFiles } from '../model-dir';
import { checkOutPath, writeChunks, writeDirAtomically } from '../output';

export { EXPORT_FORMATS };

/** A PEFT adapter folder, checked against the base model it will be used with. */
export async function loadPeftDir(dir: string, base: { config: ModelConfig }): Promise<LoraAdapter> {
  for (const f of [PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE]) {
    if (!existsSync(join(dir, f))) throw new CliError(`--adapter ${dir}: missing ${f} (expected a PEFT adapter folder)`);
  }
  // Adapters are small: both files are read whole and go through the one loader.
  return loadPeftFiles(await Promise.all([PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE].map(async (name) => ({ name, bytes: await readFile(join(dir, name)) }))), base.config);
}

/** Writes the pipeline's files for `adapter` in `format` into the folder `dir` (which exists and is empty). */
export async function writeExport(format: ExportFormat, dir: string, base: ExportBase, adapter: LoraAdapter, opts: { name: string; baseModelId: string }): Promise<string[]> {
  const files = await exportFiles(format, base, adapter, opts);
  for (const f of files) await writeChunks(join(dir, f.name), f.chunks());
  return files.map((f) => f.name);
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
    const base = await openExportBase(files);
    const adapter = await loadPeftDir(adapterDir, base);
    // The adapter's recorded base model, else the folder it is exported against.
    const opts = { name: basename(adapterDir), baseModelId: adapter.config.baseModel || modelDir };
    await writeDirAtomically(outDir, async (dir) => {
      written = await writeExport(format as ExportFormat, dir, base, adapter, opts);
    });
  } finally {
    await files.close();
  }
  if (v.json === true) out(JSON.stringify({ format, out: outDir, files: written }));
  else out(`wrote ${format} to ${outDir}: ${written.join(', ')}`);
}
