// GGUF repositories on the Hub ("unsloth/Qwen3-0.6B-GGUF"): which files they hold (the Hub's
// tree API, with sizes), each file's quant type read from its name, the original model named in
// the model card (base_model), the default pick (the storage the one 'auto' rule chose), and the
// picked file's header read with Range requests, so an unsupported architecture or tensor type is
// refused before the weights are downloaded.
import type { ByteSource } from '../engine/model/safetensors';
import { HubError } from './errors';
import { checkRepoId, getSmallFile, headFile, hubFetch, isRepoId, statusError, type HubTarget } from './http';
import { openGgufModel } from '../engine/model/gguf-model';
import { GGML_TYPE_STORAGE, WEIGHT_STORAGES, type WeightStorage } from '../engine/model/weight-storage';
import { modelConfigJson } from '../engine/model/config';
import { ggufBaseInfo } from '../engine/model/model-files';
import { CONFIG_FILE, GENERATION_CONFIG_FILE, SINGLE_WEIGHTS_FILE, TOKENIZER_CONFIG_FILE, TOKENIZER_FILE, WEIGHTS_INDEX_FILE, parseJson } from './model-files';


export interface HubGgufFile {
  /** Path in the repository (may be in a folder). */
  name: string;
  size: number;
  /** Quant type from the file name (Q4_K_M, Q8_0, F16 …), or null where the name does not say. */
  quant: string | null;
  /** The weight storage this quant amounts to (f16 for F16/BF16, q8 for Q8_0/Q6_K, q4 for Q4_*), null where the engine does not read it. */
  storage: WeightStorage | null;
}

export type HubRepoKind = { kind: 'model' } | { kind: 'gguf'; files: HubGgufFile[]; baseModel: string | null };

/** File quant tags of the GGUF tensor types the engine reads (a K-quant mix _M/_S is its main type), most precise first. */
const READ_QUANTS: readonly string[] = ['F32', 'BF16', 'F16', 'Q8_0', 'Q6_K', 'Q4_K_M', 'Q4_K_S', 'Q4_K', 'Q4_0'];

/** "Qwen3-0.6B-Q4_K_M.gguf" → "Q4_K_M"; "model.IQ2_XXS.gguf" → "IQ2_XXS"; null when the name has no quant tag. */
export function quantOfFileName(name: string): string | null {
  const base = name.split('/').pop()!.replace(/\.gguf$/i, '');
  const m = /(?:^|[-_.])((?:I?Q\d(?:_[A-Z0-9]+)*)|BF16|F16|F32)$/i.exec(base) ?? /(?:^|[-_.])((?:I?Q\d(?:_[A-Z0-9]+)*)|BF16|F16|F32)(?=[-_.])/i.exec(base);
  return m ? m[1].toUpperCase() : null;
}

function storageOfQuant(quant: string | null): WeightStorage | null {
  if (quant === null || !READ_QUANTS.includes(quant)) return null;
  return GGML_TYPE_STORAGE[quant.replace(/_[MS]$/, '') as keyof typeof GGML_TYPE_STORAGE];
}

const precision = (f: HubGgufFile) => {
  const i = f.quant === null ? -1 : READ_QUANTS.indexOf(f.quant);
  return i < 0 ? READ_QUANTS.length : i;
};

/** The original model a card names: `base_model` in README.md's YAML front matter (a string or the first of a list). */
export function parseBaseModel(readme: string): string | null {
  const fm = /^\uFEFF?---\r?\n([\s\S]*?)\r?\n---\s*(?:\r?\n|$)/.exec(readme);
  if (!fm) return null;
  const lines = fm[1].split(/\r?\n/);
  const idOf = (v: string) => {
    const id = v.trim().replace(/^['"]|['"]$/g, '');
    return isRepoId(id) ? id : null;
  };
  for (let i = 0; i < lines.length; i++) {
    const m = /^base_model:\s*(.*)$/.exec(lines[i]);
    if (!m) continue;
    const inline = m[1].trim();
    if (inline.startsWith('[')) return idOf(inline.slice(1).split(/[,\]]/)[0]);
    if (inline) return idOf(inline);
    const item = /^\s*-\s*(.+)$/.exec(lines[i + 1] ?? '');
    return item ? idOf(item[1]) : null;
  }
  return null;
}

/**
 * The file the studio picks by default: one of the storage the 'auto' rule chose for this model
 * (chooseWeightStorage via the memory estimate), the most precise such; where the repo has none,
 * the most precise smaller one; else the smallest the engine reads. Null when it reads none.
 */
export function defaultGgufFile(files: readonly HubGgufFile[], storage: WeightStorage): HubGgufFile | null {
  const readable = files.filter((f) => f.storage !== null).sort((a, b) => precision(a) - precision(b) || a.size - b.size);
  const rank = (s: WeightStorage) => WEIGHT_STORAGES.indexOf(s);
  return readable.find((f) => f.storage === storage) ?? readable.find((f) => rank(f.storage!) > rank(storage)) ?? readable.at(-1) ?? null;
}

interface TreeEntry {
  type?: string;
  path?: string;
  size?: number;
  lfs?: { size?: number };
}

/** Every file of the repository at its revision, with sizes (the Hub's tree API, recursive, all pages). */
export async function listRepoFiles(t: HubTarget): Promise<{ name: string; size: number }[]> {
  let url: string | null = `${t.baseUrl.replace(/\/+$/, '')}/api/models/${t.repo}/tree/${encodeURIComponent(t.revision)}?recursive=true`;
  const out: { name: string; size: number }[] = [];
  while (url) {
    const res = await hubFetch(t, '', { url });
    if (!res.ok) {
      await res.body?.cancel();
      // The tree API answers 404 for a missing repo as config.json would.
      throw statusError(t, res, CONFIG_FILE);
    }
    const entries = (await res.json()) as TreeEntry[];
    if (!Array.isArray(entries)) throw new HubError('server', `${t.repo}: the Hub's file listing is not a list.`);
    for (const e of entries) if (e.type === 'file' && typeof e.path === 'string') out.push({ name: e.path, size: e.lfs?.size ?? e.size ?? 0 });
    // Large repos are paged: Link: <next>; rel="next".
    const next = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get('link') ?? '');
    url = next ? next[1] : null;
  }
  return out;
}

/**
 * What a Hub id holds: a Hugging Face model (config.json with safetensors) or a GGUF repository
 * (.gguf files, no safetensors model) with its files and the original model its card names.
 */
export async function inspectHubRepo(t: HubTarget): Promise<HubRepoKind> {
  checkRepoId(t.repo);
  const files = await listRepoFiles(t);
  const has = (n: string) => files.some((f) => f.name === n);
  if (has(CONFIG_FILE) && (has(SINGLE_WEIGHTS_FILE) || has(WEIGHTS_INDEX_FILE))) return { kind: 'model' };
  // Vision projectors (mmproj) are not language models.
  const ggufs = files.filter((f) => /\.gguf$/i.test(f.name) && !/mmproj/i.test(f.name));
  if (!ggufs.length) return { kind: 'model' }; // the download names what is missing
  const listed = ggufs.map((f): HubGgufFile => {
    const quant = quantOfFileName(f.name);
    return { name: f.name, size: f.size, quant, storage: storageOfQuant(quant) };
  });
  listed.sort((a, b) => precision(a) - precision(b) || a.name.localeCompare(b.name));
  let baseModel: string | null = null;
  if (has('README.md')) {
    const res = await hubFetch(t, 'README.md');
    if (res.ok) baseModel = parseBaseModel(await res.text());
    else await res.body?.cancel();
  }
  return { kind: 'gguf', files: listed, baseModel: baseModel === t.repo ? null : baseModel };
}

/**
 * A remote file read with Range requests (the GGUF reader asks for its header, growing from 1 MiB).
 * A server that ignores Range sends the whole file: only the bytes asked for are read from it.
 */
export function remoteSource(t: HubTarget, file: string, size: number): ByteSource {
  return {
    name: file,
    size,
    async read(offset, length) {
      if (length === 0) return new Uint8Array(0);
      const res = await hubFetch(t, file, { headers: { Range: `bytes=${offset}-${offset + length - 1}` } });
      if (!res.ok) {
        await res.body?.cancel();
        throw statusError(t, res, file);
      }
      const skip = res.status === 206 ? 0 : offset;
      const out = new Uint8Array(length);
      let pos = -skip;
      const reader = res.body!.getReader();
      try {
        while (pos < length) {
          const { done, value } = await reader.read();
          if (done) break;
          const from = Math.max(0, -pos);
          const to = Math.min(value.byteLength, length - pos);
          if (to > from) out.set(value.subarray(from, to), pos + from);
          pos += value.byteLength;
        }
      } finally {
        await reader.cancel().catch(() => undefined);
      }
      if (pos < length) throw new HubError('network', `The connection broke while reading ${t.repo}/${file}. Try again.`, true);
      return out;
    },
  };
}

/** What the Model screen needs of one GGUF file before downloading it: its config and tensor types, from its header. */
export interface HubGgufHeader {
  /** config.json as a local GGUF import builds it. */
  config: Record<string, unknown>;
  /** HF tensor name → ggml type (the memory plan keeps quantized ones as their blocks). */
  types: Record<string, string>;
  /** Its 2-D weights' types, e.g. "Q4_K, Q6_K". */
  weightTypes: string;
  bytes: number;
}

/** Reads a GGUF repo file's header with Range requests; refuses an architecture or tensor type the engine does not run. */
export async function readHubGgufHeader(t: HubTarget, file: string): Promise<HubGgufHeader> {
  const info = await headFile(t, file);
  if (info?.size == null) throw new HubError('server', `${t.baseUrl} did not say how large ${t.repo}/${file} is.`);
  const opened = await openGgufModel(remoteSource(t, file, info.size)).catch((e: unknown) => {
    throw ggufRefusal(t, e);
  });
  const w = opened.weights;
  return {
    config: modelConfigJson(opened.config),
    types: Object.fromEntries(w.names().map((n) => [n, w.info(n).type])),
    weightTypes: ggufBaseInfo(opened.gguf, file, info.size).weightTypes,
    bytes: info.size,
  };
}

/** A GGUF reader's refusal (architecture, tensor type, vocabulary) as the HubError the Model screen shows; network errors pass through. */
export function ggufRefusal(t: HubTarget, e: unknown, suffix = ''): Error {
  if (e instanceof HubError) return e;
  const msg = (e as Error).message;
  return new HubError(/general\.architecture/.test(msg) ? 'unsupported-architecture' : 'invalid', `${t.repo}: ${msg}${suffix}`);
}

/** A chat template some repos ship beside tokenizer_config.json (merged exports copy it). */
const CHAT_TEMPLATE_FILE = 'chat_template.jinja';

/**
 * The files a GGUF base takes from its original model's repository (`t.repo`): tokenizer.json and
 * tokenizer_config.json (required), generation_config.json and chat_template.jinja where present.
 * JSON files are checked to parse; nothing else of the repository is fetched. The studio's GGUF
 * download and the CLI's `--tokenizer owner/name` both read them here.
 */
export async function fetchTokenizerFiles(t: HubTarget): Promise<Record<string, Uint8Array>> {
  checkRepoId(t.repo);
  const out: Record<string, Uint8Array> = {};
  for (const name of [TOKENIZER_FILE, TOKENIZER_CONFIG_FILE, GENERATION_CONFIG_FILE, CHAT_TEMPLATE_FILE]) {
    const bytes = await getSmallFile(t, name, name === GENERATION_CONFIG_FILE || name === CHAT_TEMPLATE_FILE);
    if (!bytes) continue;
    if (name.endsWith('.json')) parseJson(new TextDecoder().decode(bytes), `${t.repo}: ${name}`);
    out[name] = bytes;
  }
  return out;
}
