// `export --model DIR --adapter DIR --format peft|gguf|merged|merged-gguf --out DIR`
// `export --format axolotl|trl --model DIR --adapter DIR --data FILE --out DIR [--gpus N]`: the run
// that trained the adapter, as a recipe for another trainer (train/recipe/).
import { basename, dirname, join } from 'node:path';
import type { ModelConfig } from '../../engine/model/config';
import { PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE } from '../../adapters/peft';
import { loadPeftFiles } from '../../adapters/load';
import { EXPORT_FORMATS, type ExportBase, type ExportFormat, type ExportOptions, MERGED_GGUF_TYPES, exportFiles } from '../../adapters/export';
import type { LoraAdapter } from '../../adapters/lora';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { num, optStr, str, type Values } from '../args';
import { CliError, openCliModel, modelArgs } from '../model-dir';
import { RECIPE_TARGETS, type RecipeTarget } from '../../train/recipe/mapping';
import { recipeFiles } from '../../train/recipe/recipe';
import { decodeRunRecord, recordedExamples, TRAINING_SETTINGS_FILE, type RunRecord } from '../../train/recipe/run-record';
import { fileSha256, parseDatasetFile } from '../dataset-file';
import { checkOutPath, writeChunks, writeDirAtomically } from '../output';

export { EXPORT_FORMATS };
const FORMATS = [...EXPORT_FORMATS, ...RECIPE_TARGETS];

/** A PEFT adapter folder, checked against the base model it will be used with. */
export async function loadPeftDir(dir: string, base: { config: ModelConfig }): Promise<LoraAdapter> {
  for (const f of [PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE]) {
    if (!existsSync(join(dir, f))) throw new CliError(`--adapter ${dir}: missing ${f} (expected a PEFT adapter folder)`);
  }
  // Adapters are small: both files are read whole and go through the one loader.
  return loadPeftFiles(await Promise.all([PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE].map(async (name) => ({ name, bytes: await readFile(join(dir, name)) }))), base.config);
}

/** Writes the pipeline's files for `adapter` in `format` into the folder `dir` (which exists and is empty). */
export async function writeExport(format: ExportFormat, dir: string, base: ExportBase, adapter: LoraAdapter, opts: ExportOptions): Promise<string[]> {
  const files = await exportFiles(format, base, adapter, opts);
  for (const f of files) await writeChunks(join(dir, f.name), f.chunks());
  return files.map((f) => f.name);
}

export async function exportCommand(v: Values, out: (l: string) => void): Promise<void> {
  const modelDir = str(v, 'model');
  const adapterDir = str(v, 'adapter');
  const format = str(v, 'format', 'peft');
  const outDir = str(v, 'out');
  if (!(FORMATS as readonly string[]).includes(format)) throw new CliError(`--format ${format}: expected one of ${FORMATS.join(', ')}`);
  checkOutPath(outDir, v.force === true);
  if ((RECIPE_TARGETS as readonly string[]).includes(format)) return recipeCommand(format as RecipeTarget, v, out);
  if (v.data !== undefined || v.gpus !== undefined) throw new CliError(`--data and --gpus belong to --format ${RECIPE_TARGETS.join('|')}`);
  const ggufType = optStr(v, 'gguf-type');
  if (ggufType !== undefined && format !== 'merged-gguf') throw new CliError('--gguf-type belongs to --format merged-gguf');
  if (ggufType !== undefined && !(MERGED_GGUF_TYPES as readonly string[]).includes(ggufType)) throw new CliError(`--gguf-type ${ggufType}: expected one of ${MERGED_GGUF_TYPES.join(', ')}`);
  const files = await openCliModel(modelDir, modelArgs(v));
  let written: string[] = [];
  try {
    const base: ExportBase = { config: files.opened.config, model: files };
    const adapter = await loadPeftDir(adapterDir, base);
    // The adapter's recorded base model, else the folder it is exported against.
    const opts: ExportOptions = { name: basename(adapterDir), baseModelId: adapter.config.baseModel || files.baseId, ggufType: ggufType as ExportOptions['ggufType'] };
    await writeDirAtomically(outDir, async (dir) => {
      written = await writeExport(format as ExportFormat, dir, base, adapter, opts);
    });
  } finally {
    await files.close();
  }
  if (v.json === true) out(JSON.stringify({ format, out: outDir, files: written }));
  else out(`wrote ${format} to ${outDir}: ${written.join(', ')}`);
}

/** The run record `train` wrote beside the adapter. */
async function readRunRecord(adapterDir: string): Promise<RunRecord> {
  const path = join(adapterDir, TRAINING_SETTINGS_FILE);
  if (!existsSync(path)) throw new CliError(`--adapter ${adapterDir}: no ${TRAINING_SETTINGS_FILE} (a recipe needs the settings that \`lora-studio train\` records beside the adapter)`);
  try {
    return decodeRunRecord(await readFile(path, 'utf8'));
  } catch (e) {
    throw new CliError(`--adapter ${adapterDir}: ${(e as Error).message}`, { cause: e });
  }
}

async function recipeCommand(target: RecipeTarget, v: Values, out: (l: string) => void): Promise<void> {
  const modelDir = str(v, 'model');
  const adapterDir = str(v, 'adapter');
  const dataFile = str(v, 'data');
  const outDir = str(v, 'out');
  const gpus = num(v, 'gpus', 1, { int: true, min: 1 });
  const run = await readRunRecord(adapterDir);
  const files = await openCliModel(modelDir, modelArgs(v));
  try {
    // The adapter must fit this model and be the one the record describes.
    const adapter = await loadPeftDir(adapterDir, files.opened);
    const c = adapter.config;
    const s = run.settings;
    if (c.r !== s.rank || c.alpha !== s.alpha || c.useRslora !== s.rslora || [...c.targetModules].sort().join() !== [...s.targets].sort().join()) {
      throw new CliError(`--adapter ${adapterDir}: ${TRAINING_SETTINGS_FILE} does not describe this adapter (rank, alpha, rsLoRA or targets differ)`);
    }
  } finally {
    await files.close();
  }
  // The same rows as the run: the same file, read and selected as train did (the studio's export reads them the same way).
  if (!existsSync(dataFile)) throw new CliError(`--data ${dataFile}: no such file`);
  const examples = await recordedExamples(run, { sha256: await fileSha256(dataFile), parse: () => parseDatasetFile(dataFile) }).catch((e: Error) => {
    throw new CliError(`--data ${dataFile}: ${e.message}`, { cause: e });
  });
  const recipe = recipeFiles(target, run, examples, { gpus });
  await writeDirAtomically(outDir, async (dir) => {
    for (const f of recipe) {
      await mkdir(dirname(join(dir, f.name)), { recursive: true });
      await writeFile(join(dir, f.name), f.text);
    }
  });
  const names = recipe.map((f) => f.name);
  if (v.json === true) out(JSON.stringify({ format: target, out: outDir, files: names }));
  else out(`wrote ${target} recipe to ${outDir}: ${names.join(', ')}`);
}
