// --model owner/name: a Hugging Face Hub model, downloaded once into the CLI's model cache by the
// studio's own downloader (checks before any weight, Range resume of a broken or killed download,
// sizes verified), then opened from its folder like any model folder. A GGUF repository
// downloads one .gguf (--gguf-file, else the file of --weights' storage, else Q8_0) and the
// original model's tokenizer files (--tokenizer owner/name, else the base model its card names).
// A model already in the cache is used without the network.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_HUB_URL, type HubError, defaultGgufFile, downloadModel, formatBytes, hubCacheKey, hubGgufCacheKey, inspectHubRepo, isHubError, listCachedModels, type CachedModel, type DownloadProgress, type HubGgufFile } from '../hub';
import type { HubTarget } from '../hub/http';
import { READ_GGML_TYPES, WEIGHT_STORAGES, type WeightStorage } from '../engine/model/weight-storage';
import { DirectoryStore } from './dir-store';
import { CliError } from './model-dir';
import { formatEta } from './progress';

const REVISION = 'main';

/** The CLI's model cache: $LORA_STUDIO_CACHE, else $XDG_CACHE_HOME/lora-studio/models, else ~/.cache/lora-studio/models. */
export function cliModelCache(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LORA_STUDIO_CACHE) return env.LORA_STUDIO_CACHE;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'lora-studio', 'models');
}

export interface HubModelArgs {
  /** --tokenizer: a GGUF repo's original model (owner/name). */
  tokenizer?: string;
  /** --gguf-file: which .gguf of a GGUF repo. */
  ggufFile?: string;
  /** --weights, where the command has it: the storage whose GGUF file is picked by default. */
  weights?: string;
}

/** A Hub model in the cache: its folder and the id an adapter trained on it is written for. */
export interface HubModelFolder {
  folder: string;
  /** The repo, or for a GGUF file the original model whose tokenizer it uses. */
  baseId: string;
  /** The cached .gguf's name in its repository, for a GGUF repo. */
  ggufFile: string | null;
}

/** The Hub as the CLI reaches it: HF_ENDPOINT (as huggingface_hub reads it) or the Hub, HF_TOKEN for gated repos. */
export function cliHubTarget(repo: string): HubTarget {
  return { baseUrl: process.env.HF_ENDPOINT || DEFAULT_HUB_URL, repo, revision: REVISION, token: process.env.HF_TOKEN || undefined, fetch: globalThis.fetch.bind(globalThis) };
}

/** What a Hub refusal adds for the CLI's user: where a gated repo's token goes. */
export const hubErrorHint = (e: HubError) => (e.code === 'gated' ? ' (the CLI sends the token in HF_TOKEN)' : '');

/** Downloads `repo` into the cache unless it is there; returns its folder. Progress goes to stderr. */
export async function hubModelFolder(repo: string, args: HubModelArgs = {}): Promise<HubModelFolder> {
  const store = new DirectoryStore(cliModelCache());
  const cached = await listCachedModels(store);
  const plain = cached.find((m) => m.key === hubCacheKey(repo, REVISION));
  if (plain) {
    if (args.tokenizer !== undefined || args.ggufFile !== undefined) throw notGguf(repo);
    return inCache(store, plain);
  }
  if (args.ggufFile !== undefined) {
    const file = cached.find((m) => m.key === hubGgufCacheKey(repo, REVISION, args.ggufFile!));
    if (file) return inCache(store, file);
  }

  const t = cliHubTarget(repo);
  process.stderr.write(`model: ${repo} is not in the cache (${store.root}); downloading it from ${t.baseUrl}\n`);
  try {
    const kind = await inspectHubRepo(t);
    if (kind.kind === 'model') {
      if (args.tokenizer !== undefined || args.ggufFile !== undefined) throw notGguf(repo);
      const r = await downloadModel({ repo, revision: REVISION, baseUrl: t.baseUrl, token: t.token, store, onProgress: progressLine(repo), progressIntervalMs: progressInterval() });
      return inCache(store, r.model);
    }
    const file = pickGgufFile(repo, kind.files, args);
    const tokenizerRepo = args.tokenizer ?? kind.baseModel;
    if (!tokenizerRepo) throw new CliError(`--model ${repo}: a GGUF repository whose card names no base model; give the original model's Hub repo with --tokenizer owner/name (its tokenizer files are downloaded with the .gguf)`);
    const r = await downloadModel({ repo, revision: REVISION, baseUrl: t.baseUrl, token: t.token, store, gguf: { file, tokenizerRepo }, onProgress: progressLine(repo), progressIntervalMs: progressInterval() });
    return inCache(store, r.model);
  } catch (e) {
    if (!isHubError(e)) throw e;
    // Offline with a GGUF of this repo cached already: use it rather than fail.
    const fallback = e.code === 'network' ? cached.filter((m) => m.id === repo && m.gguf) : [];
    if (fallback.length === 1) {
      process.stderr.write(`model: the Hub cannot be reached (${e.message}); using the cached ${fallback[0].gguf!.file}\n`);
      return inCache(store, fallback[0]);
    }
    if (fallback.length > 1) throw new CliError(`--model ${repo}: ${e.message} Cached files of it: ${fallback.map((m) => m.gguf!.file).join(', ')}; --gguf-file NAME uses one offline.`, { cause: e });
    throw new CliError(`--model ${repo}: ${e.message}${hubErrorHint(e)}`, { cause: e });
  }
}

function inCache(store: DirectoryStore, m: CachedModel): HubModelFolder {
  return { folder: store.folder(m.key), baseId: m.gguf?.tokenizerRepo ?? m.id, ggufFile: m.gguf?.file ?? null };
}

const notGguf = (repo: string) => new CliError(`--model ${repo}: --tokenizer and --gguf-file go with a GGUF repository; ${repo} is a Hugging Face model with its own tokenizer`);

/** --gguf-file if the repo has it; else the file of --weights' storage (Q8_0 for auto), as the studio picks for a storage. */
function pickGgufFile(repo: string, files: readonly HubGgufFile[], args: HubModelArgs): string {
  const list = files.map((f) => `${f.name} (${formatBytes(f.size)})`).join(', ');
  if (args.ggufFile !== undefined) {
    if (!files.some((f) => f.name === args.ggufFile)) throw new CliError(`--gguf-file ${args.ggufFile}: ${repo} has no such file; it has ${list}`);
    return args.ggufFile;
  }
  const storage: WeightStorage = args.weights && (WEIGHT_STORAGES as readonly string[]).includes(args.weights) ? (args.weights as WeightStorage) : 'q8';
  const pick = defaultGgufFile(files, storage);
  if (!pick) throw new CliError(`--model ${repo}: no GGUF file of a type the engine reads (${READ_GGML_TYPES}): ${list}`);
  if (files.length > 1) process.stderr.write(`model: ${repo} has ${files.length} GGUF files; picked ${pick.name} for ${storage} weights (--gguf-file NAME picks another: ${list})\n`);
  return pick.name;
}

const progressInterval = () => (process.stderr.isTTY ? 250 : 5000);

/** One line per report: rewritten in place on a terminal, else a line every few seconds (and at each phase). */
function progressLine(repo: string): (p: DownloadProgress) => void {
  const tty = process.stderr.isTTY;
  return (p) => {
    const line =
      p.phase === 'downloading'
        ? `download ${repo}: ${p.bytesTotal ? Math.floor((100 * p.bytesDone) / p.bytesTotal) : 0}% of ${formatBytes(p.bytesTotal)}${p.file ? ` (${p.file})` : ''}` +
          `${p.bytesResumed ? `, ${formatBytes(p.bytesResumed)} resumed` : ''}, ${formatBytes(p.bytesPerSecond)}/s, ETA ${formatEta(p.etaSeconds ?? NaN)}`
        : `download ${repo}: ${p.phase}${p.phase === 'done' ? ` (${formatBytes(p.bytesTotal)})` : ''}`;
    if (tty) process.stderr.write(`\r${line}\x1b[K${p.phase === 'done' ? '\n' : ''}`);
    else process.stderr.write(`${line}\n`);
  };
}
