// Launchers for next-token selection on the GPU over logits [V] (f32, V up to a few
// hundred thousand; 151936 for Qwen2.5). The result is written to outToken as u32[2]:
// [0] the token id, [1] the f32 bits of its logit (argmax) or of its probability under the
// truncated, renormalised distribution it was drawn from (sampling). Read back 8 bytes.
//
// Rules (identical to reference/sample.ts, which documents them in full):
// - ties: lower index first; temperature < 1e-6 (0 included) is greedy argmax;
// - topK in 1..256, 0 means 256; tokens outside the top 256 are never drawn;
// - topP in (0, 1]: the shortest prefix with mass >= topP; u in [0, 1) from the CPU.
// - logits must be finite (ban tokens with a large negative value, not -Infinity).
//
// How: argmax is a tree reduction per 1024 logits, repeated over the partial results;
// top-k is a bitonic sort per 1024 entries keeping each chunk's best K, repeated until one
// chunk remains (K = 256 shrinks the candidates 4x per level: 151936 → 38144 → 9728 →
// 2560 → 768 → 256); then one invocation applies temperature, top-p and u to the K.
import argmaxCode from '../../../../shaders/sample_argmax.wgsl?raw';
import topkCode from '../../../../shaders/sample_topk.wgsl?raw';
import toppCode from '../../../../shaders/sample_topp.wgsl?raw';
import { type Binding, type GpuContext, type Recorder } from '../context';
import { ceilDiv, grid1d } from '../grid';
import { defineParams } from '../params';
import { SAMPLE_MAX_TOP_K, SAMPLE_MIN_TEMPERATURE, effectiveTopK } from '../../reference/sample';

const ARGMAX_PARAMS = defineParams(argmaxCode, [['n', 'u32'], ['fromLogits', 'u32']]);
const TOPK_PARAMS = defineParams(topkCode, [['n', 'u32'], ['K', 'u32'], ['fromLogits', 'u32']]);
const TOPP_PARAMS = defineParams(toppCode, [['K', 'u32'], ['invTemp', 'f32'], ['topP', 'f32'], ['u', 'f32']]);

export { SAMPLE_MAX_TOP_K, SAMPLE_MIN_TEMPERATURE };

const WG = 256;
const CHUNK = 1024; // entries per workgroup in both selection kernels (argmax: WG·ITEMS, top-k: 2·WG·PAIRS)
const CAND_BYTES = 8; // struct Cand { i: u32, v: f32 }

/** Two ping-pong buffers of candidates between selection levels (they must be distinct buffers). */
export interface SampleScratch {
  a: GPUBuffer;
  b: GPUBuffer;
}

/** Bytes of each scratch buffer for a vocabulary of V: ceil(V/1024)·256 candidates of 8 bytes. */
export function sampleScratchBytes(V: number): number {
  return ceilDiv(V, CHUNK) * SAMPLE_MAX_TOP_K * CAND_BYTES;
}

export function createSampleScratch(ctx: GpuContext, V: number): SampleScratch {
  const bytes = sampleScratchBytes(V);
  return { a: ctx.createBuffer(bytes, 'sample scratch a'), b: ctx.createBuffer(bytes, 'sample scratch b') };
}

function checkV(ctx: GpuContext, V: number): void {
  if (!(Number.isInteger(V) && V >= 1)) throw new Error(`sample: bad vocabulary size ${V}`);
  if (V * 4 > ctx.caps.maxStorageBufferBindingSize) throw new Error(`sample: V=${V} logits exceed one storage binding`);
}

/**
 * Greedy decoding: outToken[0] = argmax_i logits[i] (lowest index among equal maxima),
 * outToken[1] = f32 bits of that logit. outToken needs 8 bytes and must not be a scratch buffer.
 */
export function sampleArgmax(ctx: GpuContext, rec: Recorder, outToken: Binding, scratch: SampleScratch, logits: Binding, V: number): void {
  checkV(ctx, V);
  const pipeline = ctx.pipeline(argmaxCode, { constants: { WG, ITEMS: CHUNK / WG }, label: 'sample_argmax' });
  let n = V;
  let src: GPUBuffer = scratch.b; // unused by level 0 (reads logits) but must be bound
  let fromLogits = 1;
  for (;;) {
    const groups = ceilDiv(n, CHUNK);
    const dst: Binding = groups === 1 ? outToken : src === scratch.a ? scratch.b : scratch.a;
    rec.dispatch(pipeline, [dst, logits, src], ARGMAX_PARAMS.pack({ n, fromLogits }), grid1d(groups, ctx.caps.maxComputeWorkgroupsPerDimension), 'sample_argmax', { flops: n, bytes: n * (fromLogits ? 4 : 8) + groups * 8 });
    if (groups === 1) return;
    src = dst as GPUBuffer;
    n = groups;
    fromLogits = 0;
  }
}

/**
 * Temperature + top-k + top-p sampling with the caller's uniform u in [0, 1):
 * outToken[0] = the drawn token, outToken[1] = f32 bits of its renormalised probability.
 * temperature < 1e-6 falls back to sampleArgmax. topK in 0..256 (0 = 256), topP in (0, 1].
 */
export function sampleTopKTopP(
  ctx: GpuContext,
  rec: Recorder,
  outToken: Binding,
  scratch: SampleScratch,
  logits: Binding,
  V: number,
  temperature: number,
  topK: number,
  topP: number,
  u: number,
): void {
  checkV(ctx, V);
  if (!(u >= 0 && u < 1)) throw new Error(`sample: u=${u} outside [0, 1)`);
  if (!(topP > 0)) throw new Error(`sample: topP=${topP} must be > 0`);
  if (!(temperature >= SAMPLE_MIN_TEMPERATURE)) return sampleArgmax(ctx, rec, outToken, scratch, logits, V);
  const K = effectiveTopK(topK, V);
  const select = ctx.pipeline(topkCode, { constants: { WG, PAIRS: CHUNK / (2 * WG), CHUNK }, label: 'sample_topk' });
  let n = V;
  let src: GPUBuffer = scratch.b; // unused by level 0 (reads logits) but must be bound
  let fromLogits = 1;
  for (;;) {
    const groups = ceilDiv(n, CHUNK);
    const dst = src === scratch.a ? scratch.b : scratch.a;
    rec.dispatch(select, [dst, logits, src], TOPK_PARAMS.pack({ n, K, fromLogits }), grid1d(groups, ctx.caps.maxComputeWorkgroupsPerDimension), 'sample_topk', {
      flops: n * Math.log2(CHUNK), // a bitonic-style selection per chunk
      bytes: n * (fromLogits ? 4 : 8) + groups * K * 8,
    });
    src = dst;
    if (groups === 1) break;
    n = groups * K;
    fromLogits = 0;
  }
  const finish = ctx.pipeline(toppCode, { label: 'sample_topp' });
  rec.dispatch(finish, [outToken, src], TOPP_PARAMS.pack({ K, invTemp: 1 / temperature, topP: Math.min(topP, 1), u }), [1], 'sample_topp', { flops: 4 * K, bytes: K * 8 + 8 });
}
