// Text generation with a KV cache (batch 1): the prompt is prefilled in one pass (full
// causal attention over the prompt, its keys/values appended to the per-layer caches), then
// each new token is one decode pass (attention of the new query against the cache). The next
// token is chosen on the GPU (argmax, or temperature/top-k/top-p with a seeded uniform from
// the CPU); 8 bytes come back per token to check stop tokens. The LoRA branch can be off
// (loraScale 0), as trained (1) or scaled.
import type { Recorder } from '../gpu/context';
import { attentionForward } from '../gpu/kernels/attention';
import { attentionDecode, decodeScratchBytes, kvCacheAppend } from '../gpu/kernels/decode';
import { embeddingForward } from '../gpu/kernels/embedding';
import { matmulForward } from '../gpu/kernels/matmul';
import { rmsnormForward } from '../gpu/kernels/rmsnorm';
import { type SampleScratch, createSampleScratch, sampleArgmax, sampleTopKTopP } from '../gpu/kernels/sample';
import { Rng } from '../optim/rng';
import { LINEAR_MODULES } from './config';
import { type Attend, type LayerBuffers, type LlamaModel, type LoraRun, recordLayer } from './llama';
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
  /** Seed of the sampling uniforms. */
  seed?: number;
  /** Multiplier of the adapter's scaling: 0 = base model, 1 = as trained. Default 1. */
  loraScale?: number;
  /** Called per generated token; return false to stop. */
  onToken?: (token: number) => boolean | void;
  signal?: AbortSignal;
}

export interface GenerateResult {
  /** Generated tokens (the stop token included when one ended generation). */
  tokens: number[];
  stopReason: 'stop-token' | 'max-tokens' | 'context-full' | 'callback' | 'aborted';
}

/** Buffers for generation up to maxT tokens (prompt + generated) with one model and LoRA. */
export class Generator {
  private readonly kCache: GPUBuffer[] = [];
  private readonly vCache: GPUBuffer[] = [];
  private readonly b: Record<string, GPUBuffer> = {};
  private readonly h: GPUBuffer | null;
  private readonly sampleScratch: SampleScratch;
  private readonly all: GPUBuffer[] = [];

  constructor(
    readonly model: LlamaModel,
    readonly lora: LoraParams | null,
    readonly maxT: number,
  ) {
    const { ctx, cfg } = model;
    if (!Number.isInteger(maxT) || maxT < 2) throw new Error(`Generator: maxT ${maxT} must be an integer ≥ 2`);
    if (maxT > cfg.maxPositionEmbeddings) throw new Error(`Generator: maxT ${maxT} exceeds the model's max_position_embeddings ${cfg.maxPositionEmbeddings}`);
    const C = cfg.hiddenSize;
    const qd = cfg.numHeads * cfg.headDim;
    const kvd = cfg.numKvHeads * cfg.headDim;
    const F = cfg.intermediateSize;
    const mk = (name: string, bytes: number) => {
      const buf = ctx.createBuffer(bytes, `gen.${name}`);
      this.all.push(buf);
      return buf;
    };
    for (let l = 0; l < cfg.numLayers; l++) {
      this.kCache.push(mk(`k${l}`, maxT * kvd * 4));
      this.vCache.push(mk(`v${l}`, maxT * kvd * 4));
    }
    const rows = maxT; // prefill handles up to maxT - 1 prompt tokens in one pass
    for (const [n, e] of [['x', rows * C], ['xMid', rows * C], ['ln', rows * C], ['rstd', rows], ['q', rows * qd], ['k', rows * kvd], ['v', rows * kvd], ['att', rows * qd], ['proj', rows * C], ['gate', rows * F], ['up', rows * F], ['act', rows * F], ['lse', rows * cfg.numHeads], ['seg', rows], ['ids', rows], ['pos', rows], ['last', C], ['lnLast', C], ['rstdLast', 1], ['logits', cfg.vocabSize], ['token', 2]] as const) {
      this.b[n] = mk(n, e * 4);
    }
    this.b.decodeScratch = mk('decodeScratch', decodeScratchBytes(maxT, cfg.numHeads, cfg.headDim));
    this.h = lora ? mk('loraH', rows * lora.layout.R * 4) : null;
    this.sampleScratch = createSampleScratch(ctx, cfg.vocabSize);
    this.all.push(this.sampleScratch.a, this.sampleScratch.b);
  }

  destroy(): void {
    for (const b of this.all) this.model.ctx.destroy(b);
  }

  /** Records the forward of n tokens at positions pos0.. (prefill when n > 1, which needs pos0 = 0). */
  private recordTokens(rec: Recorder, run: LoraRun, pos0: number, n: number): void {
    const { ctx, cfg, weights } = this.model;
    const C = cfg.hiddenSize;
    const H = cfg.numHeads;
    const KVH = cfg.numKvHeads;
    const D = cfg.headDim;
    const b = this.b;
    embeddingForward(ctx, rec, b.x, b.ids, weights.embed.buffer, n, C, cfg.vocabSize, { dtype: weights.embed.dtype });
    // One set of buffers for every layer (the residual stream is updated in place in b.x);
    // ln/rstd serve both norms. Only the attention step differs from training.
    const loraH = Object.fromEntries(this.h ? LINEAR_MODULES.map((m) => [m, this.h!]) : []);
    const io: LayerBuffers = {
      x: b.x, out: b.x, positions: b.pos, ln1: b.ln, rstd1: b.rstd, q: b.q, k: b.k, v: b.v, att: b.att, proj: b.proj,
      xMid: b.xMid, ln2: b.ln, rstd2: b.rstd, gate: b.gate, up: b.up, act: b.act, loraH,
    };
    for (let l = 0; l < cfg.numLayers; l++) {
      // The new keys/values join the cache; attention reads the cache (decode) or the prompt's own k/v (prefill).
      const attend: Attend = (rec, att, q, k, v) => {
        kvCacheAppend(ctx, rec, this.kCache[l], this.vCache[l], k, v, pos0, n, this.maxT, KVH, D);
        if (n === 1) attentionDecode(ctx, rec, att, b.decodeScratch, q, this.kCache[l], this.vCache[l], pos0, H, KVH, D);
        else attentionForward(ctx, rec, att, b.lse, q, k, v, b.seg, 1, n, H, KVH, D);
      };
      recordLayer(this.model, this.lora, rec, run, l, n, io, attend);
    }
    // Only the last row needs logits; a copy avoids binding a row at an unaligned offset.
    rec.copy(b.x, (n - 1) * C * 4, b.last, 0, C * 4);
    rmsnormForward(ctx, rec, b.lnLast, b.rstdLast, b.last, weights.norm, 1, C, cfg.rmsNormEps);
    matmulForward(ctx, rec, b.logits, b.lnLast, weights.lmHead, null, 1, C, cfg.vocabSize);
  }

  /** Next-token logits [V] after the prompt (for tests and inspection; fills the cache as a side effect). */
  async promptLogits(prompt: ArrayLike<number>, loraScale = 1): Promise<Float32Array> {
    const rec = this.model.ctx.recorder('prefill');
    this.writePrompt(prompt);
    this.recordTokens(rec, { scale: loraScale, dropout: 0, seed: 0 }, 0, prompt.length);
    rec.submit();
    return this.model.ctx.readF32(this.b.logits, this.model.cfg.vocabSize);
  }

  private writePrompt(prompt: ArrayLike<number>): void {
    const { ctx, cfg } = this.model;
    const P = prompt.length;
    if (P < 1) throw new Error('generate: empty prompt');
    if (P >= this.maxT) throw new Error(`generate: prompt of ${P} tokens leaves no room in a context of ${this.maxT}`);
    for (let i = 0; i < P; i++) if (!(prompt[i] >= 0 && prompt[i] < cfg.vocabSize)) throw new Error(`generate: token ${prompt[i]} at ${i} is outside the vocabulary (${cfg.vocabSize})`);
    ctx.write(this.b.ids, Uint32Array.from(prompt));
    ctx.write(this.b.pos, Uint32Array.from({ length: P }, (_, i) => i));
    ctx.write(this.b.seg, new Uint32Array(P));
  }

  async generate(prompt: ArrayLike<number>, opts: GenerateOptions): Promise<GenerateResult> {
    const { ctx, cfg } = this.model;
    const stop = new Set(opts.stopTokens ?? cfg.eosTokenIds);
    const run: LoraRun = { scale: opts.loraScale ?? 1, dropout: 0, seed: 0 };
    const rng = new Rng(opts.seed ?? 0);
    const temperature = opts.temperature ?? 0;
    const tokens: number[] = [];
    this.writePrompt(prompt);
    let pos = 0;
    let n = prompt.length;
    for (;;) {
      if (opts.signal?.aborted) return { tokens, stopReason: 'aborted' };
      const rec = ctx.recorder('decode');
      this.recordTokens(rec, run, pos, n);
      if (temperature > 0) sampleTopKTopP(ctx, rec, this.b.token, this.sampleScratch, this.b.logits, cfg.vocabSize, temperature, opts.topK ?? 0, opts.topP ?? 1, rng.next());
      else sampleArgmax(ctx, rec, this.b.token, this.sampleScratch, this.b.logits, cfg.vocabSize);
      rec.submit();
      const token = new Uint32Array(await ctx.read(this.b.token, 4))[0];
      tokens.push(token);
      pos += n;
      n = 1;
      if (opts.onToken?.(token) === false) return { tokens, stopReason: 'callback' };
      if (stop.has(token)) return { tokens, stopReason: 'stop-token' };
      if (tokens.length >= opts.maxNewTokens) return { tokens, stopReason: 'max-tokens' };
      if (pos >= this.maxT) return { tokens, stopReason: 'context-full' };
      ctx.write(this.b.ids, new Uint32Array([token]));
      ctx.write(this.b.pos, new Uint32Array([pos]));
    }
  }
}
