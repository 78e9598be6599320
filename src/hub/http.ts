// Talking to the Hub over HTTP: resolve URLs, auth, and turning every failure (no network,
// 401/403/404, odd statuses) into a HubError a user can act on.
import { HubError, isAbortError } from './errors';

export const DEFAULT_HUB_URL = 'https://huggingface.co';

export interface HubTarget {
  baseUrl: string;
  repo: string;
  revision: string;
  token?: string;
  fetch: typeof fetch;
  signal?: AbortSignal;
}

/** Checks "owner/name" (the Hub's repo id syntax) so nothing odd ends up in a URL. */
/** Whether `repo` is a Hugging Face model id: owner/name, no path tricks. */
export function isRepoId(repo: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/.test(repo) && !repo.includes('..');
}

export function checkRepoId(repo: string): void {
  if (!isRepoId(repo)) {
    throw new HubError('not-found', `"${repo}" is not a Hugging Face model id; it looks like owner/name, e.g. HuggingFaceTB/SmolLM2-135M-Instruct.`);
  }
}

export function resolveUrl(t: Pick<HubTarget, 'baseUrl' | 'repo' | 'revision'>, file: string): string {
  return `${t.baseUrl.replace(/\/+$/, '')}/${t.repo}/resolve/${encodeURIComponent(t.revision)}/${encodeURIComponent(file)}`;
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

export function cancelled(): HubError {
  return new HubError('cancelled', 'The download was cancelled.');
}

/** fetch that maps "could not connect" and aborts to HubErrors (statuses are the caller's). */
export async function hubFetch(t: HubTarget, file: string, init: { method?: string; headers?: Record<string, string>; url?: string } = {}): Promise<Response> {
  const headers: Record<string, string> = { ...init.headers };
  if (t.token) headers.Authorization = `Bearer ${t.token}`;
  // `url`: a Hub API address (the file listing) instead of a file's.
  const url = init.url ?? resolveUrl(t, file);
  try {
    return await t.fetch(url, { method: init.method ?? 'GET', headers, signal: t.signal, cache: 'no-store', redirect: 'follow' });
  } catch (e) {
    if (t.signal?.aborted || isAbortError(e)) throw cancelled();
    throw new HubError('network', `Could not reach ${hostOf(t.baseUrl)} (${(e as Error).message}). Check your internet connection and try again; models already downloaded keep working offline.`, true);
  }
}

/** A HubError for a non-2xx answer about `file`. */
export function statusError(t: HubTarget, res: Response, file: string): HubError {
  const code = res.headers.get('x-error-code');
  const page = `${t.baseUrl.replace(/\/+$/, '')}/${t.repo}`;
  if (code === 'RevisionNotFound') return new HubError('not-found', `${t.repo} has no revision "${t.revision}".`);
  if (code === 'RepoNotFound' || (res.status === 404 && file === 'config.json' && code !== 'EntryNotFound')) {
    return new HubError('not-found', `There is no model "${t.repo}" on ${hostOf(t.baseUrl)} (or it is private). Check the name, e.g. HuggingFaceTB/SmolLM2-135M-Instruct.`);
  }
  if (res.status === 404) return new HubError('not-found', `${t.repo} (revision ${t.revision}) has no file ${file}.`);
  if (res.status === 401 || res.status === 403 || code === 'GatedRepo') {
    const why = t.token
      ? `the access token was refused or has no access to it. Make sure you accepted the model's license at ${page} with the account the token belongs to, and that the token has "read" permission.`
      : `it is gated or private. Open ${page}, log in and accept its license, then give the studio a Hugging Face access token (huggingface.co/settings/tokens, "read" permission).`;
    return new HubError('gated', `${t.repo} cannot be downloaded: ${why}`);
  }
  if (res.status === 429) return new HubError('server', `${hostOf(t.baseUrl)} is rate-limiting downloads (HTTP 429). Wait a minute and try again.`, true);
  return new HubError('server', `${hostOf(t.baseUrl)} answered HTTP ${res.status} for ${t.repo}/${file}. Try again later.`, res.status >= 500);
}

/** GETs a small file whole; null for a 404 when the file is optional. */
export async function getSmallFile(t: HubTarget, file: string, optional = false): Promise<Uint8Array | null> {
  const res = await hubFetch(t, file);
  if (optional && res.status === 404) {
    await res.body?.cancel();
    return null;
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw statusError(t, res, file);
  }
  try {
    return new Uint8Array(await res.arrayBuffer());
  } catch (e) {
    if (t.signal?.aborted || isAbortError(e)) throw cancelled();
    throw new HubError('network', `The connection broke while downloading ${file}. Try again.`, true);
  }
}

export interface RemoteFileInfo {
  size: number | null;
  etag: string | null;
}

/** HEAD of a (large) file: its size and etag, following the Hub's redirect to its CDN. */
export async function headFile(t: HubTarget, file: string, optional = false): Promise<RemoteFileInfo | null> {
  const res = await hubFetch(t, file, { method: 'HEAD' });
  if (optional && res.status === 404) return null;
  if (!res.ok) throw statusError(t, res, file);
  const len = res.headers.get('x-linked-size') ?? res.headers.get('content-length');
  const size = len !== null && /^\d+$/.test(len) ? Number(len) : null;
  return { size, etag: res.headers.get('x-linked-etag') ?? res.headers.get('etag') };
}

/** Parses "bytes start-end/total". */
export function parseContentRange(v: string | null): { start: number; end: number; total: number | null } | null {
  const m = v ? /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(v.trim()) : null;
  if (!m) return null;
  return { start: Number(m[1]), end: Number(m[2]), total: m[3] === '*' ? null : Number(m[3]) };
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(cancelled());
    const id = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(id);
      reject(cancelled());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
