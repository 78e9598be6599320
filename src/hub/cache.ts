// The model cache on top of a ModelStore: one folder per model, complete only once its
// manifest is written (after every file was verified). A folder without a manifest is a
// partial download: never offered as a model, resumable, deletable.
import { HubError } from './errors';
import type { ModelFiles } from './model-files';
import { readText, writeWhole, type ModelStore } from './store';

export const MANIFEST_FILE = '.manifest.json';
/** Expected sizes/etags of an unfinished download, so a later attempt can resume it. */
export const PENDING_FILE = '.pending.json';

export interface CachedFile {
  name: string;
  size: number;
  etag?: string | null;
}

export interface CacheManifest {
  version: 1;
  /** "owner/name" for Hub models, the folder name for local imports. */
  id: string;
  source: 'hub' | 'local';
  revision: string | null;
  baseUrl: string | null;
  modelType: string;
  files: CachedFile[];
  bytes: number;
  completedAt: string;
  /** A GGUF base model (kept as model.gguf): the picked file's name and its weight types, e.g. "Q4_K, Q6_K". */
  gguf?: CachedGguf;
}

export interface CachedGguf {
  file: string;
  weightTypes: string;
  /** A Hub GGUF repo's file: the original model its tokenizer files came from (named as the base model in exports). */
  tokenizerRepo?: string;
}

export interface PendingDownload {
  version: 1;
  id: string;
  revision: string;
  baseUrl: string;
  files: CachedFile[];
}

export interface CachedModel {
  key: string;
  id: string;
  source: 'hub' | 'local';
  revision: string | null;
  modelType: string;
  bytes: number;
  files: CachedFile[];
  completedAt: string;
  gguf: CachedGguf | null;
}

export interface PartialDownload {
  key: string;
  id: string;
  revision: string | null;
  /** Bytes on disk now. */
  bytes: number;
  /** Bytes of the whole model, when the download got far enough to know. */
  bytesTotal: number | null;
}

export function hubCacheKey(repo: string, revision: string): string {
  return `hub~${encodeURIComponent(repo)}~${encodeURIComponent(revision)}`;
}

/** A GGUF repository holds several files (one per quant): each is cached on its own. */
export function hubGgufCacheKey(repo: string, revision: string, file: string): string {
  return `${hubCacheKey(repo, revision)}~${encodeURIComponent(file)}`;
}

export function localCacheKey(name: string): string {
  return `local~${encodeURIComponent(name)}`;
}

const encoder = new TextEncoder();

export async function writeJson(store: ModelStore, key: string, file: string, value: unknown): Promise<void> {
  await writeWhole(store, key, file, encoder.encode(JSON.stringify(value, null, 1)));
}

async function readManifest(store: ModelStore, key: string): Promise<CacheManifest | null> {
  if ((await store.fileSize(key, MANIFEST_FILE)) === null) return null;
  try {
    const m = JSON.parse(await readText(store, key, MANIFEST_FILE)) as CacheManifest;
    return m?.version === 1 && Array.isArray(m.files) ? m : null;
  } catch {
    return null;
  }
}

export async function readPending(store: ModelStore, key: string): Promise<PendingDownload | null> {
  if ((await store.fileSize(key, PENDING_FILE)) === null) return null;
  try {
    const p = JSON.parse(await readText(store, key, PENDING_FILE)) as PendingDownload;
    return p?.version === 1 && Array.isArray(p.files) ? p : null;
  } catch {
    return null;
  }
}

/**
 * Models ready to use. A manifest only counts when every file it lists is present with its
 * size (storage can be evicted or tampered with); anything else is reported as partial.
 */
export async function listCachedModels(store: ModelStore): Promise<CachedModel[]> {
  const out: CachedModel[] = [];
  for (const key of await store.keys()) {
    const m = await readManifest(store, key);
    if (m && (await filesIntact(store, key, m.files))) {
      out.push({ key, id: m.id, source: m.source, revision: m.revision, modelType: m.modelType, bytes: m.bytes, files: m.files, completedAt: m.completedAt, gguf: m.gguf ?? null });
    }
  }
  return out.sort((a, b) => a.id.localeCompare(b.id));
}

/** Unfinished downloads (or damaged models): they take space and can be resumed or deleted. */
export async function listPartialDownloads(store: ModelStore): Promise<PartialDownload[]> {
  const out: PartialDownload[] = [];
  for (const key of await store.keys()) {
    const m = await readManifest(store, key);
    if (m && (await filesIntact(store, key, m.files))) continue;
    const pending = await readPending(store, key);
    const files = await store.files(key);
    out.push({
      key,
      id: pending?.id ?? m?.id ?? decodeKey(key),
      revision: pending?.revision ?? m?.revision ?? null,
      bytes: files.reduce((n, f) => n + f.size, 0),
      bytesTotal: pending ? pending.files.reduce((n, f) => n + f.size, 0) : null,
    });
  }
  return out;
}

async function filesIntact(store: ModelStore, key: string, files: CachedFile[]): Promise<boolean> {
  for (const f of files) if ((await store.fileSize(key, f.name)) !== f.size) return false;
  return true;
}

function decodeKey(key: string): string {
  const parts = key.split('~');
  return parts.length >= 2 ? decodeURIComponent(parts[1]) : key;
}

/** Total bytes the cache holds (complete and partial). */
export async function cacheSize(store: ModelStore): Promise<number> {
  let n = 0;
  for (const key of await store.keys()) for (const f of await store.files(key)) n += f.size;
  return n;
}

export async function deleteCachedModel(store: ModelStore, key: string): Promise<void> {
  await store.deleteKey(key);
}

/** Opens a complete cached model; throws a HubError when it is missing or damaged. */
export async function openCachedModel(store: ModelStore, key: string): Promise<ModelFiles & { manifest: CacheManifest }> {
  const manifest = await readManifest(store, key);
  if (!manifest) throw new HubError('missing-files', `No complete model is cached under ${decodeKey(key)}. Download it again.`);
  if (!(await filesIntact(store, key, manifest.files))) {
    throw new HubError('missing-files', `The cached copy of ${manifest.id} is incomplete (the browser may have evicted part of it). Delete it and download it again.`);
  }
  const names = manifest.files.map((f) => f.name);
  const set = new Set(names);
  return {
    id: manifest.id,
    files: names,
    manifest,
    has: (file) => set.has(file),
    source: (file) => {
      if (!set.has(file)) throw new HubError('missing-files', `${manifest.id} has no ${file}.`);
      return store.source(key, file);
    },
    text: (file) => {
      if (!set.has(file)) throw new HubError('missing-files', `${manifest.id} has no ${file}.`);
      return readText(store, key, file);
    },
  };
}
