// A mock Hugging Face Hub on 127.0.0.1 for download tests (unit and e2e). It serves
//   GET|HEAD /<owner>/<name>/resolve/<revision>/<file>
// and the file listing GET /api/models/<owner>/<name>/tree/<revision>,
// with Range support (206 + Content-Range, 416), ETag / X-Linked-Size like the Hub, CORS
// (so a page can fetch from it), 404 with the Hub's X-Error-Code, gated repos (401 without a
// token, 403 with a wrong one), and fault injection: cut a response after N bytes, ignore
// Range, slow streaming, lie about a size. Every request is logged.
//
//   const hub = await startMockHub({ repos: { 'acme/tiny': { files: { 'config.json': '{...}' } } } });
//   ... fetch(`${hub.url}/acme/tiny/resolve/main/config.json`) ...
//   await hub.close();
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { serializeSafetensors, type TensorToWrite } from '../src/engine/model/safetensors';
import { tinyTokenizerFiles } from './fixtures/tiny-tokenizer';

export interface MockRepo {
  files: Record<string, Uint8Array | string>;
  /** Revisions served (default ['main']). */
  revisions?: string[];
  /** Gated/private: requests need `Authorization: Bearer <token>`. */
  token?: string;
}

export interface MockFaults {
  /** Close the connection after sending this many body bytes of a file's GET, `times` times. */
  cut?: { file: string; afterBytes: number; times: number }[];
  /** Answer 200 with the whole file even when Range is asked. */
  ignoreRange?: boolean;
  /** HEAD/X-Linked-Size reports this size for the file instead of the real one. */
  announceSize?: Record<string, number>;
  /** Send bodies in chunks of this size with a pause between them (ms). */
  slow?: { chunkBytes: number; delayMs: number };
  /**
   * Send no Content-Range, ETag or X-Linked-Size: what a page sees from a CDN that does not
   * expose them to CORS (Node's fetch would otherwise see every header).
   */
  omitRangeHeaders?: boolean;
  /** Refuse connections entirely (the server answers by destroying the socket). */
  down?: boolean;
}

export interface LoggedRequest {
  method: string;
  path: string;
  range: string | null;
  authorization: string | null;
  status: number;
}

export interface MockHub {
  url: string;
  repos: Record<string, MockRepo>;
  faults: MockFaults;
  requests: LoggedRequest[];
  close(): Promise<void>;
}

const CORS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Headers': 'Range, Authorization, Content-Type',
  'Access-Control-Allow-Methods': 'GET, HEAD, OPTIONS',
  'Access-Control-Expose-Headers': 'Content-Length, Content-Range, Accept-Ranges, ETag, X-Linked-Size, X-Linked-Etag, X-Error-Code',
};

function bytesOf(v: Uint8Array | string): Uint8Array {
  return typeof v === 'string' ? new TextEncoder().encode(v) : v;
}

export async function startMockHub(init: { repos: Record<string, MockRepo>; faults?: MockFaults; port?: number }): Promise<MockHub> {
  const hub = { repos: init.repos, faults: init.faults ?? {}, requests: [] as LoggedRequest[] };
  const server = createServer((req, res) => void handle(hub, req, res));
  await new Promise<void>((resolve) => server.listen(init.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    ...hub,
    get faults() {
      return hub.faults;
    },
    set faults(f: MockFaults) {
      hub.faults = f;
    },
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function handle(hub: { repos: Record<string, MockRepo>; faults: MockFaults; requests: LoggedRequest[] }, req: IncomingMessage, res: ServerResponse) {
  const method = req.method ?? 'GET';
  const path = decodeURIComponent((req.url ?? '/').split('?')[0]);
  const log: LoggedRequest = { method, path, range: req.headers.range ?? null, authorization: req.headers.authorization ?? null, status: 0 };
  hub.requests.push(log);
  const f = hub.faults;
  if (f.down) {
    log.status = -1;
    req.socket.destroy();
    return;
  }
  const send = (status: number, headers: Record<string, string | number> = {}, body?: string) => {
    log.status = status;
    res.writeHead(status, { ...CORS, ...headers });
    res.end(method === 'HEAD' ? undefined : body);
  };
  if (method === 'OPTIONS') return send(204);
  if (method !== 'GET' && method !== 'HEAD') return send(405);

  // The Hub's file listing: GET /api/models/<owner>/<name>/tree/<revision> (sizes; LFS files with lfs.size).
  const tree = /^\/api\/models\/([^/]+\/[^/]+)\/tree\/([^/]+)$/.exec(path);
  if (tree) {
    const r = hub.repos[tree[1]];
    if (!r) return send(404, { 'X-Error-Code': 'RepoNotFound', 'Content-Type': 'application/json' }, '{"error":"Repository not found"}');
    if (r.token !== undefined && req.headers.authorization !== `Bearer ${r.token}`) return send(401, { 'X-Error-Code': 'GatedRepo', 'Content-Type': 'application/json' }, '{"error":"restricted"}');
    if (!(r.revisions ?? ['main']).includes(tree[2])) return send(404, { 'X-Error-Code': 'RevisionNotFound', 'Content-Type': 'application/json' }, '{"error":"Invalid rev id"}');
    const entries = Object.entries(r.files).map(([p, v]) => {
      const size = bytesOf(v).byteLength;
      return { type: 'file', path: p, size, ...(p.endsWith('.gguf') || p.endsWith('.safetensors') ? { lfs: { size, pointerSize: 134 } } : {}) };
    });
    return send(200, { 'Content-Type': 'application/json' }, JSON.stringify(entries));
  }
  const m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
  const repo = m ? hub.repos[m[1]] : undefined;
  if (!m || !repo) return send(404, { 'X-Error-Code': 'RepoNotFound', 'Content-Type': 'text/plain' }, 'Repository not found');
  const [, , revision, file] = m;
  if (repo.token !== undefined) {
    const auth = req.headers.authorization;
    if (!auth) return send(401, { 'X-Error-Code': 'GatedRepo', 'Content-Type': 'text/plain' }, 'Access to this model is restricted. You must be authenticated.');
    if (auth !== `Bearer ${repo.token}`) return send(403, { 'X-Error-Code': 'GatedRepo', 'Content-Type': 'text/plain' }, 'Access to this model is restricted.');
  }
  if (!(repo.revisions ?? ['main']).includes(revision)) return send(404, { 'X-Error-Code': 'RevisionNotFound', 'Content-Type': 'text/plain' }, 'Invalid rev id');
  const content = repo.files[file];
  if (content === undefined) return send(404, { 'X-Error-Code': 'EntryNotFound', 'Content-Type': 'text/plain' }, 'Entry not found');

  const body = bytesOf(content);
  const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`;
  const announced = f.announceSize?.[file] ?? body.byteLength;
  const common: Record<string, string | number> = f.omitRangeHeaders
    ? { 'Accept-Ranges': 'bytes', 'Content-Type': 'application/octet-stream' }
    : { ETag: etag, 'Accept-Ranges': 'bytes', 'X-Linked-Size': announced, 'Content-Type': 'application/octet-stream' };
  if (method === 'HEAD') return send(200, { ...common, 'Content-Length': announced });

  let start = 0;
  let end = body.byteLength - 1;
  let status = 200;
  const range = req.headers.range;
  if (range && !f.ignoreRange) {
    const r = /^bytes=(\d+)-(\d*)$/.exec(range);
    if (!r || Number(r[1]) >= body.byteLength) return send(416, { 'Content-Range': `bytes */${body.byteLength}` });
    start = Number(r[1]);
    if (r[2]) end = Math.min(end, Number(r[2]));
    status = 206;
  }
  const slice = body.subarray(start, end + 1);
  log.status = status;
  res.writeHead(status, {
    ...CORS,
    ...common,
    'Content-Length': slice.byteLength,
    ...(status === 206 && !f.omitRangeHeaders ? { 'Content-Range': `bytes ${start}-${end}/${body.byteLength}` } : {}),
  });

  const cut = f.cut?.find((c) => c.file === file && c.times > 0);
  const limit = cut ? Math.min(cut.afterBytes, slice.byteLength) : slice.byteLength;
  if (cut) cut.times--;
  const chunk = f.slow?.chunkBytes ?? 64 * 1024;
  for (let o = 0; o < limit; o += chunk) {
    if (res.destroyed) return;
    const part = slice.subarray(o, Math.min(limit, o + chunk));
    await new Promise<void>((resolve) => res.write(part, () => resolve()));
    if (f.slow) await new Promise((r) => setTimeout(r, f.slow!.delayMs));
  }
  if (cut) {
    // Mid-body disconnect: the client sees a connection reset before Content-Length bytes.
    res.socket?.destroy();
    return;
  }
  res.end();
}

// ---- a tiny model in the Hub's layout, to serve from the mock ----


export interface TinyRepoOptions {
  modelType?: string;
  /** Split the weights into this many shards with a model.safetensors.index.json. */
  shards?: number;
  /** Hidden size; the weights grow with it (default 64, about 0.2 MB of F32). */
  hidden?: number;
  withGenerationConfig?: boolean;
  seed?: number;
}

/** config.json, tokenizer files and random F32 safetensors weights of a tiny 2-layer Llama. */
export function tinyModelRepo(opts: TinyRepoOptions = {}): Record<string, Uint8Array | string> {
  const tok = tinyTokenizerFiles();
  const C = opts.hidden ?? 64;
  const V = Math.max(tok.vocabSize, 320);
  const F = 2 * C;
  const L = 2;
  const H = 4;
  const KVH = 2;
  const D = C / H;
  const config = {
    architectures: ['LlamaForCausalLM'],
    model_type: opts.modelType ?? 'llama',
    hidden_size: C,
    intermediate_size: F,
    num_hidden_layers: L,
    num_attention_heads: H,
    num_key_value_heads: KVH,
    head_dim: D,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    tie_word_embeddings: true,
    vocab_size: V,
    max_position_embeddings: 256,
    torch_dtype: 'float32',
  };
  let state = opts.seed ?? 1;
  const rand = (n: number) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      a[i] = (state / 2 ** 32 - 0.5) * 0.1;
    }
    return a;
  };
  const tensors: TensorToWrite[] = [{ name: 'model.embed_tokens.weight', dtype: 'F32', shape: [V, C], data: rand(V * C) }];
  for (let i = 0; i < L; i++) {
    const p = `model.layers.${i}.`;
    tensors.push(
      { name: `${p}input_layernorm.weight`, dtype: 'F32', shape: [C], data: rand(C) },
      { name: `${p}self_attn.q_proj.weight`, dtype: 'F32', shape: [H * D, C], data: rand(H * D * C) },
      { name: `${p}self_attn.k_proj.weight`, dtype: 'F32', shape: [KVH * D, C], data: rand(KVH * D * C) },
      { name: `${p}self_attn.v_proj.weight`, dtype: 'F32', shape: [KVH * D, C], data: rand(KVH * D * C) },
      { name: `${p}self_attn.o_proj.weight`, dtype: 'F32', shape: [C, H * D], data: rand(C * H * D) },
      { name: `${p}post_attention_layernorm.weight`, dtype: 'F32', shape: [C], data: rand(C) },
      { name: `${p}mlp.gate_proj.weight`, dtype: 'F32', shape: [F, C], data: rand(F * C) },
      { name: `${p}mlp.up_proj.weight`, dtype: 'F32', shape: [F, C], data: rand(F * C) },
      { name: `${p}mlp.down_proj.weight`, dtype: 'F32', shape: [C, F], data: rand(C * F) },
    );
  }
  tensors.push({ name: 'model.norm.weight', dtype: 'F32', shape: [C], data: rand(C) });

  const files: Record<string, Uint8Array | string> = {
    'config.json': JSON.stringify(config, null, 2),
    'tokenizer.json': JSON.stringify(tok.tokenizerJson),
    'tokenizer_config.json': JSON.stringify(tok.tokenizerConfig),
    'README.md': '# tiny test model\n',
  };
  if (opts.withGenerationConfig !== false) files['generation_config.json'] = JSON.stringify({ eos_token_id: 2, max_new_tokens: 64 });
  const shards = opts.shards ?? 1;
  if (shards <= 1) {
    files['model.safetensors'] = serializeSafetensors(tensors);
  } else {
    const weightMap: Record<string, string> = {};
    let totalSize = 0;
    const per = Math.ceil(tensors.length / shards);
    for (let s = 0; s < shards; s++) {
      const name = `model-${String(s + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
      const part = tensors.slice(s * per, (s + 1) * per);
      for (const t of part) {
        weightMap[t.name] = name;
        totalSize += t.data.byteLength;
      }
      files[name] = serializeSafetensors(part);
    }
    files['model.safetensors.index.json'] = JSON.stringify({ metadata: { total_size: totalSize }, weight_map: weightMap });
  }
  return files;
}
