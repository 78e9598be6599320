import { describe, expect, it } from 'vitest';
import { attentionDecode, decodeScratchBytes, kvCacheAppend } from './decode';
import { attentionForward } from './attention';
import { attentionDecode as decodeRef, attentionForward as forwardRef, kvCacheAppend as appendRef } from '../../reference/attention';
import { expectClose, randArray, rng } from '../../../../test/numeric';
import { type TestDeviceOptions, expectNoGpuError, getTestContext } from '../../../../test/gpu-device';

const devices: TestDeviceOptions[] = [{}, { fallback: true }, { defaultLimits: true }];

interface Case { T: number; H: number; KVH: number; D: number; window?: number; scale?: number }
// T = 130 and 200 span 3 and 4 split-K chunks of 64 keys; T = 64 exactly one full chunk.
const cases: Case[] = [
  { T: 1, H: 4, KVH: 2, D: 8 },
  { T: 5, H: 3, KVH: 1, D: 16 },
  { T: 17, H: 2, KVH: 2, D: 64 },
  { T: 64, H: 4, KVH: 2, D: 16 },
  { T: 65, H: 3, KVH: 1, D: 8 },
  { T: 130, H: 4, KVH: 2, D: 64 },
  { T: 200, H: 2, KVH: 1, D: 128 },
  // Sliding windows: late positions have whole chunks before their window (pos 129, window 50:
  // chunk 0 holds no visible key, chunk 1 some); window 1 sees only the row's own key.
  { T: 130, H: 4, KVH: 2, D: 64, window: 50, scale: 0.3 },
  { T: 200, H: 2, KVH: 1, D: 128, window: 64 },
  { T: 65, H: 3, KVH: 1, D: 8, window: 1 },
];

describe('KV cache + one-token decode attention', () => {
  for (const device of devices) {
    it.each(cases)(`T=$T H=$H KVH=$KVH D=$D window=$window scale=$scale equals the rows of full attention (device ${JSON.stringify(device)})`, async ({ T, H, KVH, D, window, scale }) => {
      const opts = { window, scale };
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
        const scratch = ctx.createBuffer(decodeScratchBytes(1, maxT, H, D));
        const rows = ctx.upload(Uint32Array.from({ length: T }, (_, t) => t)), row = ctx.createBuffer(4);
        // Garbage in the unused cache rows must not leak into the result.
        ctx.write(kCache, new Float32Array(maxT * KVH * D).fill(1e3));
        ctx.write(vCache, new Float32Array(maxT * KVH * D).fill(1e3));
        const rec = ctx.recorder();
        attentionForward(ctx, rec, Ofull, lse, Q, K, V, seg, 1, T, H, KVH, D, opts);
        if (prefill > 0) kvCacheAppend(ctx, rec, kCache, vCache, K, V, rows, prefill, maxT, KVH, D);
        for (let t = prefill; t < T; t++) {
          rec.copy(Q, t * rowQ, qTok, 0, rowQ);
          rec.copy(K, t * rowKV, kTok, 0, rowKV);
          rec.copy(V, t * rowKV, vTok, 0, rowKV);
          rec.copy(rows, t * 4, row, 0, 4);
          kvCacheAppend(ctx, rec, kCache, vCache, kTok, vTok, row, 1, maxT, KVH, D);
          attentionDecode(ctx, rec, out, scratch, qTok, kCache, vCache, row, 1, t, maxT, H, KVH, D, opts);
          rec.copy(out, 0, all, t * rowQ, rowQ);
        }
        rec.submit();
        const res = { decoded: await ctx.readF32(all, T * H * D), full: await ctx.readF32(Ofull, T * H * D) };
        for (const b of [rows, row, Q, K, V, seg, Ofull, lse, kCache, vCache, qTok, kTok, vTok, out, all, scratch]) ctx.destroy(b);
        return res;
      });
      const want = new Float64Array(T * H * D);
      forwardRef(want, new Float64Array(H * T), q, k, v, new Uint32Array(T), 1, T, H, KVH, D, opts);
      const from = prefill * H * D;
      // Same budget as attention_forward: f32 dots and sums over <= 200 keys plus the split-K
      // merge's rescale per chunk; measured worst 1.0e-7 against the reference.
      expectClose(decoded.subarray(from), want.subarray(from), 2e-6, 1e-5, 'decode vs float64 reference');
      expectClose(decoded.subarray(from), full.subarray(from), 2e-6, 1e-5, 'decode vs GPU full attention');
      expect(T - prefill).toBeGreaterThan(0);
    });
  }

  // Rows of different lengths decoded in one dispatch; 130 keys span 3 chunks while the
  // other rows have 1 or 2 (their extra chunks must add nothing), row 1 is at position 0.
  for (const [device, window] of devices.flatMap((d) => [[d, undefined], [d, 40]] as const)) {
    it(`batched rows equal the float64 reference and one-row decode bit for bit, window=${window} (device ${JSON.stringify(device)})`, async () => {
      const ctx = await getTestContext(device);
      const [H, KVH, D, maxT] = [4, 2, 24, 140];
      const pos = [70, 0, 129, 5];
      const n = pos.length;
      const r = rng(97);
      const row = KVH * D;
      const k = Float32Array.from(randArray(r, n * maxT * row));
      const v = Float32Array.from(randArray(r, n * maxT * row));
      const q = Float32Array.from(randArray(r, n * H * D));
      const cacheRows = Uint32Array.from(pos, (p, i) => i * maxT + p);
      const { batched, single, cache } = await expectNoGpuError(ctx, async () => {
        // Whole sequences written by one scatter (row b·maxT + t), including rows past each pos (garbage never read).
        const K = ctx.upload(k), V = ctx.upload(v), Q = ctx.upload(q), rowsAll = ctx.upload(Uint32Array.from({ length: n * maxT }, (_, i) => i));
        const R = ctx.upload(cacheRows);
        const kCache = ctx.createBuffer(k.byteLength), vCache = ctx.createBuffer(v.byteLength);
        const out = ctx.createBuffer(q.byteLength), one = ctx.createBuffer(q.byteLength), qTok = ctx.createBuffer(H * D * 4), oTok = ctx.createBuffer(H * D * 4), rTok = ctx.createBuffer(4);
        const scratch = ctx.createBuffer(decodeScratchBytes(n, maxT, H, D));
        const rec = ctx.recorder();
        kvCacheAppend(ctx, rec, kCache, vCache, K, V, rowsAll, n * maxT, n * maxT, KVH, D);
        attentionDecode(ctx, rec, out, scratch, Q, kCache, vCache, R, n, Math.max(...pos), maxT, H, KVH, D, { window });
        for (let i = 0; i < n; i++) {
          rec.copy(Q, i * H * D * 4, qTok, 0, H * D * 4);
          rec.copy(R, i * 4, rTok, 0, 4);
          attentionDecode(ctx, rec, oTok, scratch, qTok, kCache, vCache, rTok, 1, pos[i], maxT, H, KVH, D, { window });
          rec.copy(oTok, 0, one, i * H * D * 4, H * D * 4);
        }
        rec.submit();
        const res = { batched: await ctx.readF32(out), single: await ctx.readF32(one), cache: await ctx.readF32(kCache) };
        for (const b of [K, V, Q, rowsAll, R, kCache, vCache, out, one, qTok, oTok, rTok, scratch]) ctx.destroy(b);
        return res;
      });
      expect(Array.from(cache)).toEqual(Array.from(k));
      const kc = new Float64Array(n * maxT * row), vc = new Float64Array(n * maxT * row);
      appendRef(kc, vc, k, v, Array.from({ length: n * maxT }, (_, i) => i), n * maxT, KVH, D);
      const want = new Float64Array(n * H * D);
      decodeRef(want, q, kc, vc, cacheRows, n, maxT, H, KVH, D, { window });
      expectClose(batched, want, 2e-6, 1e-5, 'batched decode vs float64 reference');
      expect(Array.from(batched)).toEqual(Array.from(single));
    });
  }

  it('skips rows outside the cache', async () => {
    const ctx = await getTestContext();
    const [KVH, D] = [1, 4];
    const { got } = await expectNoGpuError(ctx, async () => {
      const kc = ctx.upload(new Float32Array(2 * D).fill(7)), vc = ctx.upload(new Float32Array(2 * D).fill(7));
      const k = ctx.upload(Float32Array.from({ length: 2 * D }, (_, i) => i)), rows = ctx.upload(new Uint32Array([1, 2]));
      const rec = ctx.recorder();
      kvCacheAppend(ctx, rec, kc, vc, k, k, rows, 2, 2, KVH, D);
      rec.submit();
      const res = { got: await ctx.readF32(kc) };
      for (const b of [kc, vc, k, rows]) ctx.destroy(b);
      return res;
    });
    expect(Array.from(got)).toEqual([7, 7, 7, 7, 0, 1, 2, 3]);
  });
});
