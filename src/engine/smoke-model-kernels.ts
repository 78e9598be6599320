// Kernel smoke checks for the model's heavy kernels — linear layers (f32, f16 and the GGUF
// block formats' weights),
// LoRA with dropout, GQA attention with segment ids, the KV cache and decode attention,
// sampling, the f16 embedding and addInPlace — each once on a small random problem (sizes
// that are not multiples of the tiles) against its float64 reference, in whatever browser
// runs the app (registered in smoke.ts).
import type { SmokeCheck } from './smoke';
import { concat, randF32, randomBlocks, runOnce } from './smoke-util';
import { type BlockDType, BLOCK_GGML_TYPE, packWeightBlocks } from './gpu/kernels/weights';
import { GGML_BLOCK, dequantize } from './model/quant';
import { matmulBackward, matmulForward } from './gpu/kernels/matmul';
import { loraBackward, loraForward } from './gpu/kernels/lora';
import { attentionBackward, attentionBackwardScratchBytes, attentionForward } from './gpu/kernels/attention';
import { attentionDecode, decodeScratchBytes, kvCacheAppend } from './gpu/kernels/decode';
import { createSampleScratch, sampleArgmax, sampleTopKTopP } from './gpu/kernels/sample';
import { embeddingForward } from './gpu/kernels/embedding';
import { addInPlace } from './gpu/kernels/residual';
import { f16BitsToNumber, float32ToF16Bits } from './model/dtype';
import * as mmRef from './reference/matmul';
import * as loraRef from './reference/lora';
import * as attRef from './reference/attention';
import * as sampleRef from './reference/sample';
import * as embRef from './reference/embedding';
import * as resRef from './reference/residual';

/** f16 bits padded to an even count (storage buffers are bound in 4-byte words). */
const f16Words = (x: ArrayLike<number>): Uint16Array => {
  const h = float32ToF16Bits(x);
  return Uint16Array.from({ length: h.length + (h.length % 2) }, (_, i) => h[i] ?? 0);
};

/**
 * matmulForward (with bias) then matmulBackward (accumulating onto a random dinp), with W in
 * `dtype`. The reference sees the weights exactly as stored (f16-rounded for 'f16').
 */
function matmulCheck(dtype: 'f32' | 'f16'): SmokeCheck {
  return {
    kernel: `matmul_forward+backward (${dtype} weights)`,
    requires: dtype === 'f16' ? 'f16' : undefined,
    // Both paths accumulate in f32 over K ≤ 75 products of |a·b| ≤ 0.25 from f32/f16-exact
    // inputs: rounding ≈ √K·2⁻²⁴·|partial sums| ≲ 1e-6; 2e-5 leaves a wide margin while an
    // indexing or tile-edge error (O(0.1)) still fails.
    atol: 2e-5,
    rtol: 1e-5,
    async run(ctx, rand) {
      const [BT, C, OC] = [37, 75, 53]; // tiles are 64×64 (16/32-wide for narrow N): none divides
      const [inp, wRaw, bias, dout, d0] = [randF32(rand, BT * C), randF32(rand, OC * C), randF32(rand, OC), randF32(rand, BT * OC), randF32(rand, BT * C)];
      const wBits = dtype === 'f16' ? f16Words(wRaw) : null;
      const w = wBits ? Float64Array.from(wBits.subarray(0, OC * C), f16BitsToNumber) : wRaw;
      const out = new Float64Array(BT * OC);
      mmRef.matmulForward(out, inp, w, bias, BT, C, OC);
      const dinp = Float64Array.from(d0);
      mmRef.matmulBackward(dinp, dout, w, BT, C, OC, { accumulate: true });
      const got = await runOnce(ctx, [Float32Array.from(inp), wBits ?? Float32Array.from(w), Float32Array.from(bias), Float32Array.from(dout), Float32Array.from(d0)], [BT * OC], (rec, [X, W, Bi, DO, DI, O]) => {
        matmulForward(ctx, rec, O, X, { buffer: W, dtype }, Bi, BT, C, OC);
        matmulBackward(ctx, rec, DI, DO, { buffer: W, dtype }, BT, C, OC, { accumulate: true });
      }, [[5, BT * OC], [4, BT * C]]);
      return { got, want: concat(out, dinp) };
    },
  };
}

/**
 * The block-format readers (Q8_0, Q4_0, Q4_K, Q6_K) in matmulForward + matmulBackward and the
 * embedding lookup, on random blocks, vs the float64 reference on ggml's dequantized values.
 */
const quantizedWeightsCheck: SmokeCheck = {
  kernel: 'matmul_forward+backward, embedding_forward (Q8_0, Q4_0, Q4_K, Q6_K weights)',
  // The dequantized values are exact; f32 sums of ≤ 256 products of values in about ±1
  // round by ≲ √K·2⁻²⁴·|partial sums| ≈ 1e-5; a misread nibble or scale is ≥ 1e-3.
  atol: 1e-4,
  rtol: 1e-4,
  async run(ctx, rand) {
    const got: Float32Array[] = [];
    const want: Float64Array[] = [];
    for (const dtype of ['q8_0', 'q4_0', 'q4_k', 'q6_k'] as BlockDType[]) {
      const type = BLOCK_GGML_TYPE[dtype];
      const [BT, C, OC] = [9, GGML_BLOCK[type].values, 37]; // OC rows double as the embedding's vocabulary
      const file = randomBlocks(dtype, OC * C, () => rand() + 0.5);
      const w = dequantize(type, file);
      const [inp, bias, dout, d0] = [randF32(rand, BT * C), randF32(rand, OC), randF32(rand, BT * OC), randF32(rand, BT * C)];
      const ids = Uint32Array.from({ length: BT }, (_, i) => (i === 2 ? OC + 1 : Math.floor((rand() + 0.5) * OC) % OC));
      const out = new Float64Array(BT * OC);
      mmRef.matmulForward(out, inp, w, bias, BT, C, OC);
      const dinp = Float64Array.from(d0);
      mmRef.matmulBackward(dinp, dout, w, BT, C, OC, { accumulate: true });
      const emb = new Float64Array(BT * C);
      embRef.embeddingForward(emb, ids, w, BT, C, OC);
      want.push(out, dinp, emb);
      const inputs = [Float32Array.from(inp), packWeightBlocks(dtype, file), Float32Array.from(bias), Float32Array.from(dout), Float32Array.from(d0), ids];
      got.push(await runOnce(ctx, inputs, [BT * OC, BT * C], (rec, [X, W, Bi, DO, DI, I, O, E]) => {
        matmulForward(ctx, rec, O, X, { buffer: W, dtype }, Bi, BT, C, OC);
        matmulBackward(ctx, rec, DI, DO, { buffer: W, dtype }, BT, C, OC, { accumulate: true });
        embeddingForward(ctx, rec, E, I, W, BT, C, OC, { dtype });
      }, [[6, BT * OC], [4, BT * C], [7, BT * C]]));
    }
    return { got: Float32Array.from(concat(...got)), want: concat(...want) };
  },
};

/** Attention forward and backward of packed and padded rows at head dim D (with `opts`: a sliding window, a scale), vs the float64 reference. */
function attentionCheck(kernel: string, D: number, opts: attRef.AttentionOptions = {}): SmokeCheck {
  return {
    kernel,
    // As the kernel's GPU test: softmax of ≤ 13 keys and D-wide dot products in f32 with
    // online rescaling; errors ≲ 1e-6, a wrong mask or head mapping is O(0.1).
    atol: 1e-5,
    rtol: 1e-5,
    async run(ctx, rand) {
      const [B, T, H, KVH] = [2, 13, 4, 2]; // T below the tiles
      // Row 0: two packed sequences; row 1: one sequence and a trailing run of pads.
      const segIds = Uint32Array.from([...[0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1], ...[3, 3, 3, 3, 3, 3, 3, 3, 3, 7, 7, 7, 7]]);
      const [q, k, v, dout] = [randF32(rand, B * T * H * D), randF32(rand, B * T * KVH * D), randF32(rand, B * T * KVH * D), randF32(rand, B * T * H * D)];
      const [out, lse] = [new Float64Array(q.length), new Float64Array(B * H * T)];
      attRef.attentionForward(out, lse, q, k, v, segIds, B, T, H, KVH, D, opts);
      const [dq, dk, dv] = [new Float64Array(q.length), new Float64Array(k.length), new Float64Array(v.length)];
      attRef.attentionBackward(dq, dk, dv, dout, q, k, v, out, lse, segIds, B, T, H, KVH, D, opts);
      const f32 = [q, k, v, dout].map((a) => Float32Array.from(a));
      const stats = attentionBackwardScratchBytes(B, T, H) / 4;
      const got = await runOnce(ctx, [...f32, segIds], [q.length, B * H * T, q.length, k.length, v.length, stats], (rec, [Q, K, V, DO, S, O, L, DQ, DK, DV, ST]) => {
        attentionForward(ctx, rec, O, L, Q, K, V, S, B, T, H, KVH, D, opts);
        attentionBackward(ctx, rec, DQ, DK, DV, ST, DO, Q, K, V, O, L, S, B, T, H, KVH, D, opts);
      }, [[5, q.length], [6, B * H * T], [7, q.length], [8, k.length], [9, v.length]]);
      return { got, want: concat(out, lse, dq, dk, dv) };
    },
  };
}

/** The KV cache append of a prompt and a token, then decode attention at position 66 over two chunks. */
function decodeCheck(kernel: string, opts: attRef.AttentionOptions = {}): SmokeCheck {
  return {
    kernel,
    // f32 softmax over 67 keys split in two 64-key chunks and recombined; ≲ 1e-6 (the decode
    // GPU test uses 2e-6); the cache copy is exact.
    atol: 5e-6,
    rtol: 1e-5,
    async run(ctx, rand) {
      const [maxT, H, KVH, D] = [70, 6, 2, 40];
      const pos = 66; // the 67th token: keys 0..63 in chunk 0, 64..66 in chunk 1
      const row = KVH * D;
      const [k, v, q] = [randF32(rand, (pos + 1) * row), randF32(rand, (pos + 1) * row), randF32(rand, H * D)];
      const [kc, vc] = [new Float64Array(maxT * row), new Float64Array(maxT * row)];
      attRef.kvCacheAppend(kc, vc, k, v, Array.from({ length: pos + 1 }, (_, i) => i), pos + 1, KVH, D);
      const out = new Float64Array(H * D);
      attRef.attentionDecode(out, q, kc, vc, [pos], 1, maxT, H, KVH, D, opts);
      // The prompt's rows and the current token's row as separate tensors, as generation has them.
      const split = pos * row;
      const f32: ArrayBufferView[] = [k.subarray(0, split), v.subarray(0, split), k.subarray(split), v.subarray(split), q].map((a) => Float32Array.from(a));
      f32.push(Uint32Array.from({ length: pos }, (_, i) => i), Uint32Array.of(pos));
      const got = await runOnce(ctx, f32, [maxT * row, maxT * row, H * D, decodeScratchBytes(1, maxT, H, D) / 4], (rec, [K, V, KT, VT, Q, RP, RT, KC, VC, O, SC]) => {
        kvCacheAppend(ctx, rec, KC, VC, K, V, RP, pos, maxT, KVH, D);
        kvCacheAppend(ctx, rec, KC, VC, KT, VT, RT, 1, maxT, KVH, D);
        attentionDecode(ctx, rec, O, SC, Q, KC, VC, RT, 1, pos, maxT, H, KVH, D, opts);
      }, [[9, H * D], [7, (pos + 1) * row], [8, (pos + 1) * row]]);
      return { got, want: concat(out, kc.subarray(0, (pos + 1) * row), vc.subarray(0, (pos + 1) * row)) };
    },
  };
}

export const modelKernelSmokeChecks: SmokeCheck[] = [
  matmulCheck('f32'),
  matmulCheck('f16'),
  quantizedWeightsCheck,
  {
    kernel: 'lora_forward+backward (dropout 0.1)',
    // Sums of ≤ 70 products of O(1) values in f32: ≈ 70·2⁻²⁴·|partial sums| ≲ 3e-5 of the
    // largest tensor (|dA| reaches ~5); a wrong dropout mask element or index is O(0.1).
    atol: 1e-4,
    rtol: 1e-4,
    async run(ctx, rand) {
      const [BT, C, OC, R] = [19, 70, 45, 5];
      const scaling = 2;
      const dropout = { p: 0.1, seed: 1234 };
      const [inp, A, B, out0, dout, dinp0, dA0, dB0] = [
        randF32(rand, BT * C), randF32(rand, R * C), randF32(rand, OC * R), randF32(rand, BT * OC),
        randF32(rand, BT * OC), randF32(rand, BT * C), randF32(rand, R * C), randF32(rand, OC * R),
      ];
      const [out, h, dh] = [Float64Array.from(out0), new Float64Array(BT * R), new Float64Array(BT * R)];
      loraRef.loraForward(out, h, inp, A, B, BT, C, OC, R, scaling, dropout);
      const [dinp, dA, dB] = [Float64Array.from(dinp0), Float64Array.from(dA0), Float64Array.from(dB0)];
      loraRef.loraBackward(dinp, dA, dB, dh, dout, inp, h, A, B, BT, C, OC, R, scaling, dropout);
      const f32 = [inp, A, B, out0, dout, dinp0, dA0, dB0].map((a) => Float32Array.from(a));
      const got = await runOnce(ctx, f32, [BT * R, BT * R], (rec, [X, Ab, Bb, O, DO, DI, DA, DB, Hb, DH]) => {
        loraForward(ctx, rec, O, Hb, X, Ab, Bb, BT, C, OC, R, scaling, dropout);
        loraBackward(ctx, rec, DI, DA, DB, DH, DO, X, Hb, Ab, Bb, BT, C, OC, R, scaling, dropout);
      }, [[3, BT * OC], [8, BT * R], [9, BT * R], [5, BT * C], [6, R * C], [7, OC * R]]);
      return { got, want: concat(out, h, dh, dinp, dA, dB) };
    },
  },
  // D = 24 takes the row kernels (D % 4 = 0, below its 32-wide class); D = 18 the general tile kernels.
  attentionCheck('attention_forward+backward (GQA, segments)', 24),
  attentionCheck('attention_forward+backward (GQA, segments, tile kernels: D % 4 != 0)', 18),
  // Gemma 3's local layers: a sliding window (here 4 keys) and query_pre_attn_scalar's scale.
  attentionCheck('attention_forward+backward (sliding window, scale)', 24, { window: 4, scale: 0.15 }),
  attentionCheck('attention_forward+backward (sliding window, scale, tile kernels)', 18, { window: 4, scale: 0.15 }),
  decodeCheck('kv_cache_append+attention_decode (2 chunks)'),
  // Window 10 at position 66: chunk 0 (keys 0..63) holds only keys 57..63 of the window.
  decodeCheck('kv_cache_append+attention_decode (2 chunks, sliding window)', { window: 10, scale: 0.2 }),
  {
    kernel: 'sample_argmax+topk+topp',
    // Token ids must match exactly (any difference is ≥ 1); the drawn token's renormalised
    // probability is a sum of ≤ 256 f32 exponentials: ≲ 1e-6 relative.
    atol: 1e-6,
    rtol: 1e-4,
    async run(ctx, rand) {
      const V = 2500; // three 1024-entry chunks, the last partial
      const logits = Float32Array.from(randF32(rand, V, 8));
      logits[2100] = 9; // a clear maximum in the partial chunk
      // A draw whose choice and top-p cut do not move under ±1e-4 (no near-ties in float64).
      const draw = (temperature: number, topK: number, topP: number) => {
        const pick = (u: number, p: number) => {
          const o = new Uint32Array(2);
          sampleRef.sampleTopKTopP(o, logits, V, temperature, topK, p, u);
          return o;
        };
        for (;;) {
          const u = rand() + 0.5;
          const t = pick(u, topP)[0];
          if ([pick(Math.max(0, u - 1e-4), topP), pick(Math.min(0.9999999, u + 1e-4), topP), pick(u, topP - 1e-4), pick(u, Math.min(1, topP + 1e-4))].every((o) => o[0] === t)) {
            return { temperature, topK, topP, u, want: pick(u, topP) };
          }
        }
      };
      const draws = [draw(0.8, 40, 0.9), draw(1.3, 0, 0.95)];
      const argmax = new Uint32Array(2);
      sampleRef.sampleArgmax(argmax, logits, V);
      const wants = [argmax, ...draws.map((d) => d.want)];
      const L = ctx.upload(logits);
      const scratch = createSampleScratch(ctx, V);
      const toks = wants.map(() => ctx.createBuffer(8));
      try {
        const rec = ctx.recorder();
        sampleArgmax(ctx, rec, toks[0], scratch, L, V);
        draws.forEach((d, i) => sampleTopKTopP(ctx, rec, toks[i + 1], scratch, L, V, d.temperature, d.topK, d.topP, d.u));
        rec.submit();
        const got: number[] = [];
        const want: number[] = [];
        for (let i = 0; i < wants.length; i++) {
          const bytes = await ctx.read(toks[i], 8);
          got.push(new Uint32Array(bytes)[0], new Float32Array(bytes)[1]);
          want.push(wants[i][0], new Float32Array(wants[i].buffer)[1]);
        }
        return { got: Float32Array.from(got), want: Float64Array.from(want) };
      } finally {
        for (const b of [L, scratch.a, scratch.b, ...toks]) ctx.destroy(b);
      }
    },
  },
  {
    kernel: 'embedding_forward (f16 table)',
    requires: 'f16',
    atol: 0, // a gather of f16 values widened to f32: exact
    rtol: 0,
    async run(ctx, rand) {
      const [BT, C, V] = [23, 13, 301]; // odd C: rows start at odd f16 offsets
      const bits = f16Words(randF32(rand, V * C));
      const table = Float64Array.from(bits.subarray(0, V * C), f16BitsToNumber);
      const ids = Uint32Array.from({ length: BT }, (_, i) => (i === 3 ? V + 5 : Math.floor((rand() + 0.5) * V) % V)); // one id ≥ V: zero row
      const want = new Float64Array(BT * C);
      embRef.embeddingForward(want, ids, table, BT, C, V);
      const got = await runOnce(ctx, [bits, ids], [BT * C], (rec, [W, I, O]) => {
        embeddingForward(ctx, rec, O, I, W, BT, C, V, { dtype: 'f16' });
      }, [[2, BT * C]]);
      return { got, want };
    },
  },
  {
    kernel: 'scale_accumulate (addInPlace)',
    atol: 1e-6, // one f32 multiply-add per element of values ≤ 1: ≤ 2⁻²³
    rtol: 1e-6,
    async run(ctx, rand) {
      const N = 1001;
      const [dst0, src] = [randF32(rand, N), randF32(rand, N)];
      const alpha = Math.fround(-0.37);
      const dst = Float64Array.from(dst0);
      resRef.addInPlace(dst, src, N, alpha);
      const got = await runOnce(ctx, [Float32Array.from(dst0), Float32Array.from(src)], [], (rec, [D, S]) => addInPlace(ctx, rec, D, S, N, alpha), [[0, N]]);
      return { got, want: dst };
    },
  },
];
