// A model from a local folder (files from a drop or a directory picker): used in place, read
// slice by slice from the File objects, or imported into the cache for later offline use.
// It passes the same checks as a Hub download (required files, architecture, shards). A GGUF
// base model is one .gguf picked with the original model's tokenizer files: it is kept as
// model.gguf beside a config.json built from its header (what the rest of the studio reads).
import { blobSource } from '../engine/model/safetensors';
import { modelConfigJson } from '../engine/model/config';
import { GGUF_BASE_FILE, type GgufBaseInfo, openGgufModelFiles } from '../engine/model/model-files';
import { HubError, formatBytes, isAbortError } from './errors';
import {
  CONFIG_FILE,
  GENERATION_CONFIG_FILE,
  REQUIRED_TEXT_FILES,
  SINGLE_WEIGHTS_FILE,
  TOKENIZER_CONFIG_FILE,
  TOKENIZER_FILE,
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
  /** The files the model uses (others in the folder are ignored), by the names the model reads them under. */
  used: string[];
  bytes: number;
  /** The bytes of a used file (a GGUF's model.gguf is the picked .gguf; its config.json is built). */
  blob(file: string): Blob;
  /** Set for a GGUF base model: the picked file's name, size and weight types. */
  gguf: GgufBaseInfo | null;
}

/** Folder name of the dropped files (from webkitRelativePath); for loose files with a .gguf, its name without the extension; else a fallback. */
export function folderName(files: readonly LocalFile[], fallback = 'local model'): string {
  const rel = files.find((f) => f.webkitRelativePath)?.webkitRelativePath;
  if (rel && rel.includes('/')) return rel.split('/')[0];
  const gguf = files.find((f) => /\.gguf$/i.test(f.name));
  return gguf ? gguf.name.replace(/\.gguf$/i, '') : fallback;
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
  const ggufs = [...byName.keys()].filter((f) => /\.gguf$/i.test(f));
  if (ggufs.length && !byName.has(SINGLE_WEIGHTS_FILE) && !byName.has(WEIGHTS_INDEX_FILE)) return openLocalGguf(id, byName, ggufs);
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
  return localModel(id, modelType, new Map(used.map((f) => [f, byName.get(f)!])), null);
}

/** ModelFiles over the chosen blobs, by the names the model reads them under. */
function localModel(id: string, modelType: string, blobs: Map<string, Blob>, gguf: GgufBaseInfo | null): LocalModel {
  const used = [...blobs.keys()];
  const blob = (f: string) => {
    const b = blobs.get(f);
    if (!b) throw new HubError('missing-files', `${id} has no ${f}.`);
    return b;
  };
  const model: ModelFiles = {
    id,
    files: used,
    has: (f) => blobs.has(f),
    source: async (f) => blobSource(blob(f), f),
    text: async (f) => blob(f).text(),
  };
  return { model, modelType, used, bytes: used.reduce((n, f) => n + blob(f).size, 0), blob, gguf };
}

/** One .gguf with the original model's tokenizer files: checked (architecture, tensor types, vocabulary) before use. */
async function openLocalGguf(id: string, byName: Map<string, LocalFile>, ggufs: string[]): Promise<LocalModel> {
  if (ggufs.length > 1) throw new HubError('invalid', `${id}: ${ggufs.join(', ')} are several GGUF files; pick one, with the original model's tokenizer.json and tokenizer_config.json.`);
  const missing = [TOKENIZER_FILE, TOKENIZER_CONFIG_FILE].filter((f) => !byName.has(f));
  if (missing.length) {
    throw new HubError('missing-files', `${id}: a GGUF base model (${ggufs[0]}) needs the original model's ${missing.join(' and ')} picked with it (from its Hugging Face folder); a GGUF's own tokenizer is not read.`);
  }
  const file = byName.get(ggufs[0])!;
  const tokenizerFiles = { name: id, has: (f: string) => byName.has(f), text: (f: string) => byName.get(f)!.text(), source: async (f: string) => blobSource(byName.get(f)!, f) };
  let opened;
  try {
    opened = await openGgufModelFiles(blobSource(file, ggufs[0]), tokenizerFiles);
  } catch (e) {
    const msg = (e as Error).message;
    throw new HubError(/general\.architecture/.test(msg) ? 'unsupported-architecture' : 'invalid', msg);
  }
  const blobs = new Map<string, Blob>([[CONFIG_FILE, new Blob([JSON.stringify(modelConfigJson(opened.config), null, 2)])], [TOKENIZER_FILE, byName.get(TOKENIZER_FILE)!], [TOKENIZER_CONFIG_FILE, byName.get(TOKENIZER_CONFIG_FILE)!]]);
  if (byName.has(GENERATION_CONFIG_FILE)) blobs.set(GENERATION_CONFIG_FILE, byName.get(GENERATION_CONFIG_FILE)!);
  blobs.set(GGUF_BASE_FILE, file);
  return localModel(id, opened.config.architecture, blobs, opened.gguf!);
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
  const meter = new SpeedMeter();
  const report = throttle<DownloadProgress>((p) => opts.onProgress?.(p), 100);
  const progress: DownloadProgress = { repo: local.model.id, phase: 'downloading', file: null, bytesDone: 0, bytesTotal: local.bytes, bytesResumed: 0, bytesPerSecond: 0, etaSeconds: null };
  try {
    await store.deleteKey(key);
    for (const name of local.used) {
      progress.file = name;
      const writer = await store.openWriter(key, name, 0);
      const reader = (local.blob(name).stream() as ReadableStream<Uint8Array>).getReader();
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
      if (size !== local.blob(name).size) throw new HubError('size-mismatch', `${name}: ${size} bytes stored, the file has ${local.blob(name).size}.`);
    }
    const manifest: CacheManifest = {
      version: 1,
      id: local.model.id,
      source: 'local',
      revision: null,
      baseUrl: null,
      modelType: local.modelType,
      files: local.used.map((name) => ({ name, size: local.blob(name).size })),
      bytes: local.bytes,
      ...(local.gguf ? { gguf: { file: local.gguf.file, weightTypes: local.gguf.weightTypes } } : {}),
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
