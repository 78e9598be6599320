import { describe, expect, it } from 'vitest';
import { attentionDecode, decodeScratchBytes, kvCacheAppend } from './decode';
import { attentionForward } from './attention';
import { attentionForward as forwardRef } from '../../reference/attention';
import { expectClose, randArray, rng } from '../../../../test/numeric';
import { type TestDeviceOptions, expectNoGpuError, getTestContext } from '../../../../test/gpu-device';

const devices: TestDeviceOptions[] = [{}, { fallback: true }, { defaultLimits: true }];

interface Case { T: number; H: number; KVH: number; D: number }
// T = 130 and 200 span 3 and 4 split-K chunks of 64 keys; T = 64 exactly one full chunk.
const cases: Case[] = [
  { T: 1, H: 4, KVH: 2, D: 8 },
  { T: 5, H: 3, KVH: 1, D: 16 },
  { T: 17, H: 2, KVH: 2, D: 64 },
  { T: 64, H: 4, KVH: 2, D: 16 },
  { T: 65, H: 3, KVH: 1, D: 8 },
  { T: 130, H: 4, KVH: 2, D: 64 },
  { T: 200, H: 2, KVH: 1, D: 128 },
];

describe('KV cache + one-token decode attention', () => {
  for (const device of devices) {
    it.each(cases)(`T=$T H=$H KVH=$KVH D=$D equals the rows of full attention (device ${JSON.stringify(device)})`, async ({ T, H, KVH, D }) => {
      const ctx = await getTestContext(device);
      const r = rng(T * 31 + D);
      const q = Float32Array.from(randArray(r, T * H * D));
      const k = Float32Array.from(randArray(r, T * KVH * D));
      const v = Float32Array.from(randArray(r, T * KVH * D));
      const maxT = T + 3;
      const prefill = Math.floor(T / 2); // appended in one call; the rest token by token
      const rowQ = H * D * 4, rowKV = KVH * D * 4;

      const { decoded, full } = await expectNoGpuError(ctx, async () => {
        const Q = ctx.upload(q), K = ctx.upload(k), V = ctx.upload(v), seg = ctx.upload(new Uint32Array(T));
        const Ofull = ctx.createBuffer(q.byteLength), lse = ctx.createBuffer(H * T * 4);
        const kCache = ctx.createBuffer(maxT * rowKV), vCache = ctx.createBuffer(maxT * rowKV);
        const qTok = ctx.createBuffer(rowQ), kTok = ctx.createBuffer(rowKV), vTok = ctx.createBuffer(rowKV);
        const out = ctx.createBuffer(rowQ), all = ctx.createBuffer(q.byteLength);
        const scratch = ctx.createBuffer(decodeScratchBytes(maxT, H, D));
        // Garbage in the unused cache rows must not leak into the result.
        ctx.write(kCache, new Float32Array(maxT * KVH * D).fill(1e3));
        ctx.write(vCache, new Float32Array(maxT * KVH * D).fill(1e3));
        const rec = ctx.recorder();
        attentionForward(ctx, rec, Ofull, lse, Q, K, V, seg, 1, T, H, KVH, D);
        if (prefill > 0) kvCacheAppend(ctx, rec, kCache, vCache, K, V, 0, prefill, maxT, KVH, D);
        for (let t = prefill; t < T; t++) {
          rec.copy(Q, t * rowQ, qTok, 0, rowQ);
          rec.copy(K, t * rowKV, kTok, 0, rowKV);
          rec.copy(V, t * rowKV, vTok, 0, rowKV);
          kvCacheAppend(ctx, rec, kCache, vCache, kTok, vTok, t, 1, maxT, KVH, D);
          attentionDecode(ctx, rec, out, scratch, qTok, kCache, vCache, t, H, KVH, D);
          rec.copy(out, 0, all, t * rowQ, rowQ);
        }
        rec.submit();
        const res = { decoded: await ctx.readF32(all, T * H * D), full: await ctx.readF32(Ofull, T * H * D) };
        for (const b of [Q, K, V, seg, Ofull, lse, kCache, vCache, qTok, kTok, vTok, out, all, scratch]) ctx.destroy(b);
        return res;
      });
      const want = new Float64Array(T * H * D);
      forwardRef(want, new Float64Array(H * T), q, k, v, new Uint32Array(T), 1, T, H, KVH, D);
      const from = prefill * H * D;
      // Same budget as attention_forward: f32 dots and sums over <= 200 keys plus the split-K
      // merge's rescale per chunk; measured worst 1.0e-7 against the reference.
      expectClose(decoded.subarray(from), want.subarray(from), 2e-6, 1e-5, 'decode vs float64 reference');
      expectClose(decoded.subarray(from), full.subarray(from), 2e-6, 1e-5, 'decode vs GPU full attention');
      expect(T - prefill).toBeGreaterThan(0);
    });
  }

  it('refuses to append past the end of the cache', async () => {
    const ctx = await getTestContext();
    const buf = ctx.createBuffer(64);
    const rec = ctx.recorder();
    expect(() => kvCacheAppend(ctx, rec, buf, buf, buf, buf, 3, 2, 4, 1, 4)).toThrow(/outside a cache of 4/);
    ctx.destroy(buf);
  });
});
