// The CLI's --model: a Hugging Face model directory on disk, a GGUF base model file whose
// tokenizer comes from the original model's folder or its Hub repository (--tokenizer DIR or
// owner/name, default the file's folder), or a Hub repo id (owner/name: downloaded once into
// the model cache, hub-model.ts). A path that exists is always the path.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { GGUF_BASE_FILE, type ModelFiles, type OpenedModel, memoryModelFiles, openGgufModelFiles, openModelFiles } from '../engine/model/model-files';
import { openFileSource, type FileByteSource } from '../engine/model/node-source';
import { fetchTokenizerFiles, isHubError, isRepoId } from '../hub';
import { cliHubTarget, hubErrorHint, hubModelFolder } from './hub-model';

export class CliError extends Error {
  override name = 'CliError';
}

export function directoryModelFiles(dir: string, flag = '--model'): ModelFiles & { close(): Promise<void> } {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new CliError(`${flag} ${dir}: not a directory (expected a Hugging Face model folder${flag === '--model' ? ', or a .gguf file' : ''})`);
  const present = new Set(readdirSync(dir));
  const opened: FileByteSource[] = [];
  return {
    name: dir,
    has: (f) => present.has(f),
    text: (f) => readFile(join(dir, f), 'utf8'),
    source: async (f) => {
      const s = await openFileSource(join(dir, f));
      opened.push(s);
      return s;
    },
    close: async () => {
      await Promise.all(opened.splice(0).map((s) => s.close()));
    },
  };
}

/** --model, --tokenizer and --gguf-file as every command that loads a model declares them. */
export const MODEL_OPTIONS = { model: { type: 'string' }, tokenizer: { type: 'string' }, 'gguf-file': { type: 'string' } } as const;

export const MODEL_HELP =
  '--model DIR | FILE.gguf | owner/name  --tokenizer DIR | owner/name  --gguf-file NAME\n' +
  '  (owner/name: a Hugging Face Hub model, downloaded once into the model cache ($LORA_STUDIO_CACHE, else $XDG_CACHE_HOME/lora-studio/models or ~/.cache/lora-studio/models) and used from there, offline too; ' +
  'a GGUF repository downloads one .gguf: --gguf-file NAME, else the file of --weights\' storage (Q8_0 for auto); ' +
  '--tokenizer: for a .gguf, the original model\'s folder with tokenizer.json and tokenizer_config.json or its Hub repo, whose tokenizer files alone are fetched ' +
  '(default the .gguf\'s folder, or the base model a GGUF repo\'s card names); HF_TOKEN for a gated repo, HF_ENDPOINT for another hub)';

/** --tokenizer, --gguf-file (and --weights where the command has it) as openCliModel takes them. */
export interface ModelArgs {
  tokenizer?: string;
  ggufFile?: string;
  weights?: string;
}

/** The model flags of parsed command-line values. */
export function modelArgs(v: Record<string, unknown>): ModelArgs {
  const s = (k: string) => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
  return { tokenizer: s('tokenizer'), ggufFile: s('gguf-file'), weights: s('weights') };
}

export const isGgufPath = (p: string) => /\.gguf$/i.test(p);

/** A model opened from --model (and --tokenizer); `files` is the folder its tokenizer (and, for a directory, everything) comes from. */
export interface CliModel {
  opened: OpenedModel;
  files: ModelFiles;
  /** Absolute path of the GGUF base, or null for a model folder. */
  ggufPath: string | null;
  /** The id an adapter trained on it is written for (PEFT base_model_name_or_path): the folder, the Hub repo, or over a GGUF the original model. */
  baseId: string;
  close(): Promise<void>;
}

/** Opens --model DIR, FILE.gguf (with --tokenizer) or owner/name; validates everything before any weight is read. */
export async function openCliModel(model: string, args: ModelArgs = {}): Promise<CliModel> {
  const { tokenizer } = args;
  if (!existsSync(model) && isRepoId(model) && !isGgufPath(model)) {
    // The cached folder (its name may end in .gguf: the key holds the file's name).
    const hub = await hubModelFolder(model, args);
    return openModelFolder(hub.folder, hub.ggufFile ? resolve(hub.folder, GGUF_BASE_FILE) : null, hub.baseId);
  }
  if (args.ggufFile !== undefined) throw new CliError(`--gguf-file goes with --model owner/name, a GGUF repository on the Hub; ${model} is on this disk`);
  if (!isGgufPath(model)) {
    if (tokenizer !== undefined) throw new CliError(`--tokenizer goes with --model FILE.gguf; the model folder ${model} has its own tokenizer files`);
    return openModelFolder(model, null, model);
  }
  if (!existsSync(model) || !statSync(model).isFile()) throw new CliError(`--model ${model}: no such file`);
  const tokDir = tokenizer ?? dirname(model);
  const files = await tokenizerFiles(tokDir);
  const missing = ['tokenizer.json', 'tokenizer_config.json'].filter((f) => !files.has(f));
  if (missing.length) {
    throw new CliError(`--model ${model}: a GGUF base model needs the original model's tokenizer.json and tokenizer_config.json; ${tokDir} has no ${missing.join(' or ')} (give --tokenizer DIR or owner/name, the original model's folder or Hub repo)`);
  }
  const source = await openFileSource(resolve(model)); // absolute: the Modelfile's FROM names it
  const close = async () => {
    await source.close();
    await files.close();
  };
  try {
    return { opened: await openGgufModelFiles(source, files), files, ggufPath: resolve(model), baseId: files.name, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** A model folder (a Hub model's cache folder holds model.gguf for a GGUF file). */
async function openModelFolder(dir: string, ggufPath: string | null, baseId: string): Promise<CliModel> {
  const files = directoryModelFiles(dir);
  try {
    return { opened: await openModelFiles(files), files, ggufPath, baseId, close: () => files.close() };
  } catch (e) {
    await files.close();
    throw e;
  }
}

/**
 * --tokenizer: a folder on disk, else a Hub repo id whose tokenizer files (only those, a few MB)
 * are fetched into memory for this run from the Hub as the CLI reaches it (cliHubTarget). A path
 * that exists is always the folder.
 */
async function tokenizerFiles(arg: string): Promise<ModelFiles & { close(): Promise<void> }> {
  if (existsSync(arg) || !isRepoId(arg)) {
    if (!existsSync(arg) || !statSync(arg).isDirectory()) throw new CliError(`--tokenizer ${arg}: not a directory, nor a Hugging Face repo id (owner/name); give the original model's folder or its Hub repo`);
    return directoryModelFiles(arg, '--tokenizer');
  }
  const t = cliHubTarget(arg);
  process.stderr.write(`tokenizer: fetching the tokenizer files of ${arg} from ${t.baseUrl}\n`);
  try {
    const entries = await fetchTokenizerFiles(t);
    return { ...memoryModelFiles(arg, entries), close: async () => undefined };
  } catch (e) {
    if (!isHubError(e)) throw e;
    throw new CliError(`--tokenizer ${arg}: no such folder, and the Hub did not give its tokenizer files: ${e.message}${hubErrorHint(e)}`);
  }
}
