// Downloads a Hugging Face model into the cache: checks first (repo reachable, access,
// architecture, GPU limits, storage quota) so a refusal leaves nothing behind; then streams
// each weight file chunk by chunk into the store (never whole in memory), resuming with
// Range requests when the connection breaks; verifies every size; and only then marks the
// model complete. Cancel deletes everything it wrote.
import { HubError, formatBytes, isAbortError, isHubError } from './errors';
import {
  CONFIG_FILE,
  OPTIONAL_TEXT_FILES,
  REQUIRED_TEXT_FILES,
  SINGLE_WEIGHTS_FILE,
  WEIGHTS_INDEX_FILE,
  checkArchitecture,
  gpuFitProblem,
  parseJson,
  shardNamesFromIndex,
  type GpuFitOptions,
  type GpuLimitsForFit,
} from './model-files';
import { DEFAULT_HUB_URL, cancelled, checkRepoId, getSmallFile, headFile, hubFetch, parseContentRange, sleep, statusError, type HubTarget } from './http';
import { GGUF_BASE_FILE, memoryModelFiles, openGgufModelFiles } from '../engine/model/model-files';
import { modelConfigJson } from '../engine/model/config';
import { fetchTokenizerFiles, ggufRefusal, remoteSource } from './gguf-repo';
import { MANIFEST_FILE, PENDING_FILE, hubCacheKey, hubGgufCacheKey, type CachedGguf, listCachedModels, readPending, writeJson, type CacheManifest, type CachedFile, type CachedModel, type PendingDownload } from './cache';
import { SpeedMeter, throttle, type DownloadProgress } from './progress';
import { writeWhole, type ModelStore } from './store';

export interface DownloadOptions {
  /** "owner/name". */
  repo: string;
  /** Branch, tag or commit; default "main". */
  revision?: string;
  /** Hub origin; default https://huggingface.co (tests point it at a mock). */
  baseUrl?: string;
  /** Hugging Face access token for gated or private models. */
  token?: string;
  store: ModelStore;
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgress) => void;
  /** Consecutive failed attempts per file (without progress) before giving up; default 4. */
  retries?: number;
  /** First retry delay in ms (doubles each time); default 500. */
  retryDelayMs?: number;
  /** Refuse models that cannot fit these GPU limits, before downloading weights. */
  gpuLimits?: GpuLimitsForFit;
  gpuFit?: GpuFitOptions;
  /** Keep the bytes of a download broken by the network so the next attempt resumes; default true. */
  keepPartialOnNetworkError?: boolean;
  /** Headroom left free in storage beyond the model's bytes; default 32 MiB. */
  storageMarginBytes?: number;
  fetch?: typeof fetch;
  /** Minimum ms between progress callbacks (the final one always comes); default 100. */
  progressIntervalMs?: number;
  /**
   * A GGUF repository: download this one .gguf (stored as model.gguf, with a config.json built
   * from its header) and the tokenizer files of the original model, `tokenizerRepo`.
   */
  gguf?: HubGgufChoice;
}

export interface HubGgufChoice {
  /** The .gguf file's path in the repository. */
  file: string;
  /** "owner/name" of the original model, whose tokenizer.json / tokenizer_config.json / generation_config.json are taken. */
  tokenizerRepo: string;
}

export interface DownloadResult {
  model: CachedModel;
  /** Whether the model was already cached (no network used). */
  alreadyCached: boolean;
  /** Whether the browser granted persistent storage (null when not asked: already cached). */
  persisted: boolean | null;
  bytesDownloaded: number;
  bytesResumed: number;
}

interface PlannedFile extends CachedFile {
  /** Small text files are fetched into memory during the checks and written afterwards. */
  bytes?: Uint8Array;
  /** Its path in the repository when stored under another name (a GGUF repo's file, kept as model.gguf). */
  remote?: string;
}

export async function downloadModel(opts: DownloadOptions): Promise<DownloadResult> {
  const revision = opts.revision ?? 'main';
  checkRepoId(opts.repo);
  const t: HubTarget = {
    baseUrl: opts.baseUrl ?? DEFAULT_HUB_URL,
    repo: opts.repo,
    revision,
    token: opts.token || undefined,
    fetch: opts.fetch ?? globalThis.fetch.bind(globalThis),
    signal: opts.signal,
  };
  const store = opts.store;
  if (opts.gguf) checkRepoId(opts.gguf.tokenizerRepo);
  const key = opts.gguf ? hubGgufCacheKey(opts.repo, revision, opts.gguf.file) : hubCacheKey(opts.repo, revision);

  const cachedNow = (await listCachedModels(store)).find((m) => m.key === key);
  if (cachedNow) {
    opts.onProgress?.({ repo: opts.repo, phase: 'done', file: null, bytesDone: cachedNow.bytes, bytesTotal: cachedNow.bytes, bytesResumed: 0, bytesPerSecond: 0, etaSeconds: 0 });
    return { model: cachedNow, alreadyCached: true, persisted: null, bytesDownloaded: 0, bytesResumed: 0 };
  }

  const report = throttle<DownloadProgress>((p) => opts.onProgress?.(p), opts.progressIntervalMs ?? 100);
  const meter = new SpeedMeter();
  const progress: DownloadProgress = { repo: opts.repo, phase: 'metadata', file: CONFIG_FILE, bytesDone: 0, bytesTotal: 0, bytesResumed: 0, bytesPerSecond: 0, etaSeconds: null };
  const emit = (force = false) => {
    progress.bytesPerSecond = meter.bytesPerSecond();
    progress.etaSeconds = progress.bytesTotal ? meter.eta(progress.bytesTotal - progress.bytesDone) : null;
    report({ ...progress }, force);
  };
  emit(true);

  // ---- checks: nothing is written until they all pass ----
  let plan: PlannedFile[];
  let gguf: CachedGguf | undefined;
  try {
    if (opts.gguf) ({ plan, gguf } = await planGgufDownload(t, opts.gguf, opts));
    else plan = await planDownload(t, opts);
  } catch (e) {
    const err = toHubError(e, opts);
    // A cancel drops whatever an earlier attempt left; other refusals leave the cache as it was.
    if (err.code === 'cancelled') await store.deleteKey(key).catch(() => undefined);
    throw err;
  }
  const totalBytes = plan.reduce((n, f) => n + f.size, 0);
  progress.bytesTotal = totalBytes;

  const pending = await readPending(store, key);
  const present = new Map<string, number>();
  for (const f of plan) {
    if (f.bytes) continue;
    const was = pending?.files.find((p) => p.name === f.name);
    const have = await store.fileSize(key, f.name);
    // Resume only bytes of the same file version (same etag and size as before).
    if (have !== null && was && was.size === f.size && (was.etag ?? null) === (f.etag ?? null) && have <= f.size) present.set(f.name, have);
  }
  const resumable = [...present.values()].reduce((n, v) => n + v, 0);
  await checkQuota(store, opts, totalBytes - resumable);

  const persisted = await store.persist().catch(() => false);

  // ---- download ----
  let wroteSomething = false;
  let bytesDownloaded = 0;
  progress.bytesResumed = resumable;
  progress.bytesDone = resumable;
  progress.phase = 'downloading';
  // Every phase change is reported, however fast (throttling applies within a phase).
  emit(true);
  try {
    for (const old of await store.files(key)) {
      if (old.name !== PENDING_FILE && !plan.some((f) => f.name === old.name && present.has(f.name))) await store.deleteFile(key, old.name);
    }
    const pendingRecord: PendingDownload = { version: 1, id: opts.repo, revision, baseUrl: t.baseUrl, files: plan.map(({ name, size, etag }) => ({ name, size, etag: etag ?? null })) };
    await writeJson(store, key, PENDING_FILE, pendingRecord);
    wroteSomething = true;

    for (const f of plan) {
      progress.file = f.name;
      if (f.bytes) {
        await writeWhole(store, key, f.name, f.bytes);
        progress.bytesDone += f.size;
        emit();
        continue;
      }
      await downloadLargeFile(t, store, key, f, present.get(f.name) ?? 0, opts, (n) => {
        bytesDownloaded += n;
        progress.bytesDone += n;
        meter.add(n);
        emit();
      });
    }

    progress.phase = 'verifying';
    progress.file = null;
    emit(true);
    for (const f of plan) {
      const size = await store.fileSize(key, f.name);
      if (size !== f.size) throw new HubError('size-mismatch', `${opts.repo}: ${f.name} has ${size ?? 0} bytes after the download, expected ${f.size}. Nothing was kept; try again.`);
    }
    const modelType = checkArchitecture(parseJson(new TextDecoder().decode(plan.find((f) => f.name === CONFIG_FILE)!.bytes!), CONFIG_FILE), opts.repo).modelType;
    const manifest: CacheManifest = {
      version: 1,
      id: opts.repo,
      source: 'hub',
      revision,
      baseUrl: t.baseUrl,
      modelType,
      files: plan.map(({ name, size, etag }) => ({ name, size, etag: etag ?? null })),
      bytes: totalBytes,
      ...(gguf ? { gguf } : {}),
      completedAt: new Date().toISOString(),
    };
    await writeJson(store, key, MANIFEST_FILE, manifest);
    await store.deleteFile(key, PENDING_FILE);
  } catch (e) {
    const err = toHubError(e, opts);
    const keep = err.code === 'network' && opts.keepPartialOnNetworkError !== false && (bytesDownloaded > 0 || resumable > 0);
    if (!keep) await store.deleteKey(key).catch(() => undefined);
    else if (wroteSomething) err.message += ` ${formatBytes(progress.bytesDone)} of ${formatBytes(totalBytes)} are kept: download again to resume.`;
    throw keep ? new HubError(err.code, err.message, true) : new HubError(err.code, err.message, false);
  }

  progress.phase = 'done';
  progress.file = null;
  progress.bytesDone = totalBytes;
  emit(true);
  const model = (await listCachedModels(store)).find((m) => m.key === key);
  if (!model) throw new HubError('size-mismatch', `${opts.repo} was downloaded but could not be read back from storage.`);
  return { model, alreadyCached: false, persisted, bytesDownloaded, bytesResumed: resumable };
}

function toHubError(e: unknown, opts: DownloadOptions): HubError {
  if (opts.signal?.aborted || isAbortError(e)) return cancelled();
  if (e instanceof HubError) return e;
  if ((e as { name?: string })?.name === 'QuotaExceededError') {
    return new HubError('quota', `The browser ran out of storage while saving ${opts.repo}. Nothing was kept. Delete cached models you no longer need, or free disk space, and try again.`);
  }
  return new HubError('server', `${opts.repo}: ${(e as Error)?.message ?? String(e)}`);
}

/** Fetches the small files, checks access and architecture, and sizes every weight file. */
async function planDownload(t: HubTarget, opts: DownloadOptions): Promise<PlannedFile[]> {
  const configBytes = (await getSmallFile(t, CONFIG_FILE))!;
  const config = parseJson(new TextDecoder().decode(configBytes), `${t.repo}: ${CONFIG_FILE}`) as Record<string, unknown>;
  checkArchitecture(config, t.repo);
  if (opts.gpuLimits) {
    const problem = gpuFitProblem(config, opts.gpuLimits, opts.gpuFit);
    if (problem) throw new HubError('gpu-limits', `${t.repo} does not fit this GPU. ${problem} Nothing was downloaded.`);
  }
  const plan: PlannedFile[] = [{ name: CONFIG_FILE, size: configBytes.byteLength, bytes: configBytes }];
  for (const name of [...REQUIRED_TEXT_FILES.filter((f) => f !== CONFIG_FILE), ...OPTIONAL_TEXT_FILES]) {
    const optional = (OPTIONAL_TEXT_FILES as readonly string[]).includes(name);
    const bytes = await getSmallFile(t, name, optional);
    if (!bytes) continue;
    parseJson(new TextDecoder().decode(bytes), `${t.repo}: ${name}`);
    plan.push({ name, size: bytes.byteLength, bytes });
  }

  const single = await headFile(t, SINGLE_WEIGHTS_FILE, true);
  if (single) {
    plan.push({ name: SINGLE_WEIGHTS_FILE, size: requireSize(t, SINGLE_WEIGHTS_FILE, single.size), etag: single.etag });
    return plan;
  }
  const indexBytes = await getSmallFile(t, WEIGHTS_INDEX_FILE, true);
  if (!indexBytes) {
    throw new HubError('missing-files', `${t.repo} has no safetensors weights (${SINGLE_WEIGHTS_FILE} or ${WEIGHTS_INDEX_FILE}); the studio reads only safetensors, not PyTorch .bin files.`);
  }
  const index = parseJson(new TextDecoder().decode(indexBytes), `${t.repo}: ${WEIGHTS_INDEX_FILE}`);
  plan.push({ name: WEIGHTS_INDEX_FILE, size: indexBytes.byteLength, bytes: indexBytes });
  let shardBytes = 0;
  for (const shard of shardNamesFromIndex(index, t.repo)) {
    const info = await headFile(t, shard);
    const size = requireSize(t, shard, info!.size);
    shardBytes += size;
    plan.push({ name: shard, size, etag: info!.etag });
  }
  // The index's total_size counts tensor bytes only (no headers): shards must hold at least that.
  const totalSize = (index as { metadata?: { total_size?: unknown } }).metadata?.total_size;
  if (typeof totalSize === 'number' && totalSize > shardBytes) {
    throw new HubError('size-mismatch', `${t.repo}: the weights index announces ${formatBytes(totalSize)} of tensors but its shards hold only ${formatBytes(shardBytes)}. The repository looks broken; nothing was downloaded.`);
  }
  return plan;
}

/**
 * A GGUF repository's file: its header read with Range requests and checked (architecture, tensor
 * types, the original model's vocabulary against the GGUF's tokens, GPU limits) before anything
 * large is fetched; then the plan of a local GGUF import: model.gguf, config.json from the header,
 * the tokenizer files.
 */
async function planGgufDownload(t: HubTarget, choice: HubGgufChoice, opts: DownloadOptions): Promise<{ plan: PlannedFile[]; gguf: CachedGguf }> {
  if (!/\.gguf$/i.test(choice.file) || choice.file.split('/').some((p) => p === '..' || p === '')) throw new HubError('invalid', `${t.repo}: "${choice.file}" is not a .gguf file of the repository.`);
  const info = await headFile(t, choice.file);
  const size = requireSize(t, choice.file, info!.size);
  const text = await fetchTokenizerFiles({ ...t, repo: choice.tokenizerRepo, revision: 'main' });
  const opened = await openGgufModelFiles(remoteSource(t, choice.file, size), memoryModelFiles(choice.tokenizerRepo, text)).catch((e: unknown) => {
    throw ggufRefusal(t, e, ' Nothing was downloaded.');
  });
  const configJson = modelConfigJson(opened.config);
  if (opts.gpuLimits) {
    const problem = gpuFitProblem(configJson, opts.gpuLimits, opts.gpuFit);
    if (problem) throw new HubError('gpu-limits', `${t.repo} does not fit this GPU. ${problem} Nothing was downloaded.`);
  }
  const configBytes = new TextEncoder().encode(JSON.stringify(configJson, null, 2));
  const plan: PlannedFile[] = [{ name: CONFIG_FILE, size: configBytes.byteLength, bytes: configBytes }];
  for (const [name, bytes] of Object.entries(text)) plan.push({ name, size: bytes.byteLength, bytes });
  plan.push({ name: GGUF_BASE_FILE, size, etag: info!.etag, remote: choice.file });
  return { plan, gguf: { file: choice.file, weightTypes: opened.gguf!.weightTypes, tokenizerRepo: choice.tokenizerRepo } };
}

function requireSize(t: HubTarget, file: string, size: number | null): number {
  if (size === null) throw new HubError('server', `${t.baseUrl} did not say how large ${t.repo}/${file} is, so it cannot be verified. Try again later.`);
  return size;
}

async function checkQuota(store: ModelStore, opts: DownloadOptions, needed: number): Promise<void> {
  const est = await store.estimate();
  if (!est) return;
  const margin = opts.storageMarginBytes ?? 32 * 1024 * 1024;
  const available = Math.max(0, est.quota - est.usage);
  if (needed + margin > available) {
    throw new HubError(
      'quota',
      est.where
        ? `${opts.repo} needs ${formatBytes(needed)} of storage but ${est.where} has only ${formatBytes(available)} free. Delete cached models you no longer need or free disk space. Nothing was downloaded.`
        : `${opts.repo} needs ${formatBytes(needed)} of storage but the browser lets the studio use only ${formatBytes(available)} more. Delete cached models you no longer need, free disk space, or install the studio as an app (installed apps usually get more). Nothing was downloaded.`,
    );
  }
}

/** Streams one file into the store from byte `have`, retrying broken connections with Range. */
async function downloadLargeFile(t: HubTarget, store: ModelStore, key: string, f: PlannedFile, have: number, opts: DownloadOptions, onBytes: (n: number) => void): Promise<void> {
  const retries = opts.retries ?? 4;
  const baseDelay = opts.retryDelayMs ?? 500;
  let failures = 0;
  let lastError: HubError | null = null;
  while (have < f.size || (f.size === 0 && (await store.fileSize(key, f.name)) === null)) {
    if (failures > retries) {
      throw new HubError('network', `The connection to ${new URL(t.baseUrl).host} kept breaking while downloading ${f.name}${lastError ? ` (${lastError.message})` : ''}.`, true);
    }
    if (failures > 0) await sleep(baseDelay * 2 ** (failures - 1), t.signal);
    const before = have;
    let res: Response;
    try {
      res = await hubFetch(t, f.remote ?? f.name, { headers: have > 0 ? { Range: `bytes=${have}-` } : {} });
    } catch (e) {
      if (isHubError(e, 'network')) {
        lastError = e;
        failures++;
        continue;
      }
      throw e;
    }
    if (!res.ok) {
      await res.body?.cancel();
      const err = statusError(t, res, f.name);
      if (err.resumable || res.status === 416) {
        // 416: our offset no longer makes sense for the remote file; start it over.
        if (res.status === 416) have = 0;
        lastError = err;
        failures++;
        continue;
      }
      throw err;
    }
    let offset = 0;
    if (res.status === 206) {
      // Content-Range is invisible when a CDN does not expose it to CORS: then the length
      // check below and the final size check stand in for it.
      const range = parseContentRange(res.headers.get('content-range'));
      if (range && range.start !== have) {
        await res.body?.cancel();
        throw new HubError('size-mismatch', `${f.name}: the server sent bytes from ${range.start} when ${have} were asked for.`);
      }
      if (range && range.total !== null && range.total !== f.size) {
        await res.body?.cancel();
        throw new HubError('size-mismatch', `${f.name} is ${formatBytes(range.total)} on the server, but ${formatBytes(f.size)} was announced. The file changed during the download; try again.`);
      }
      offset = have;
    } else {
      // 200: the whole file (the server ignored Range, or we asked from 0).
      if (have > 0) onBytes(-have);
      have = 0;
    }
    const len = res.headers.get('content-length');
    if (len !== null && /^\d+$/.test(len) && Number(len) !== f.size - offset) {
      await res.body?.cancel();
      throw new HubError('size-mismatch', `${f.name}: the server is sending ${formatBytes(Number(len) + offset)} but announced ${formatBytes(f.size)}. Nothing was kept; try again.`);
    }
    const writer = await store.openWriter(key, f.name, offset);
    try {
      const reader = res.body!.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (have + value.byteLength > f.size) {
          await reader.cancel();
          throw new HubError('size-mismatch', `${f.name}: the server sent more than the announced ${formatBytes(f.size)}.`);
        }
        await writer.write(value);
        have += value.byteLength;
        onBytes(value.byteLength);
      }
      await writer.close();
    } catch (e) {
      if (t.signal?.aborted || isAbortError(e)) {
        await writer.abort().catch(() => undefined);
        throw cancelled();
      }
      // Keep what arrived: the next attempt asks for the rest.
      await writer.close().catch(() => undefined);
      if (e instanceof HubError || (e as { name?: string })?.name === 'QuotaExceededError') throw e;
      lastError = new HubError('network', (e as Error)?.message ?? String(e), true);
    }
    if (have < f.size) {
      failures = have > before ? 1 : failures + 1;
    }
    if (f.size === 0) break;
  }
}
