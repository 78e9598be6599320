// Launchers for generation: the per-layer KV cache append and one-token decode attention
// (batch 1) over the cache, split over the cache length so long contexts use many
// workgroups. Layouts (f32): kCache, vCache [maxT, KVH, D] per layer; q, out [H, D]
// (one token, i.e. [1, H, D]). Caches for several layers may live in one buffer bound in
// ranges ({buffer, offset, size}); offsets must be multiples of
// minStorageBufferOffsetAlignment (256 bytes on most adapters).
//
// Typical use: prefill the prompt with attentionForward (B = 1) and kvCacheAppend(n = T);
// then per generated token at position pos: kvCacheAppend(n = 1, pos), attentionDecode(pos).
import appendCode from '../../../../shaders/kv_cache_append.wgsl?raw';
import decodeCode from '../../../../shaders/attention_decode.wgsl?raw';
import combineCode from '../../../../shaders/attention_decode_combine.wgsl?raw';
import { type Binding, type GpuContext, type Recorder } from '../context';
import { ceilDiv, grid1d } from '../grid';
import { defineParams } from '../params';
import { ATTENTION_MAX_D, headDimClass } from './attention';

const APPEND_PARAMS = defineParams(appendCode, [['pos', 'u32'], ['n', 'u32'], ['KVH', 'u32'], ['D', 'u32']]);
const DECODE_PARAMS = defineParams(decodeCode, [['pos', 'u32'], ['nChunks', 'u32'], ['H', 'u32'], ['KVH', 'u32'], ['D', 'u32'], ['scale', 'f32']]);
const COMBINE_PARAMS = defineParams(combineCode, [['nChunks', 'u32'], ['H', 'u32'], ['D', 'u32']]);

/** Keys per split-K chunk (= invocations per workgroup of the first decode pass). */
export const DECODE_CHUNK = 64;

/**
 * Writes n tokens of keys/values, k, v [n, KVH, D], into the caches [maxT, KVH, D] at rows
 * pos..pos+n-1 (n = 0 records nothing). Throws if pos + n > maxT (a write past the cache
 * would land anywhere in the buffer under robust access).
 */
export function kvCacheAppend(
  ctx: GpuContext,
  rec: Recorder,
  kCache: Binding,
  vCache: Binding,
  k: Binding,
  v: Binding,
  pos: number,
  n: number,
  maxT: number,
  KVH: number,
  D: number,
): void {
  if (!(Number.isInteger(pos) && pos >= 0 && Number.isInteger(n) && n >= 0 && pos + n <= maxT)) throw new Error(`kvCacheAppend: rows ${pos}..${pos + n - 1} outside a cache of ${maxT}`);
  if (n === 0) return;
  const WG = 256;
  const pipeline = ctx.pipeline(appendCode, { constants: { WG }, label: 'kv_cache_append' });
  rec.dispatch(pipeline, [kCache, vCache, k, v], APPEND_PARAMS.pack({ pos, n, KVH, D }), grid1d(ceilDiv(n * KVH * D, WG), ctx.caps.maxComputeWorkgroupsPerDimension), 'kv_cache_append');
}

/** Bytes of the scratch attentionDecode needs for caches of maxT rows: [H, ceil(maxT/64), D+2] f32. */
export function decodeScratchBytes(maxT: number, H: number, D: number): number {
  return H * ceilDiv(maxT, DECODE_CHUNK) * (D + 2) * 4;
}

/**
 * One-token causal attention: out [H, D] = softmax(q·kCache[0..pos]ᵀ/sqrt(D))·vCache[0..pos],
 * query head h reading kv head floor(h / (H/KVH)). q [H, D] is the token at position pos,
 * whose own k/v must already be appended. Overwrites out; `scratch` holds the per-chunk
 * partials (decodeScratchBytes(maxT, H, D) or more). Equals row pos of attentionForward
 * over the same tokens.
 */
export function attentionDecode(
  ctx: GpuContext,
  rec: Recorder,
  out: Binding,
  scratch: Binding,
  q: Binding,
  kCache: Binding,
  vCache: Binding,
  pos: number,
  H: number,
  KVH: number,
  D: number,
): void {
  if (H % KVH !== 0) throw new Error(`attentionDecode: H=${H} is not a multiple of KVH=${KVH}`);
  if (D > ATTENTION_MAX_D) throw new Error(`attentionDecode: head dim ${D} > ${ATTENTION_MAX_D}`);
  if (!(Number.isInteger(pos) && pos >= 0)) throw new Error(`attentionDecode: bad pos ${pos}`);
  const nChunks = ceilDiv(pos + 1, DECODE_CHUNK);
  if (nChunks > ctx.caps.maxComputeWorkgroupsPerDimension) throw new Error('attentionDecode: context too long');
  const first = ctx.pipeline(decodeCode, { constants: { CH: DECODE_CHUNK, DMAX: headDimClass(D) }, label: 'attention_decode' });
  rec.dispatch(first, [scratch, q, kCache, vCache], DECODE_PARAMS.pack({ pos, nChunks, H, KVH, D, scale: 1 / Math.sqrt(D) }), [nChunks, H], 'attention_decode');
  const second = ctx.pipeline(combineCode, { constants: { WG: 64 }, label: 'attention_decode_combine' });
  rec.dispatch(second, [out, scratch], COMBINE_PARAMS.pack({ nChunks, H, D }), [H], 'attention_decode_combine');
}
