import { describe, expect, it } from 'vitest';
import { attentionBackward, attentionDecode, attentionForward, kvCacheAppend } from './attention';
import { expectClose, randArray, rng } from '../../../test/numeric';
import { checkGradients } from '../../../test/finite-diff';

describe('attention reference', () => {
  it.each([
    { B: 1, T: 1, H: 2, KVH: 2, D: 3, seg: [0] },
    { B: 1, T: 5, H: 4, KVH: 2, D: 3, seg: [0, 0, 0, 0, 0] },
    { B: 2, T: 4, H: 3, KVH: 1, D: 2, seg: [0, 0, 1, 1, 5, 5, 5, 9] }, // packed + a pad token
  ])('backward matches finite differences %o', ({ B, T, H, KVH, D, seg }) => {
    const r = rng(B * 100 + T * 10 + H);
    const q = randArray(r, B * T * H * D);
    const k = randArray(r, B * T * KVH * D);
    const v = randArray(r, B * T * KVH * D);
    const w = randArray(r, B * T * H * D); // L = Σ w·out, so dout = w
    const segIds = Uint32Array.from(seg);
    const out = new Float64Array(B * T * H * D);
    const lse = new Float64Array(B * H * T);
    const loss = () => {
      const o = new Float64Array(B * T * H * D);
      attentionForward(o, new Float64Array(B * H * T), q, k, v, segIds, B, T, H, KVH, D);
      return o.reduce((s, x, i) => s + x * w[i], 0);
    };
    attentionForward(out, lse, q, k, v, segIds, B, T, H, KVH, D);
    const dq = new Float64Array(q.length);
    const dk = new Float64Array(k.length);
    const dv = new Float64Array(v.length);
    attentionBackward(dq, dk, dv, w, q, k, v, out, lse, segIds, B, T, H, KVH, D);
    checkGradients({ q, k, v }, loss, { q: dq, k: dk, v: dv }, { maxProbe: 200 });
  });

  it('segments are independent: a packed row equals each sequence run alone', () => {
    const r = rng(7);
    const H = 2, KVH = 1, D = 4;
    const lens = [3, 2, 4];
    const T = 9;
    const q = randArray(r, T * H * D);
    const k = randArray(r, T * KVH * D);
    const v = randArray(r, T * KVH * D);
    const seg = Uint32Array.from([4, 4, 4, 8, 8, 2, 2, 2, 2]);
    const out = new Float64Array(T * H * D);
    attentionForward(out, new Float64Array(H * T), q, k, v, seg, 1, T, H, KVH, D);
    let start = 0;
    for (const n of lens) {
      const o = new Float64Array(n * H * D);
      attentionForward(
        o, new Float64Array(H * n),
        q.subarray(start * H * D, (start + n) * H * D),
        k.subarray(start * KVH * D, (start + n) * KVH * D),
        v.subarray(start * KVH * D, (start + n) * KVH * D),
        new Uint32Array(n), 1, n, H, KVH, D,
      );
      expectClose(out.subarray(start * H * D, (start + n) * H * D), o, 1e-14, 1e-12, `segment at ${start}`);
      start += n;
    }
    expect(start).toBe(T);
  });

  it('decode over a cache equals the last row of full attention', () => {
    const r = rng(11);
    const T = 6, H = 4, KVH = 2, D = 5;
    const q = randArray(r, T * H * D);
    const k = randArray(r, T * KVH * D);
    const v = randArray(r, T * KVH * D);
    const full = new Float64Array(T * H * D);
    attentionForward(full, new Float64Array(H * T), q, k, v, new Uint32Array(T), 1, T, H, KVH, D);
    const kc = new Float64Array(10 * KVH * D);
    const vc = new Float64Array(10 * KVH * D);
    kvCacheAppend(kc, vc, k.subarray(0, 4 * KVH * D), v.subarray(0, 4 * KVH * D), [0, 1, 2, 3], 4, KVH, D);
    for (let t = 4; t < T; t++) {
      kvCacheAppend(kc, vc, k.subarray(t * KVH * D, (t + 1) * KVH * D), v.subarray(t * KVH * D, (t + 1) * KVH * D), [t], 1, KVH, D);
      const o = new Float64Array(H * D);
      attentionDecode(o, q.subarray(t * H * D, (t + 1) * H * D), kc, vc, [t], 1, 10, H, KVH, D);
      expectClose(o, full.subarray(t * H * D, (t + 1) * H * D), 1e-14, 1e-12, `decode t=${t}`);
    }
  });

  it('batched decode: each row reads only its own sequence of the cache', () => {
    const r = rng(12);
    const H = 4, KVH = 2, D = 3, maxT = 8;
    const lens = [5, 2, 7]; // row i decodes position lens[i] - 1 of sequence i
    const kc = new Float64Array(lens.length * maxT * KVH * D);
    const vc = new Float64Array(lens.length * maxT * KVH * D);
    const q = randArray(r, lens.length * H * D);
    const want = new Float64Array(lens.length * H * D);
    lens.forEach((T, i) => {
      const k = randArray(r, T * KVH * D);
      const v = randArray(r, T * KVH * D);
      kvCacheAppend(kc, vc, k, v, Array.from({ length: T }, (_, t) => i * maxT + t), T, KVH, D);
      const qs = new Float64Array(T * H * D);
      qs.set(q.subarray(i * H * D, (i + 1) * H * D), (T - 1) * H * D);
      const full = new Float64Array(T * H * D);
      attentionForward(full, new Float64Array(H * T), qs, k, v, new Uint32Array(T), 1, T, H, KVH, D);
      want.set(full.subarray((T - 1) * H * D), i * H * D);
    });
    const o = new Float64Array(lens.length * H * D);
    attentionDecode(o, q, kc, vc, lens.map((T, i) => i * maxT + T - 1), lens.length, maxT, H, KVH, D);
    expectClose(o, want, 1e-14, 1e-12, 'batched decode');
  });
});

describe('segment id contract', () => {
  it('accepts contiguous runs with distinct ids and rejects a reused id', async () => {
    const { checkSegmentIds } = await import('./attention');
    expect(() => checkSegmentIds([0, 0, 1, 1, 9, 9, 2, 2], 2, 4)).not.toThrow(); // ids may repeat across rows
    expect(() => checkSegmentIds([0, 0, 1, 0], 1, 4)).toThrow(/reappears at t=3/);
  });
});
