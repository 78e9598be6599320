// Golden outputs: every kernel on fixed seeded inputs, pinned by an FNV-1a hash of its output
// bytes. Refactors of the shader sources (composition from libraries, parameter packing) must
// keep these bit-identical; a change of kernel math changes a hash on purpose, and then the
// new hashes are regenerated (run this file, paste the `got` object) with the reason in the commit.
// The smoke checks cover every kernel once; the matmul/LoRA/embedding cases below add the
// tile shapes, dropout, alpha, accumulation and range splits that the composed sources serve.
import { describe, expect, it } from 'vitest';
import { getTestContext } from '../../../../test/gpu-device';
import { GpuContext } from '../context';
import { seeded, smokeChecks } from '../../smoke';
import { randF32, runOnce } from '../../smoke-util';
import { float32ToF16Bits } from '../../model/dtype';
import { matmulBackward, matmulForward, type WeightDType } from './matmul';
import { loraBackward, loraForward } from './lora';
import { embeddingForward } from './embedding';

/** FNV-1a (32-bit) of the bytes of `a`, as 8 hex digits. */
function fnv1a(a: ArrayBufferView): string {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

const f32 = (rand: () => number, n: number) => Float32Array.from(randF32(rand, n));
/** f16 bits of `n` random values, padded to whole 4-byte words. */
const f16 = (rand: () => number, n: number) => {
  const h = float32ToF16Bits(randF32(rand, n));
  return Uint16Array.from({ length: n + (n % 2) }, (_, i) => h[i] ?? 0);
};

/** matmulForward + matmulBackward on [BT, C]·[OC, C]ᵀ with every option in play. */
async function matmulCase(ctx: GpuContext, dtype: WeightDType, BT: number, C: number, OC: number, split: boolean): Promise<string> {
  const rand = seeded(BT * 1000 + C * 10 + OC);
  const W = dtype === 'f16' ? f16(rand, OC * C) : f32(rand, OC * C);
  const inputs = [f32(rand, BT * C), W, f32(rand, OC), f32(rand, BT * OC), f32(rand, BT * OC), f32(rand, BT * C)];
  // Range splits: a binding of ~3 weight rows forces several dispatches along both W and the rows.
  const maxBindingBytes = split ? 3 * C * (dtype === 'f16' ? 2 : 4) + ctx.caps.minStorageBufferOffsetAlignment : undefined;
  const dropout = { p: 0.25, seed: 777 };
  const got = await runOnce(ctx, inputs, [BT * OC], (rec, [X, Wb, Bi, O0, DO, DI, O]) => {
    matmulForward(ctx, rec, O, X, { buffer: Wb, dtype }, Bi, BT, C, OC, { dropout, alpha: 0.75, maxBindingBytes });
    matmulForward(ctx, rec, O0, X, { buffer: Wb, dtype }, null, BT, C, OC, { accumulate: true, maxBindingBytes });
    matmulBackward(ctx, rec, DI, DO, { buffer: Wb, dtype }, BT, C, OC, { accumulate: true, alpha: 1.5, dropout, maxBindingBytes });
  }, [[6, BT * OC], [3, BT * OC], [5, BT * C]]);
  return fnv1a(got);
}

async function loraCase(ctx: GpuContext, BT: number, C: number, OC: number, R: number): Promise<string> {
  const rand = seeded(BT + C + OC + R);
  const dropout = { p: 0.1, seed: 99 };
  const inputs = [f32(rand, BT * C), f32(rand, R * C), f32(rand, OC * R), f32(rand, BT * OC), f32(rand, BT * OC), f32(rand, BT * C), f32(rand, R * C), f32(rand, OC * R)];
  const got = await runOnce(ctx, inputs, [BT * R, BT * R], (rec, [X, A, B, O, DO, DI, DA, DB, H, DH]) => {
    loraForward(ctx, rec, O, H, X, A, B, BT, C, OC, R, 2, dropout);
    loraBackward(ctx, rec, DI, DA, DB, DH, DO, X, H, A, B, BT, C, OC, R, 2, dropout);
  }, [[3, BT * OC], [8, BT * R], [9, BT * R], [5, BT * C], [6, R * C], [7, OC * R]]);
  return fnv1a(got);
}

async function embeddingCase(ctx: GpuContext, dtype: 'f32' | 'f16'): Promise<string> {
  const [BT, C, V] = [23, 32, 50]; // rows of 128 (f32) or 64 (f16) bytes: ranges of 8 or 16 rows below
  const rand = seeded(5);
  const ids = Uint32Array.from({ length: BT }, (_, i) => (i * 7 + 3) % (V + 4)); // a few ids ≥ V give zero rows
  const table = dtype === 'f16' ? f16(rand, V * C) : f32(rand, V * C);
  const got = await runOnce(ctx, [ids, table], [BT * C], (rec, [I, Wt, O]) => {
    embeddingForward(ctx, rec, O, I, Wt, BT, C, V, { dtype, maxBindingBytes: 1024 });
  }, [[2, BT * C]]);
  return fnv1a(got);
}

async function goldenHashes(ctx: GpuContext): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const c of smokeChecks) {
    if (c.requires === 'f16' && !ctx.caps.f16) continue;
    out[`smoke: ${c.kernel}`] = fnv1a((await c.run(ctx, seeded(42))).got);
  }
  const dtypes: ('f32' | 'f16')[] = ctx.caps.f16 ? ['f32', 'f16'] : ['f32'];
  // One shape per tile configuration of matmul.ts (default, N ≤ 16, N ≤ 32, M ≤ 16), none a tile multiple.
  for (const dtype of dtypes) {
    for (const [BT, C, OC] of [[37, 75, 70], [41, 33, 13], [29, 50, 30], [9, 45, 77]]) out[`matmul ${dtype} ${BT}x${C}x${OC}`] = await matmulCase(ctx, dtype, BT, C, OC, false);
    out[`matmul ${dtype} split`] = await matmulCase(ctx, dtype, 21, 35, 19, true);
    out[`embedding ${dtype} split`] = await embeddingCase(ctx, dtype);
  }
  for (const [BT, C, OC, R] of [[19, 70, 45, 5], [66, 40, 24, 16], [33, 20, 90, 40]]) out[`lora ${BT}x${C}x${OC} r${R}`] = await loraCase(ctx, BT, C, OC, R);
  return out;
}

const GOLDEN_FAST: Record<string, string> = {
  "embedding f16 split": "aa7e3515",
  "embedding f32 split": "a09cdec7",
  "lora 19x70x45 r5": "e180fcfc",
  "lora 33x20x90 r40": "de1a58f2",
  "lora 66x40x24 r16": "f20d35c2",
  "matmul f16 29x50x30": "d4604834",
  "matmul f16 37x75x70": "861e2279",
  "matmul f16 41x33x13": "cf32c139",
  "matmul f16 9x45x77": "2f66f282",
  "matmul f16 split": "6f70ae52",
  "matmul f32 29x50x30": "2aead345",
  "matmul f32 37x75x70": "89ad9495",
  "matmul f32 41x33x13": "68961845",
  "matmul f32 9x45x77": "47a04260",
  "matmul f32 split": "cac4a9ed",
  "smoke: attention_forward+backward (GQA, segments)": "48a8b339",
  "smoke: attention_forward+backward (GQA, segments, tile kernels: D % 4 != 0)": "6f996732",
  "smoke: attention_forward+backward (sliding window, scale)": "3c25576d",
  "smoke: attention_forward+backward (sliding window, scale, tile kernels)": "078649b2",
  "smoke: cast (bf16/f16 to f32, f32 to f16)": "9c0663d4",
  "smoke: crossentropy_forward+reduce_sum": "90d0cbbe",
  "smoke: preference_weights+crossentropy_forward (row weights)": "cd5176af",
  "smoke: embedding_forward (f16 table)": "7d7e9802",
  "smoke: embedding_forward (range split)": "fff728f1",
  "smoke: global_norm+adamw": "c99fe8cb",
  "smoke: kv_cache_append+attention_decode (2 chunks)": "4b9bdb0a",
  "smoke: kv_cache_append+attention_decode (2 chunks, sliding window)": "02953f43",
  "smoke: lora_forward+backward (dropout 0.1)": "e9702e19",
  "smoke: matmul_forward+backward (f16 weights)": "d13c6019",
  "smoke: matmul_forward+backward (f32 weights)": "04d4e6b6",
  "smoke: matmul_forward+backward, embedding_forward (Q8_0, Q4_0, Q4_K, Q6_K weights)": "5127b146",
  "smoke: residual_backward": "7c7441eb",
  "smoke: residual_forward": "59aa32fe",
  "smoke: rmsnorm_forward+backward": "d5ad0edb",
  "smoke: rope_forward+backward": "7f15851c",
  "smoke: sample_argmax+topk+topp": "2414d621",
  "smoke: scale_accumulate (addInPlace)": "1c2c89da",
  "smoke: swiglu_forward+backward": "1ced44b5",
  "smoke: swiglu_forward+backward (GeGLU: gelu_tanh)": "52477203",
  "smoke: swiglu_backward_inplace (GeGLU: gelu_tanh)": "a0d9f646",
};
const GOLDEN_FALLBACK: Record<string, string> = {
  "embedding f32 split": "a09cdec7",
  "lora 19x70x45 r5": "e180fcfc",
  "lora 33x20x90 r40": "de1a58f2",
  "lora 66x40x24 r16": "f20d35c2",
  "matmul f32 29x50x30": "2aead345",
  "matmul f32 37x75x70": "89ad9495",
  "matmul f32 41x33x13": "68961845",
  "matmul f32 9x45x77": "47a04260",
  "matmul f32 split": "cac4a9ed",
  "smoke: attention_forward+backward (GQA, segments)": "48a8b339",
  "smoke: attention_forward+backward (GQA, segments, tile kernels: D % 4 != 0)": "6f996732",
  "smoke: attention_forward+backward (sliding window, scale)": "3c25576d",
  "smoke: attention_forward+backward (sliding window, scale, tile kernels)": "078649b2",
  "smoke: cast (bf16/f16 to f32, f32 to f16)": "9c0663d4",
  "smoke: crossentropy_forward+reduce_sum": "4ca16658",
  "smoke: preference_weights+crossentropy_forward (row weights)": "1e5fcbb5",
  "smoke: embedding_forward (range split)": "fff728f1",
  "smoke: global_norm+adamw": "c99fe8cb",
  "smoke: kv_cache_append+attention_decode (2 chunks)": "4b9bdb0a",
  "smoke: kv_cache_append+attention_decode (2 chunks, sliding window)": "02953f43",
  "smoke: lora_forward+backward (dropout 0.1)": "e9702e19",
  "smoke: matmul_forward+backward (f32 weights)": "04d4e6b6",
  "smoke: matmul_forward+backward, embedding_forward (Q8_0, Q4_0, Q4_K, Q6_K weights)": "5127b146",
  "smoke: residual_backward": "7c7441eb",
  "smoke: residual_forward": "59aa32fe",
  "smoke: rmsnorm_forward+backward": "84bdcd73",
  "smoke: rope_forward+backward": "7f15851c",
  "smoke: sample_argmax+topk+topp": "2414d621",
  "smoke: scale_accumulate (addInPlace)": "1c2c89da",
  "smoke: swiglu_forward+backward": "1ced44b5",
  "smoke: swiglu_forward+backward (GeGLU: gelu_tanh)": "52477203",
  "smoke: swiglu_backward_inplace (GeGLU: gelu_tanh)": "a0d9f646",
};

describe('golden kernel outputs (bit-identical across refactors)', () => {
  it('full-featured device (shader-f16, subgroups)', async () => {
    const ctx = await getTestContext();
    expect(ctx.caps.f16 && ctx.caps.subgroups, 'the test device must offer shader-f16 and subgroups').toBe(true);
    expect(await goldenHashes(ctx)).toEqual(GOLDEN_FAST);
  }, 300_000);

  it('fallback device (no f16, workgroup reductions)', async () => {
    expect(await goldenHashes(await getTestContext({ fallback: true }))).toEqual(GOLDEN_FALLBACK);
  }, 300_000);
});
