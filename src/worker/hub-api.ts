// Worker methods for models: download from the Hub, list/delete the cache, import a local
// folder. Spread into the trainer worker's Comlink API (`...createHubApi({ gpuLimits })`).
// Results are plain objects: Comlink drops custom error fields, so failures come back as
// { ok: false, code, message } for the UI to show as they are.
import {
  HubError,
  OpfsStore,
  MemoryStore,
  downloadModel,
  deleteCachedModel,
  importLocalModel,
  listCachedModels,
  listPartialDownloads,
  hubCacheKey,
  type CachedModel,
  type DownloadProgress,
  type GpuLimitsForFit,
  type HubErrorCode,
  type LocalFile,
  type ModelStore,
  type PartialDownload,
} from '../hub';

export type HubResult<T> = ({ ok: true } & T) | { ok: false; code: HubErrorCode; message: string; resumable: boolean };

export interface HubDownloadRequest {
  repo: string;
  revision?: string;
  token?: string;
  /** Only for tests and mirrors; the page's Content-Security-Policy must allow the origin. */
  baseUrl?: string;
}

export interface HubStorageInfo {
  models: CachedModel[];
  partial: PartialDownload[];
  usage: number | null;
  quota: number | null;
  persisted: boolean | null;
}

export interface HubApiOptions {
  store?: ModelStore;
  /** The GPU's limits, to refuse models that cannot fit before downloading them. */
  gpuLimits?: () => Promise<GpuLimitsForFit | null>;
}

function failure(e: unknown): HubResult<never> {
  if (e instanceof HubError) return { ok: false, code: e.code, message: e.message, resumable: e.resumable };
  return { ok: false, code: 'server', message: (e as Error)?.message ?? String(e), resumable: false };
}

/** The browser's model store: OPFS where available, else memory (lost on reload). */
export function defaultModelStore(): ModelStore {
  return OpfsStore.isAvailable() ? new OpfsStore() : new MemoryStore();
}

/**
 * Pass the same store the worker opens models from before training:
 *   const models = defaultModelStore();
 *   const api = { ...createHubApi({ store: models, gpuLimits }), ... };
 *   const files = await openCachedModel(models, key); const weights = await openModelWeights(files);
 */
export function createHubApi(opts: HubApiOptions = {}) {
  const store = opts.store ?? defaultModelStore();
  const running = new Map<string, AbortController>();

  return {
    /** Downloads (or resumes) a model into the cache; `onProgress` may be a Comlink.proxy. */
    async hubDownload(req: HubDownloadRequest, onProgress?: (p: DownloadProgress) => void): Promise<HubResult<{ model: CachedModel; alreadyCached: boolean; persisted: boolean | null }>> {
      const key = hubCacheKey(req.repo, req.revision ?? 'main');
      if (running.has(key)) return { ok: false, code: 'server', message: `${req.repo} is already downloading.`, resumable: false };
      const ac = new AbortController();
      running.set(key, ac);
      try {
        const limits = (await opts.gpuLimits?.().catch(() => null)) ?? undefined;
        const r = await downloadModel({ ...req, store, signal: ac.signal, gpuLimits: limits, onProgress: onProgress ? (p) => void onProgress(p) : undefined });
        return { ok: true, model: r.model, alreadyCached: r.alreadyCached, persisted: r.persisted };
      } catch (e) {
        return failure(e);
      } finally {
        running.delete(key);
      }
    },

    /** Cancels a running download; whatever it wrote is deleted. */
    hubCancel(repo: string, revision = 'main'): boolean {
      const ac = running.get(hubCacheKey(repo, revision));
      ac?.abort();
      return Boolean(ac);
    },

    /** Cached models, unfinished downloads and the storage quota. */
    async hubStorage(): Promise<HubStorageInfo> {
      const est = await store.estimate().catch(() => null);
      const persisted = typeof navigator !== 'undefined' && navigator.storage?.persisted ? await navigator.storage.persisted().catch(() => null) : null;
      return { models: await listCachedModels(store), partial: await listPartialDownloads(store), usage: est?.usage ?? null, quota: est?.quota ?? null, persisted };
    },

    async hubDelete(key: string): Promise<HubResult<object>> {
      try {
        await deleteCachedModel(store, key);
        return { ok: true };
      } catch (e) {
        return failure(e);
      }
    },

    /** Copies a model folder (Files from a drop or directory picker) into the cache. */
    async hubImportFolder(files: LocalFile[], onProgress?: (p: DownloadProgress) => void): Promise<HubResult<{ model: CachedModel }>> {
      try {
        return { ok: true, model: await importLocalModel(store, files, { onProgress: onProgress ? (p) => void onProgress(p) : undefined }) };
      } catch (e) {
        return failure(e);
      }
    },
  };
}

export type HubApi = ReturnType<typeof createHubApi>;
