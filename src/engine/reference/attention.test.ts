import { describe, expect, it } from 'vitest';
import { attentionBackward, attentionDecode, attentionForward, kvCacheAppend } from './attention';
import { expectClose, randArray, rng } from '../../../test/numeric';
import { checkGradients } from '../../../test/finite-diff';

/** Random q [T, H, D], k, v [T, KVH, D]. */
function randQkv(r: () => number, T: number, H: number, KVH: number, D: number) {
  return { q: randArray(r, T * H * D), k: randArray(r, T * KVH * D), v: randArray(r, T * KVH * D) };
}

describe('attention reference', () => {
  it.each([
    { B: 1, T: 1, H: 2, KVH: 2, D: 3, seg: [0] },
    { B: 1, T: 5, H: 4, KVH: 2, D: 3, seg: [0, 0, 0, 0, 0] },
    { B: 2, T: 4, H: 3, KVH: 1, D: 2, seg: [0, 0, 1, 1, 5, 5, 5, 9] }, // packed + a pad token
    { B: 1, T: 7, H: 4, KVH: 2, D: 3, seg: [0, 0, 0, 0, 0, 0, 0], window: 3, scale: 0.3 }, // sliding window, scale given
    { B: 2, T: 6, H: 2, KVH: 1, D: 2, seg: [1, 1, 1, 1, 2, 2, 3, 3, 3, 3, 3, 4], window: 2 }, // window within packed segments
  ])('backward matches finite differences %o', ({ B, T, H, KVH, D, seg, ...opts }) => {
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
      attentionForward(o, new Float64Array(B * H * T), q, k, v, segIds, B, T, H, KVH, D, opts);
      return o.reduce((s, x, i) => s + x * w[i], 0);
    };
    attentionForward(out, lse, q, k, v, segIds, B, T, H, KVH, D, opts);
    const dq = new Float64Array(q.length);
    const dk = new Float64Array(k.length);
    const dv = new Float64Array(v.length);
    attentionBackward(dq, dk, dv, w, q, k, v, out, lse, segIds, B, T, H, KVH, D, opts);
    checkGradients({ q, k, v }, loss, { q: dq, k: dk, v: dv }, { maxProbe: 200 });
  });

  it('segments are independent: a packed row equals each sequence run alone', () => {
    const r = rng(7);
    const H = 2, KVH = 1, D = 4;
    const lens = [3, 2, 4];
    const T = 9;
    const { q, k, v } = randQkv(r, T, H, KVH, D);
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
    const { q, k, v } = randQkv(r, T, H, KVH, D);
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

  it('a sliding window of W: query t attends to keys t-W+1..t only (W = 1: its own value; W >= T: full attention)', () => {
    const r = rng(13);
    const T = 9, H = 2, KVH = 1, D = 4;
    const { q, k, v } = randQkv(r, T, H, KVH, D);
    const seg = new Uint32Array(T);
    const run = (opts: { window?: number }) => {
      const o = new Float64Array(T * H * D);
      attentionForward(o, new Float64Array(H * T), q, k, v, seg, 1, T, H, KVH, D, opts);
      return o;
    };
    const own = new Float64Array(T * H * D);
    for (let t = 0; t < T; t++) for (let h = 0; h < H; h++) own.set(v.subarray(t * D, (t + 1) * D), (t * H + h) * D);
    expectClose(run({ window: 1 }), own, 1e-15, 0, 'window 1');
    expectClose(run({ window: T }), run({}), 0, 0, 'window T');
    // Window 3: row t equals full attention over the slice of its last three tokens (as its last row).
    const w3 = run({ window: 3 });
    for (let t = 0; t < T; t++) {
      const s0 = Math.max(0, t - 2), n = t - s0 + 1;
      const o = new Float64Array(n * H * D);
      attentionForward(o, new Float64Array(H * n), q.subarray(s0 * H * D, (t + 1) * H * D), k.subarray(s0 * D, (t + 1) * D), v.subarray(s0 * D, (t + 1) * D), new Uint32Array(n), 1, n, H, KVH, D);
      expectClose(w3.subarray(t * H * D, (t + 1) * H * D), o.subarray((n - 1) * H * D), 1e-14, 1e-12, `window 3, t=${t}`);
    }
    expect(() => run({ window: 0 })).toThrow(/sliding window 0/);
    expect(() => run({ window: 2.5 })).toThrow(/sliding window 2.5/);
  });

  it('decode with a sliding window equals the windowed forward, scale included', () => {
    const r = rng(14);
    const T = 7, H = 2, KVH = 2, D = 3, maxT = 8;
    const opts = { window: 3, scale: 0.7 };
    const { q, k, v } = randQkv(r, T, H, KVH, D);
    const full = new Float64Array(T * H * D);
    attentionForward(full, new Float64Array(H * T), q, k, v, new Uint32Array(T), 1, T, H, KVH, D, opts);
    const kc = new Float64Array(maxT * KVH * D);
    const vc = new Float64Array(maxT * KVH * D);
    kvCacheAppend(kc, vc, k, v, Array.from({ length: T }, (_, t) => t), T, KVH, D);
    const o = new Float64Array(T * H * D);
    attentionDecode(o, q, kc, vc, Array.from({ length: T }, (_, t) => t), T, maxT, H, KVH, D, opts);
    expectClose(o, full, 1e-14, 1e-12, 'windowed decode');
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
