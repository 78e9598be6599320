// Text generation with a KV cache, one prompt or several decoded together. Each prompt is
// prefilled in its own pass (full causal attention over the prompt, its keys/values appended
// to its sequence's slice of the per-layer caches [maxBatch, maxT, KVH, D]); then every step
// decodes one token for each sequence still running, in one pass over n rows (the matmuls see
// n rows; attention reads each row's own cache slice up to its own position). Rows leave the
// batch at their own stop token, max length or full context while the others continue. The
// next token is chosen on the GPU (argmax, or temperature/top-k/top-p with a seeded uniform
// from the CPU); 8 bytes come back per row and step to check stop tokens. Every kernel works
// on each row alone, so a row's tokens do not depend on the others in its batch. The LoRA
// branch can be off (loraScale 0), as trained (1) or scaled.
import type { Binding, Recorder } from '../gpu/context';
import { attentionForward } from '../gpu/kernels/attention';
import { attentionDecode, decodeScratchBytes, kvCacheAppend } from '../gpu/kernels/decode';
import { embeddingForward } from '../gpu/kernels/embedding';
import { matmulForward } from '../gpu/kernels/matmul';
import { type SampleScratch, createSampleScratch, sampleArgmax, sampleTopKTopP } from '../gpu/kernels/sample';
import { Rng } from '../optim/rng';
import { LINEAR_MODULES } from './config';
import { type Attend, type LayerBuffers, type LlamaModel, type LoraRun, recordLayer, recordNorm } from './llama';
import type { LoraParams } from './lora-params';

export interface GenerateOptions {
  maxNewTokens: number;
  /** Generation stops after emitting one of these (default: the config's eos ids). */
  stopTokens?: number[];
  /** 0 (default) = greedy argmax. */
  temperature?: number;
  /** 0 = 256 (the sampler's maximum). */
  topK?: number;
  topP?: number;
  /** Seed of the sampling uniforms (one uniform per running row per step, in row order). */
  seed?: number;
  /** Multiplier of the adapter's scaling: 0 = base model, 1 = as trained. Default 1. */
  loraScale?: number;
  /** Called per generated token with its prompt's index (0 for generate); return false to stop that row. */
  onToken?: (token: number, row: number) => boolean | void;
  signal?: AbortSignal;
}

export interface GenerateResult {
  /** Generated tokens (the stop token included when one ended generation). */
  tokens: number[];
  stopReason: 'stop-token' | 'max-tokens' | 'context-full' | 'callback' | 'aborted';
}

/** Buffers for generation of up to maxBatch sequences of up to maxT tokens (prompt + generated) with one model and LoRA. */
export class Generator {
  private readonly kCache: GPUBuffer[] = [];
  private readonly vCache: GPUBuffer[] = [];
  private readonly b: Record<string, GPUBuffer> = {};
  private readonly h: GPUBuffer | null;
  private readonly sampleScratch: SampleScratch;
  private readonly all: GPUBuffer[] = [];
  /** Bytes between the rows' 8-byte sampler outputs (a storage binding offset must be aligned). */
  private readonly tokenStride: number;

  constructor(
    readonly model: LlamaModel,
    readonly lora: LoraParams | null,
    readonly maxT: number,
    readonly maxBatch = 1,
  ) {
    const { ctx, cfg } = model;
    if (!Number.isInteger(maxT) || maxT < 2) throw new Error(`Generator: maxT ${maxT} must be an integer ≥ 2`);
    if (maxT > cfg.maxPositionEmbeddings) throw new Error(`Generator: maxT ${maxT} exceeds the model's max_position_embeddings ${cfg.maxPositionEmbeddings}`);
    if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new Error(`Generator: maxBatch ${maxBatch} must be an integer ≥ 1`);
    const C = cfg.hiddenSize;
    const qd = cfg.numHeads * cfg.headDim;
    const kvd = cfg.numKvHeads * cfg.headDim;
    const F = cfg.intermediateSize;
    const V = cfg.vocabSize;
    const cacheBytes = maxBatch * maxT * kvd * 4;
    if (cacheBytes > ctx.caps.maxStorageBufferBindingSize) throw new Error(`Generator: a KV cache of ${maxBatch} × ${maxT} tokens (${cacheBytes} bytes per layer) exceeds one storage binding (${ctx.caps.maxStorageBufferBindingSize}); use a smaller batch or context`);
    const mk = (name: string, bytes: number) => {
      const buf = ctx.createBuffer(bytes, `gen.${name}`);
      this.all.push(buf);
      return buf;
    };
    for (let l = 0; l < cfg.numLayers; l++) {
      this.kCache.push(mk(`k${l}`, cacheBytes));
      this.vCache.push(mk(`v${l}`, cacheBytes));
    }
    // A prefill handles up to maxT - 1 prompt tokens in one pass; a decode step maxBatch rows.
    const rows = Math.max(maxT, maxBatch);
    this.tokenStride = Math.max(8, ctx.caps.minStorageBufferOffsetAlignment);
    for (const [n, e] of [['x', rows * C], ['xMid', rows * C], ['ln', rows * C], ['rstd', rows], ['q', rows * qd], ['k', rows * kvd], ['v', rows * kvd], ['att', rows * qd], ['proj', rows * C], ['gate', rows * F], ['up', rows * F], ['act', rows * F], ['lse', rows * cfg.numHeads], ['seg', rows], ['ids', rows], ['pos', rows], ['cacheRows', rows], ['last', C], ['lnLast', maxBatch * C], ['rstdLast', maxBatch], ['logits', maxBatch * V], ['rowLogits', V], ['tokens', (maxBatch * this.tokenStride) / 4], ['first', maxBatch * 2]] as const) {
      this.b[n] = mk(n, e * 4);
    }
    // qwen3: pre-norm q/k and the per-head norms' rstd (scratch: generation has no backward).
    if (cfg.qkNorm) for (const [n, e] of [['qPre', rows * qd], ['kPre', rows * kvd], ['rstdq', rows * cfg.numHeads], ['rstdk', rows * cfg.numKvHeads]] as const) this.b[n] = mk(n, e * 4);
    // gemma: o_proj/down_proj outputs before their output norms (one buffer serves both) and rstd.
    if (cfg.gemma) for (const [n, e] of [['subOut', rows * C], ['rstdOut', rows]] as const) this.b[n] = mk(n, e * 4);
    this.b.decodeScratch = mk('decodeScratch', decodeScratchBytes(maxBatch, maxT, cfg.numHeads, cfg.headDim));
    this.h = lora ? mk('loraH', rows * lora.layout.R * 4) : null;
    this.sampleScratch = createSampleScratch(ctx, V);
    this.all.push(this.sampleScratch.a, this.sampleScratch.b);
  }

  destroy(): void {
    for (const b of this.all) this.model.ctx.destroy(b);
  }

  /**
   * Records the forward of n tokens whose ids, positions and cache rows are written, and
   * their logits: a prefill (one sequence's prompt, n > 1 allowed; logits of its last token
   * in row 0) or a decode step (one token per row, row i at position ≤ maxPos; logits [n, V]).
   */
  private recordTokens(rec: Recorder, run: LoraRun, n: number, decode: { maxPos: number } | null): void {
    const { ctx, cfg, weights } = this.model;
    const C = cfg.hiddenSize;
    const H = cfg.numHeads;
    const KVH = cfg.numKvHeads;
    const D = cfg.headDim;
    const b = this.b;
    embeddingForward(ctx, rec, b.x, b.ids, weights.embed.buffer, n, C, cfg.vocabSize, { dtype: weights.embed.dtype, scale: cfg.gemma?.embedScale });
    // One set of buffers for every layer (the residual stream is updated in place in b.x);
    // ln/rstd serve both norms. Only the attention step differs from training.
    const loraH = Object.fromEntries(this.h ? LINEAR_MODULES.map((m) => [m, this.h!]) : []);
    const io: LayerBuffers = {
      x: b.x, out: b.x, positions: b.pos, ln1: b.ln, rstd1: b.rstd, q: b.q, k: b.k, v: b.v, att: b.att, proj: b.proj,
      xMid: b.xMid, ln2: b.ln, rstd2: b.rstd, gate: b.gate, up: b.up, act: b.act, loraH,
      qkNorm: cfg.qkNorm ? { qPre: b.qPre, kPre: b.kPre, rstdq: b.rstdq, rstdk: b.rstdk } : null,
      outNorm: cfg.gemma ? { attOut: b.subOut, rstdAttn: b.rstdOut, mlpOut: b.subOut, rstdMlp: b.rstdOut } : null,
    };
    for (let l = 0; l < cfg.numLayers; l++) {
      // The new keys/values join the cache; attention reads the cache (decode) or the prompt's own k/v (prefill).
      const attend: Attend = (rec, att, q, k, v, opts) => {
        kvCacheAppend(ctx, rec, this.kCache[l], this.vCache[l], k, v, b.cacheRows, n, this.maxBatch * this.maxT, KVH, D);
        if (decode) attentionDecode(ctx, rec, att, b.decodeScratch, q, this.kCache[l], this.vCache[l], b.cacheRows, n, decode.maxPos, this.maxT, H, KVH, D, opts);
        else attentionForward(ctx, rec, att, b.lse, q, k, v, b.seg, 1, n, H, KVH, D, opts);
      };
      recordLayer(this.model, this.lora, rec, run, l, n, io, attend);
    }
    // A prefill needs the last row's logits only; a copy avoids binding a row at an unaligned offset.
    const rows = decode ? n : 1;
    if (!decode) rec.copy(b.x, (n - 1) * C * 4, b.last, 0, C * 4);
    recordNorm(this.model, rec, b.lnLast, b.rstdLast, decode ? b.x : b.last, weights.norm, rows, C);
    matmulForward(ctx, rec, b.logits, b.lnLast, weights.lmHead, null, rows, C, cfg.vocabSize);
  }

  /** Records the choice of the next token of logits rows 0..n-1 into the rows' token slots. */
  private recordSample(rec: Recorder, n: number, opts: GenerateOptions, rng: Rng): void {
    const { ctx, cfg } = this.model;
    const V = cfg.vocabSize;
    const temperature = opts.temperature ?? 0;
    for (let i = 0; i < n; i++) {
      let logits: Binding = { buffer: this.b.logits, offset: i * V * 4, size: V * 4 };
      if ((i * V * 4) % ctx.caps.minStorageBufferOffsetAlignment !== 0) {
        rec.copy(this.b.logits, i * V * 4, this.b.rowLogits, 0, V * 4);
        logits = this.b.rowLogits;
      }
      const out: Binding = { buffer: this.b.tokens, offset: i * this.tokenStride, size: 8 };
      if (temperature > 0) sampleTopKTopP(ctx, rec, out, this.sampleScratch, logits, V, temperature, opts.topK ?? 0, opts.topP ?? 1, rng.next());
      else sampleArgmax(ctx, rec, out, this.sampleScratch, logits, V);
    }
  }

  /** Next-token logits [V] after the prompt (for tests and inspection; fills sequence 0's cache as a side effect). */
  async promptLogits(prompt: ArrayLike<number>, loraScale = 1): Promise<Float32Array> {
    const rec = this.model.ctx.recorder('prefill');
    this.checkPrompt(prompt);
    this.writeRows(prompt, Array.from({ length: prompt.length }, (_, i) => i), Array.from({ length: prompt.length }, (_, i) => i));
    this.recordTokens(rec, { scale: loraScale, dropout: 0, seed: 0 }, prompt.length, null);
    rec.submit();
    return this.model.ctx.readF32(this.b.logits, this.model.cfg.vocabSize);
  }

  private checkPrompt(prompt: ArrayLike<number>, what = 'generate'): void {
    const P = prompt.length;
    const V = this.model.cfg.vocabSize;
    if (P < 1) throw new Error(`${what}: empty prompt`);
    if (P >= this.maxT) throw new Error(`${what}: prompt of ${P} tokens leaves no room in a context of ${this.maxT}`);
    for (let i = 0; i < P; i++) if (!(prompt[i] >= 0 && prompt[i] < V)) throw new Error(`${what}: token ${prompt[i]} at ${i} is outside the vocabulary (${V})`);
  }

  /** Uploads the ids, RoPE positions and cache rows of the next recorded pass. */
  private writeRows(ids: ArrayLike<number>, pos: ArrayLike<number>, cacheRows: ArrayLike<number>): void {
    const ctx = this.model.ctx;
    ctx.write(this.b.ids, Uint32Array.from(ids));
    ctx.write(this.b.pos, Uint32Array.from(pos));
    ctx.write(this.b.cacheRows, Uint32Array.from(cacheRows));
    ctx.write(this.b.seg, new Uint32Array(ids.length));
  }

  private async readTokens(n: number): Promise<number[]> {
    const words = new Uint32Array(await this.model.ctx.read(this.b.tokens, (n - 1) * this.tokenStride + 8));
    return Array.from({ length: n }, (_, i) => words[(i * this.tokenStride) / 4]);
  }

  async generate(prompt: ArrayLike<number>, opts: GenerateOptions): Promise<GenerateResult> {
    return (await this.generateBatch([prompt], opts))[0];
  }

  /**
   * Generates for up to maxBatch prompts together (the same options for each); result i
   * belongs to prompts[i]. Greedy rows give the tokens generate() gives each prompt alone.
   */
  async generateBatch(prompts: ArrayLike<number>[], opts: GenerateOptions): Promise<GenerateResult[]> {
    const { ctx, cfg } = this.model;
    const N = prompts.length;
    if (N < 1 || N > this.maxBatch) throw new Error(`generateBatch: ${N} prompts for a generator of batch ${this.maxBatch}`);
    prompts.forEach((p, i) => this.checkPrompt(p, N > 1 ? `generate (prompt ${i})` : 'generate'));
    const stop = new Set(opts.stopTokens ?? cfg.eosTokenIds);
    const run: LoraRun = { scale: opts.loraScale ?? 1, dropout: 0, seed: 0 };
    const rng = new Rng(opts.seed ?? 0);
    const results: GenerateResult[] = prompts.map(() => ({ tokens: [], stopReason: 'max-tokens' }));
    const filled = prompts.map((p) => p.length); // cache rows each sequence holds (its next token's position)
    let live = Array.from({ length: N }, (_, s) => s);
    const aborted = () => {
      if (!opts.signal?.aborted) return false;
      for (const s of live) results[s].stopReason = 'aborted';
      return true;
    };
    if (aborted()) return results;
    // Prefill: one pass per prompt (writes are queue-ordered, so each pass gets its own submit);
    // the first token of prompt s is parked in first[s] (slot 0 serves every prefill).
    for (let s = 0; s < N; s++) {
      const t = Array.from({ length: filled[s] }, (_, i) => i);
      this.writeRows(prompts[s], t, t.map((i) => s * this.maxT + i));
      const rec = ctx.recorder('prefill');
      this.recordTokens(rec, run, filled[s], null);
      this.recordSample(rec, 1, opts, rng);
      rec.copy(this.b.tokens, 0, this.b.first, s * 8, 8);
      rec.submit();
    }
    const firstWords = new Uint32Array(await ctx.read(this.b.first, N * 8));
    let next = Array.from({ length: N }, (_, s) => firstWords[2 * s]);
    for (;;) {
      const still: number[] = [];
      live.forEach((s, i) => {
        const r = results[s];
        r.tokens.push(next[i]);
        if (opts.onToken?.(next[i], s) === false) r.stopReason = 'callback';
        else if (stop.has(next[i])) r.stopReason = 'stop-token';
        else if (r.tokens.length >= opts.maxNewTokens) r.stopReason = 'max-tokens';
        else if (filled[s] >= this.maxT) r.stopReason = 'context-full';
        else still.push(s);
      });
      live = still;
      if (live.length === 0 || aborted()) return results;
      // Each row's newest token enters its sequence's cache at row `filled`.
      const at = live.map((s) => filled[s]);
      this.writeRows(live.map((s) => results[s].tokens[results[s].tokens.length - 1]), at, live.map((s, i) => s * this.maxT + at[i]));
      const rec = ctx.recorder('decode');
      this.recordTokens(rec, run, live.length, { maxPos: Math.max(...at) });
      this.recordSample(rec, live.length, opts, rng);
      rec.submit();
      for (const s of live) filled[s] += 1;
      next = await this.readTokens(live.length);
    }
  }
}
