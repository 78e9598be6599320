import { describe, expect, it } from 'vitest';
import { createSampleScratch, sampleArgmax, sampleTopKTopP } from './sample';
import { sampleArgmax as argmaxRef, sampleTopKTopP as sampleRef } from '../../reference/sample';
import { randArray, rng } from '../../../../test/numeric';
import { type TestDeviceOptions, expectNoGpuError, getTestContext } from '../../../../test/gpu-device';

const devices: TestDeviceOptions[] = [{}, { fallback: true }, { defaultLimits: true }];
import type { GpuContext } from '../context';

interface Draw { temperature: number; topK: number; topP: number; u: number }

/** Runs several selections over the same logits in one submit; returns [token, f32 extra] per call. */
async function runGpu(ctx: GpuContext, logits: Float32Array, draws: (Draw | 'argmax')[]): Promise<{ token: number; extra: number }[]> {
  const V = logits.length;
  return expectNoGpuError(ctx, async () => {
    const L = ctx.upload(logits);
    const scratch = createSampleScratch(ctx, V);
    const tok = ctx.createBuffer(8);
    const all = ctx.createBuffer(8 * draws.length);
    const rec = ctx.recorder();
    draws.forEach((d, i) => {
      if (d === 'argmax') sampleArgmax(ctx, rec, tok, scratch, L, V);
      else sampleTopKTopP(ctx, rec, tok, scratch, L, V, d.temperature, d.topK, d.topP, d.u);
      rec.copy(tok, 0, all, 8 * i, 8);
    });
    rec.submit();
    const bytes = await ctx.read(all, 8 * draws.length);
    for (const b of [L, scratch.a, scratch.b, tok, all]) ctx.destroy(b);
    const u32 = new Uint32Array(bytes);
    const f32 = new Float32Array(bytes);
    return draws.map((_, i) => ({ token: u32[2 * i], extra: f32[2 * i + 1] }));
  });
}

function ref(logits: Float32Array, d: Draw): { token: number; prob: number } {
  const out = new Uint32Array(2);
  sampleRef(out, logits, logits.length, d.temperature, d.topK, d.topP, d.u);
  return { token: out[0], prob: new Float32Array(out.buffer)[1] };
}

/** A u whose choice, and whose top-p cut, do not change under ±1e-4 perturbations (no near-ties in float64). */
function robustDraw(logits: Float32Array, r: () => number, base: Omit<Draw, 'u'>): Draw {
  for (;;) {
    const d = { ...base, u: r() };
    const t = ref(logits, d).token;
    const near = [
      { ...d, u: Math.max(0, d.u - 1e-4) }, { ...d, u: Math.min(0.9999999, d.u + 1e-4) },
      { ...d, topP: d.topP - 1e-4 }, { ...d, topP: Math.min(1, d.topP + 1e-4) },
    ];
    if (near.every((n) => ref(logits, n).token === t)) return d;
  }
}

// V from a single element to Qwen2.5's 151936, with sizes around the 1024-entry chunks.
const Vs = [1, 7, 300, 1024, 1025, 5000, 49152, 151936];

describe('GPU sampling vs float64 reference', () => {
  for (const device of devices) {
    it.each(Vs)(`argmax is exact, V=%i (device ${JSON.stringify(device)})`, async (V) => {
      const ctx = await getTestContext(device);
      const r = rng(V);
      const cases: Float32Array[] = [Float32Array.from(randArray(r, V, -20, 20))];
      const tied = Float32Array.from(randArray(r, V, -20, 20));
      const hi = Math.floor(r() * V), lo = Math.floor(r() * (hi + 1));
      tied[hi] = 50;
      tied[lo] = 50; // equal maxima: the lower index wins
      const last = Float32Array.from(randArray(r, V, -20, 20));
      last[V - 1] = 30; // maximum in the last, partial chunk
      cases.push(tied, last);
      for (const logits of cases) {
        const [got] = await runGpu(ctx, logits, ['argmax']);
        const want = new Uint32Array(2);
        argmaxRef(want, logits, V);
        expect(got.token).toBe(want[0]);
        expect(got.extra).toBe(new Float32Array(want.buffer)[1]);
      }
    });

    it.each(Vs)(`temperature + top-k + top-p picks the reference token, V=%i (device ${JSON.stringify(device)})`, async (V) => {
      const ctx = await getTestContext(device);
      const r = rng(V + 17);
      // Continuous random logits: near-ties have probability ~0 and robustDraw avoids
      // u values and top-p cuts within 1e-4 of a boundary.
      const logits = Float32Array.from(randArray(r, V, -8, 8));
      const bases: Omit<Draw, 'u'>[] = [
        { temperature: 1, topK: 50, topP: 0.9 },
        { temperature: 0.7, topK: 256, topP: 1 },
        { temperature: 1.3, topK: 0, topP: 0.95 }, // topK 0 = 256
        { temperature: 0.5, topK: 1, topP: 1 }, // top-1: the argmax whatever u is
        { temperature: 2, topK: 7, topP: 0.3 },
        { temperature: 0, topK: 40, topP: 0.9 }, // greedy
        { temperature: 1e-4, topK: 40, topP: 0.9 }, // tiny temperature: all mass on the argmax
      ];
      const draws = bases.flatMap((b) => [robustDraw(logits, r, b), robustDraw(logits, r, b)]);
      const got = await runGpu(ctx, logits, draws);
      const argmax = new Uint32Array(2);
      argmaxRef(argmax, logits, V);
      draws.forEach((d, i) => {
        const want = ref(logits, d);
        expect(got[i].token, `draw ${JSON.stringify(d)}`).toBe(want.token);
        if (d.temperature >= 1e-6) {
          // f32 exp and sums over <= 256 weights in [0, 1]: ~1e-6 relative; 1e-5 leaves room.
          expect(Math.abs(got[i].extra - want.prob), `prob of draw ${JSON.stringify(d)}`).toBeLessThan(1e-5 + 1e-5 * want.prob);
        }
        if (d.topK === 1 || d.temperature <= 1e-4) expect(got[i].token).toBe(argmax[0]);
      });
    });
  }

  it('follows the tempered top-k distribution over many uniform draws', async () => {
    const ctx = await getTestContext();
    const V = 3000;
    const r = rng(5);
    const logits = Float32Array.from(randArray(r, V, -3, 3));
    const N = 200;
    const draws: Draw[] = Array.from({ length: N }, (_, i) => ({ temperature: 0.8, topK: 5, topP: 1, u: (i + 0.5) / N }));
    const got = await runGpu(ctx, logits, draws);
    // Each u maps to exactly the reference token (a deterministic inverse-CDF), so the
    // histogram is the tempered top-5 distribution quantised to 1/N.
    const wantTokens = draws.map((d) => ref(logits, d).token);
    expect(got.map((g) => g.token)).toEqual(wantTokens);
    expect(new Set(wantTokens).size).toBe(5);
  });
});
