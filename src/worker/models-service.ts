// Base models in the worker: download from the Hub, import a local folder, list and delete the
// cache (U2's src/hub over OPFS), and open a model's files for training and generation.
import {
  deleteCachedModel,
  downloadModel,
  hubCacheKey,
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

export type { CachedModel, DownloadProgress } from '../hub';

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
export async function download(jobId: string, repo: string, token: string | undefined, onProgress?: (p: DownloadProgress) => void): Promise<CachedModel> {
  const signal = startJob(jobId);
  try {
    return (await downloadModel({ repo, token: token?.trim() || undefined, store: modelStore(), signal, onProgress })).model;
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
  return ref.source === 'local' ? localCacheKey(ref.id) : hubCacheKey(ref.id, ref.revision ?? 'main');
}

/** A cached model's files; a clear error if it has not been downloaded or imported yet. */
export async function openModel(ref: ModelRef): Promise<ModelFiles> {
  const all = await listCached();
  const hit = all.find((m) => m.key === cacheKeyOf(ref)) ?? all.find((m) => m.id === ref.id && m.source === ref.source) ?? all.find((m) => m.id === ref.id);
  if (!hit) throw new Error(modelMissingMessage(ref));
  return openCachedModel(modelStore(), hit.key);
}
