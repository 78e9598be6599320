// Base models in the worker: download from the Hub, import a local folder, list and delete the
// cache (U2's src/hub over OPFS), and open a model's files for training and generation.
import {
  deleteCachedModel,
  downloadModel,
  DEFAULT_HUB_URL,
  hubCacheKey,
  hubGgufCacheKey,
  defaultGgufFile,
  inspectHubRepo,
  readHubGgufHeader,
  type HubGgufChoice,
  type HubGgufHeader,
  type HubRepoKind,
  importLocalModel,
  isHubError,
  listCachedModels,
  localCacheKey,
  openCachedModel,
  OpfsStore,
  type CachedModel,
  type DownloadProgress,
  type LocalFile,
  type ModelFiles,
} from '../hub';
import type { ModelRef } from '../persist/records';
import { endJob, startJob } from './jobs';
import { modelMissingMessage } from './model-availability';

export type { CachedModel, DownloadProgress, HubGgufFile, HubGgufHeader, HubRepoKind } from '../hub';

let store: OpfsStore | null = null;

function modelStore(): OpfsStore {
  if (!OpfsStore.isAvailable()) throw new Error('This browser has no Origin Private File System, so models cannot be cached here.');
  store ??= new OpfsStore();
  return store;
}

export const listCached = (): Promise<CachedModel[]> => listCachedModels(modelStore());

export const deleteCached = (key: string): Promise<void> => deleteCachedModel(modelStore(), key);

/** Where the Model screen takes the access token (named in gated-model errors). */
export const TOKEN_FIELD = 'Hugging Face access token';

/**
 * Downloads a Hub model into the cache. `token` (gated or private models) only ever travels in
 * the Authorization header (src/hub), never in a URL.
 */
export async function download(jobId: string, repo: string, token: string | undefined, onProgress?: (p: DownloadProgress) => void, gguf?: HubGgufChoice): Promise<CachedModel> {
  const signal = startJob(jobId);
  try {
    return (await downloadModel({ repo, token: token?.trim() || undefined, store: modelStore(), signal, onProgress, gguf })).model;
  } catch (e) {
    if (isHubError(e) && e.code === 'gated') {
      const where = token?.trim() ? `Check the token in “${TOKEN_FIELD}” on this screen.` : `Paste it into “${TOKEN_FIELD}” on this screen and download again.`;
      throw new Error(`${e.message} ${where}`, { cause: e });
    }
    throw e;
  } finally {
    endJob(jobId, signal);
  }
}

const hubTarget = (repo: string, token: string | undefined) => ({ baseUrl: DEFAULT_HUB_URL, repo, revision: 'main', token: token?.trim() || undefined, fetch: globalThis.fetch.bind(globalThis) });

/** Whether a Hub id is a model or a GGUF repository (its .gguf files and the original model its card names). Only the repo id travels. */
export const inspectHub = (repo: string, token: string | undefined): Promise<HubRepoKind> => inspectHubRepo(hubTarget(repo, token));

/** A GGUF repo file's config and tensor types, from its header (Range requests), for the memory plan before downloading. */
export const hubGgufHeader = (repo: string, file: string, token: string | undefined): Promise<HubGgufHeader> => readHubGgufHeader(hubTarget(repo, token), file);

export const defaultHubGguf = defaultGgufFile;

/** Copies a dropped or picked model folder into the cache (Files are handles: nothing is read on the UI thread). */
export async function importFolder(jobId: string, files: LocalFile[], name: string | undefined, onProgress?: (p: DownloadProgress) => void): Promise<CachedModel> {
  const signal = startJob(jobId);
  try {
    return await importLocalModel(modelStore(), files, { name, signal, onProgress });
  } finally {
    endJob(jobId, signal);
  }
}

/** The cache key of a model reference (Hub models at their main revision). */
export function cacheKeyOf(ref: ModelRef): string {
  if (ref.source === 'local') return localCacheKey(ref.id);
  return ref.gguf ? hubGgufCacheKey(ref.id, ref.revision ?? 'main', ref.gguf.file) : hubCacheKey(ref.id, ref.revision ?? 'main');
}

/** A cached model's files; a clear error if it has not been downloaded or imported yet. */
export async function openModel(ref: ModelRef): Promise<ModelFiles> {
  const all = await listCached();
  const hit = all.find((m) => m.key === cacheKeyOf(ref)) ?? all.find((m) => m.id === ref.id && m.source === ref.source) ?? all.find((m) => m.id === ref.id);
  if (!hit) throw new Error(modelMissingMessage(ref));
  return openCachedModel(modelStore(), hit.key);
}
