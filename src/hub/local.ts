// A model from a local folder (files from a drop or a directory picker): used in place, read
// slice by slice from the File objects, or imported into the cache for later offline use.
// It passes the same checks as a Hub download (required files, architecture, shards).
import { blobSource } from '../engine/model/safetensors';
import { HubError, formatBytes, isAbortError } from './errors';
import {
  CONFIG_FILE,
  GENERATION_CONFIG_FILE,
  REQUIRED_TEXT_FILES,
  SINGLE_WEIGHTS_FILE,
  WEIGHTS_INDEX_FILE,
  checkArchitecture,
  parseJson,
  shardNamesFromIndex,
  type ModelFiles,
} from './model-files';
import { MANIFEST_FILE, localCacheKey, listCachedModels, writeJson, type CacheManifest, type CachedModel } from './cache';
import { SpeedMeter, throttle, type DownloadProgress } from './progress';
import type { ModelStore } from './store';

/** A File from an <input webkitdirectory>, a drop, or showDirectoryPicker (name + bytes). */
export type LocalFile = Blob & { name: string; webkitRelativePath?: string };

export interface LocalModel {
  model: ModelFiles;
  modelType: string;
  /** The files the model uses (others in the folder are ignored). */
  used: string[];
  bytes: number;
}

/** Folder name of the dropped files (from webkitRelativePath), or a fallback. */
export function folderName(files: readonly LocalFile[], fallback = 'local model'): string {
  const rel = files.find((f) => f.webkitRelativePath)?.webkitRelativePath;
  return rel && rel.includes('/') ? rel.split('/')[0] : fallback;
}

/** Checks a folder's files and exposes them as ModelFiles; nothing is copied. */
export async function openLocalModel(input: Iterable<LocalFile>, name?: string): Promise<LocalModel> {
  const list = [...input];
  const id = name ?? folderName(list);
  const byName = new Map<string, LocalFile>();
  for (const f of list) {
    // Only the folder's top level counts: nested paths (a/b/config.json) belong to other models.
    const parts = (f.webkitRelativePath || f.name).split('/');
    if (parts.length > 2) continue;
    if (byName.has(f.name)) throw new HubError('invalid', `${id}: two files are named ${f.name}; drop one model folder at a time.`);
    byName.set(f.name, f);
  }
  const missing = REQUIRED_TEXT_FILES.filter((f) => !byName.has(f));
  if (missing.length) {
    throw new HubError('missing-files', `${id} is missing ${missing.join(', ')}. A model folder has the Hugging Face layout: config.json, tokenizer.json, tokenizer_config.json and model.safetensors (or model.safetensors.index.json with its shards).`);
  }
  const text = (f: string) => byName.get(f)!.text();
  const config = parseJson(await text(CONFIG_FILE), `${id}: ${CONFIG_FILE}`);
  const { modelType } = checkArchitecture(config, id);

  const used: string[] = [...REQUIRED_TEXT_FILES];
  if (byName.has(GENERATION_CONFIG_FILE)) used.push(GENERATION_CONFIG_FILE);
  if (byName.has(SINGLE_WEIGHTS_FILE)) {
    used.push(SINGLE_WEIGHTS_FILE);
  } else if (byName.has(WEIGHTS_INDEX_FILE)) {
    const shards = shardNamesFromIndex(parseJson(await text(WEIGHTS_INDEX_FILE), `${id}: ${WEIGHTS_INDEX_FILE}`), id);
    const absent = shards.filter((s) => !byName.has(s));
    if (absent.length) throw new HubError('missing-files', `${id}: the weights index lists ${absent.join(', ')}, which ${absent.length > 1 ? 'are' : 'is'} not in the folder.`);
    used.push(WEIGHTS_INDEX_FILE, ...shards);
  } else {
    throw new HubError('missing-files', `${id} has no safetensors weights (${SINGLE_WEIGHTS_FILE} or ${WEIGHTS_INDEX_FILE}); the studio reads only safetensors, not PyTorch .bin files.`);
  }
  const set = new Set(used);
  const model: ModelFiles = {
    id,
    files: used,
    has: (f) => set.has(f),
    source: async (f) => {
      if (!set.has(f)) throw new HubError('missing-files', `${id} has no ${f}.`);
      return blobSource(byName.get(f)!, f);
    },
    text: async (f) => {
      if (!set.has(f)) throw new HubError('missing-files', `${id} has no ${f}.`);
      return text(f);
    },
  };
  return { model, modelType, used, bytes: used.reduce((n, f) => n + byName.get(f)!.size, 0) };
}

export interface ImportOptions {
  name?: string;
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgress) => void;
  storageMarginBytes?: number;
}

/**
 * Copies a local model folder into the cache (streamed file by file), so it is there next
 * time without picking the folder again. Same all-or-nothing rule as downloads.
 */
export async function importLocalModel(store: ModelStore, input: Iterable<LocalFile>, opts: ImportOptions = {}): Promise<CachedModel> {
  const list = [...input];
  const local = await openLocalModel(list, opts.name);
  const key = localCacheKey(local.model.id);
  const est = await store.estimate();
  if (est && local.bytes + (opts.storageMarginBytes ?? 32 * 1024 * 1024) > est.quota - est.usage) {
    throw new HubError('quota', `${local.model.id} needs ${formatBytes(local.bytes)} of storage but the browser lets the studio use only ${formatBytes(Math.max(0, est.quota - est.usage))} more. You can still use it straight from the folder without importing it.`);
  }
  await store.persist().catch(() => false);
  const byName = new Map(list.map((f) => [f.name, f]));
  const meter = new SpeedMeter();
  const report = throttle<DownloadProgress>((p) => opts.onProgress?.(p), 100);
  const progress: DownloadProgress = { repo: local.model.id, phase: 'downloading', file: null, bytesDone: 0, bytesTotal: local.bytes, bytesResumed: 0, bytesPerSecond: 0, etaSeconds: null };
  try {
    await store.deleteKey(key);
    for (const name of local.used) {
      progress.file = name;
      const writer = await store.openWriter(key, name, 0);
      const reader = (byName.get(name)!.stream() as ReadableStream<Uint8Array>).getReader();
      try {
        for (;;) {
          if (opts.signal?.aborted) throw new HubError('cancelled', 'The import was cancelled.');
          const { done, value } = await reader.read();
          if (done) break;
          await writer.write(value);
          progress.bytesDone += value.byteLength;
          meter.add(value.byteLength);
          progress.bytesPerSecond = meter.bytesPerSecond();
          progress.etaSeconds = meter.eta(local.bytes - progress.bytesDone);
          report({ ...progress });
        }
        await writer.close();
      } catch (e) {
        await reader.cancel().catch(() => undefined);
        await writer.abort().catch(() => undefined);
        throw e;
      }
      const size = await store.fileSize(key, name);
      if (size !== byName.get(name)!.size) throw new HubError('size-mismatch', `${name}: ${size} bytes stored, the file has ${byName.get(name)!.size}.`);
    }
    const manifest: CacheManifest = {
      version: 1,
      id: local.model.id,
      source: 'local',
      revision: null,
      baseUrl: null,
      modelType: local.modelType,
      files: local.used.map((name) => ({ name, size: byName.get(name)!.size })),
      bytes: local.bytes,
      completedAt: new Date().toISOString(),
    };
    await writeJson(store, key, MANIFEST_FILE, manifest);
  } catch (e) {
    await store.deleteKey(key).catch(() => undefined);
    if (e instanceof HubError) throw e;
    if (opts.signal?.aborted || isAbortError(e)) throw new HubError('cancelled', 'The import was cancelled.');
    if ((e as { name?: string })?.name === 'QuotaExceededError') throw new HubError('quota', `The browser ran out of storage while importing ${local.model.id}. Nothing was kept.`);
    throw new HubError('invalid', `${local.model.id}: ${(e as Error)?.message ?? String(e)}`);
  }
  progress.phase = 'done';
  progress.file = null;
  report({ ...progress }, true);
  return (await listCachedModels(store)).find((m) => m.key === key)!;
}
