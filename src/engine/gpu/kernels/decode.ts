// Launchers for generation: the per-layer KV cache append and one-token decode attention
// over the cache for n query rows at once (batched decode: one row per sequence), split over
// the cache length so long contexts use many workgroups. Layouts (f32): kCache, vCache
// [B·maxT, KVH, D] per layer (B sequences of maxT rows); q, out [n, H, D]; `rows` u32 [n]
// holds each token's cache row seq·maxT + pos. Caches for several layers may live in one
// buffer bound in ranges ({buffer, offset, size}); offsets must be multiples of
// minStorageBufferOffsetAlignment (256 bytes on most adapters).
//
// Typical use: prefill a prompt with attentionForward (B = 1) and kvCacheAppend(rows =
// seq·maxT + 0..T-1); then per generated token (one per live sequence) kvCacheAppend and
// attentionDecode with rows = seq·maxT + pos.
import appendCode from '../../../../shaders/kv_cache_append.wgsl?raw';
import decodeCode from '../../../../shaders/attention_decode.wgsl?raw';
import combineCode from '../../../../shaders/attention_decode_combine.wgsl?raw';
import { type Binding, type GpuContext, type Recorder } from '../context';
import { ceilDiv, grid1d } from '../grid';
import { defineParams } from '../params';
import { ATTENTION_MAX_D, type AttentionOptions, headDimClass } from './attention';
import { attentionOptions } from '../../reference/attention';
import { WGSL_LIB, composeShader } from './wgsl';

const APPEND_PARAMS = defineParams(appendCode, [['n', 'u32'], ['KVH', 'u32'], ['D', 'u32'], ['capacity', 'u32']]);
const DECODE_PARAMS = defineParams(decodeCode, [['nChunks', 'u32'], ['H', 'u32'], ['KVH', 'u32'], ['D', 'u32'], ['scale', 'f32'], ['maxT', 'u32'], ['window', 'u32']]);
const COMBINE_PARAMS = defineParams(combineCode, [['nChunks', 'u32'], ['H', 'u32'], ['D', 'u32']]);

/** Keys per split-K chunk (= invocations per workgroup of the first decode pass). */
export const DECODE_CHUNK = 64;

/**
 * Scatters n tokens of keys/values, k, v [n, KVH, D], into the caches [capacity, KVH, D]:
 * token i to cache row rows[i] (u32 [n], on the device). Rows >= capacity are skipped by the
 * kernel (a write past the cache would land anywhere in the buffer under robust access).
 * n = 0 records nothing.
 */
export function kvCacheAppend(
  ctx: GpuContext,
  rec: Recorder,
  kCache: Binding,
  vCache: Binding,
  k: Binding,
  v: Binding,
  rows: Binding,
  n: number,
  capacity: number,
  KVH: number,
  D: number,
): void {
  if (!(Number.isInteger(n) && n >= 0 && Number.isInteger(capacity) && capacity >= 1)) throw new Error(`kvCacheAppend: bad n=${n} or capacity=${capacity}`);
  if (n === 0) return;
  const WG = 256;
  const pipeline = ctx.pipeline(appendCode, { constants: { WG }, label: 'kv_cache_append' });
  rec.dispatch(pipeline, [kCache, vCache, k, v, rows], APPEND_PARAMS.pack({ n, KVH, D, capacity }), grid1d(ceilDiv(n * KVH * D, WG), ctx.caps.maxComputeWorkgroupsPerDimension), 'kv_cache_append', {
    flops: 0,
    bytes: 2 * 2 * n * KVH * D * 4 + n * 4, // k and v read, then written into the caches
  });
}

/** Bytes of the scratch attentionDecode needs for n rows at positions < maxT: [n, H, ceil(maxT/64), D+2] f32. */
export function decodeScratchBytes(n: number, maxT: number, H: number, D: number): number {
  return n * H * ceilDiv(maxT, DECODE_CHUNK) * (D + 2) * 4;
}

/**
 * One-token causal attention for n rows: row i at cache row r = rows[i] (sequence
 * seq = floor(r / maxT), position pos = r mod maxT) gets
 *   out[i] [H, D] = softmax(q[i]·kCache[seq·maxT + 0..pos]ᵀ/sqrt(D))·vCache[seq·maxT + 0..pos],
 * query head h reading kv head floor(h / (H/KVH)). With `opts.window` = W only the last W
 * of those keys (rows seq·maxT + max(0, pos−W+1)..pos), `opts.scale` replacing 1/sqrt(D), as in
 * attentionForward. Each row's own k/v must already be appended. maxPos must be >= every row's pos (it sizes the split-K grid; keys past it would
 * be ignored). Overwrites out; `scratch` holds the per-chunk partials
 * (decodeScratchBytes(n, maxPos + 1, H, D) or more). Row i equals row pos of attentionForward
 * over its sequence's tokens, bit for bit whatever the other rows are.
 */
export function attentionDecode(
  ctx: GpuContext,
  rec: Recorder,
  out: Binding,
  scratch: Binding,
  q: Binding,
  kCache: Binding,
  vCache: Binding,
  rows: Binding,
  n: number,
  maxPos: number,
  maxT: number,
  H: number,
  KVH: number,
  D: number,
  opts: AttentionOptions = {},
): void {
  const { window, scale } = attentionOptions(opts, D);
  if (H % KVH !== 0) throw new Error(`attentionDecode: H=${H} is not a multiple of KVH=${KVH}`);
  if (D > ATTENTION_MAX_D) throw new Error(`attentionDecode: head dim ${D} > ${ATTENTION_MAX_D}`);
  if (!(Number.isInteger(maxPos) && maxPos >= 0 && maxPos < maxT)) throw new Error(`attentionDecode: bad maxPos ${maxPos} for maxT ${maxT}`);
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`attentionDecode: bad row count ${n}`);
  const nChunks = ceilDiv(maxPos + 1, DECODE_CHUNK);
  if (nChunks > ctx.caps.maxComputeWorkgroupsPerDimension) throw new Error('attentionDecode: context too long');
  if (n > ctx.caps.maxComputeWorkgroupsPerDimension) throw new Error(`attentionDecode: ${n} rows exceed one dispatch`);
  const first = ctx.pipeline(composeShader([WGSL_LIB.window], decodeCode), { constants: { CH: DECODE_CHUNK, DMAX: headDimClass(D) }, label: 'attention_decode' });
  // A window of maxT or more keys is full attention (positions are < maxT).
  const prm = DECODE_PARAMS.pack({ nChunks, H, KVH, D, scale, maxT, window: Math.min(window, maxT) });
  // Upper bound: every row attends to maxPos + 1 keys (rows at earlier positions read fewer, windowed rows at most the window).
  const keys = n * Math.min(maxPos + 1, window);
  const partials = n * H * nChunks * (D + 2) * 4;
  rec.dispatch(first, [scratch, q, kCache, vCache, rows], prm, [nChunks, H, n], 'attention_decode', {
    flops: 4 * keys * H * D, // q·k and p·v
    bytes: n * H * D * 4 + 2 * keys * KVH * D * 4 + partials,
  });
  const second = ctx.pipeline(combineCode, { constants: { WG: 64 }, label: 'attention_decode_combine' });
  rec.dispatch(second, [out, scratch], COMBINE_PARAMS.pack({ nChunks, H, D }), [H, n], 'attention_decode_combine', {
    flops: 3 * n * H * nChunks * D,
    bytes: partials + n * H * D * 4,
  });
}
