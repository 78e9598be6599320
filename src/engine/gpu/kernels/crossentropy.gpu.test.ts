import { describe, it } from 'vitest';
import { crossentropyForward, IGNORE_INDEX } from './crossentropy';
import * as ref from '../../reference/crossentropy';
import { expectClose, randArray, randInt, rng } from '../../../../test/numeric';
import { expectNoGpuError, getTestContext } from '../../../../test/gpu-device';

describe('crossentropy_forward', () => {
  for (const fallback of [false, true]) {
    it.each([
      [1, 1, 7, 0],
      [5, 2, 1000, 3],
      [64, 3, 5003, 70],
      [300, 1, 257, 0],
    ])(`matches float64 over chunks, BT=%i chunks=%i V=%i offset=%i (fallback=${fallback})`, async (BT, chunks, V, pad) => {
      const ctx = await getTestContext({ fallback });
      const r = rng(BT * 31 + V);
      // Rows [pad, pad + BT) of a larger batch, split in `chunks` chunks of rows.
      const total = BT + pad;
      const targets = new Int32Array(total).map(() => (r() < 0.25 ? IGNORE_INDEX : randInt(r, 0, V - 1)));
      targets[pad] = V - 1;
      const logits = Float64Array.from(randArray(r, BT * V, -8, 8), Math.fround);
      logits[0] = 40; // one dominant logit: the max subtraction must keep exp finite
      const counted = Array.from(targets.subarray(pad)).filter((t) => t !== IGNORE_INDEX).length;
      const lossScale = Math.fround(1 / Math.max(1, counted));
      const bounds = Array.from({ length: chunks + 1 }, (_, k) => Math.round((k * BT) / chunks));

      const lossRef = new Float64Array(total);
      const gradRef = Float64Array.from(logits);
      for (let k = 0; k < chunks; k++) {
        const [a, b] = [bounds[k], bounds[k + 1]];
        ref.crossentropyForward(lossRef, gradRef.subarray(a * V, b * V), targets, b - a, V, pad + a, lossScale);
      }
      const evalLoss = new Float64Array(total);
      ref.crossentropyForward(evalLoss, Float64Array.from(logits), targets, BT, V, pad, lossScale, false);

      const got = await expectNoGpuError(ctx, async () => {
        const T = ctx.upload(targets);
        const L = ctx.upload(new Float32Array(total).fill(-1)); // rows before `pad` must stay −1
        const L2 = ctx.upload(new Float32Array(total).fill(-1));
        const chunkBufs = [];
        const rec = ctx.recorder();
        for (let k = 0; k < chunks; k++) {
          const [a, b] = [bounds[k], bounds[k + 1]];
          const buf = ctx.upload(Float32Array.from(logits.subarray(a * V, b * V)));
          chunkBufs.push(buf);
          crossentropyForward(ctx, rec, L, buf, T, b - a, V, pad + a, lossScale);
        }
        const E = ctx.upload(Float32Array.from(logits));
        crossentropyForward(ctx, rec, L2, E, T, BT, V, pad, lossScale, { writeGrad: false });
        rec.submit();
        const grads = new Float32Array(BT * V);
        for (let k = 0; k < chunks; k++) grads.set(await ctx.readF32(chunkBufs[k], (bounds[k + 1] - bounds[k]) * V), bounds[k] * V);
        const res = { losses: await ctx.readF32(L, total), grads, evalLosses: await ctx.readF32(L2, total), evalLogits: await ctx.readF32(E, BT * V) };
        for (const b of [T, L, L2, E, ...chunkBufs]) ctx.destroy(b);
        return res;
      });
      for (let i = 0; i < pad; i++) lossRef[i] = evalLoss[i] = -1;
      // logsumexp in f32 over V ≤ 5003 terms after max subtraction: the sum carries ~V·6e-8
      // relative error at worst, the log turns it into absolute error; losses are O(10).
      expectClose(got.losses, lossRef, 1e-4, 1e-5, 'losses');
      expectClose(got.evalLosses, evalLoss, 1e-4, 1e-5, 'losses (eval, no gradient)');
      expectClose(got.evalLogits, logits, 0, 0, 'eval leaves the logits untouched');
      // dlogits = (p − onehot)·scale with p relative error ~1e-5: atol relative to lossScale.
      expectClose(got.grads, gradRef, 1e-6 * lossScale, 1e-4, 'dlogits');
    });
  }
});
