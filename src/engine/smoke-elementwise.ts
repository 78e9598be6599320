// Kernel smoke checks for the element-wise, normalization, loss and optimizer kernels: each
// once on a small random problem against its float64 reference, in whatever browser runs the
// app (registered in smoke.ts). Tolerances as in the kernels' GPU tests.
import type { SmokeCheck } from './smoke';
import { concat, randF32, runOnce } from './smoke-util';
import { rmsnormBackward, rmsnormForward } from './gpu/kernels/rmsnorm';
import { ropeBackward, ropeForward, ropeInvFreq } from './gpu/kernels/rope';
import { type GatedActivation, swigluBackward, swigluBackwardInPlace, swigluForward } from './gpu/kernels/swiglu';
import { embeddingForward } from './gpu/kernels/embedding';
import { crossentropyForward } from './gpu/kernels/crossentropy';
import { preferenceWeights, type PreferenceObjective } from './gpu/kernels/preference';
import { globalGradNorm, gradNormPartialCount, reduceSum } from './gpu/kernels/norm';
import { adamwUpdate } from './gpu/kernels/adamw';
import { residualBackward } from './gpu/kernels/residual';
import { castF32ToF16, castToF32 } from './gpu/kernels/cast';
import { bf16BitsToNumber, f16BitsToNumber, float32ToBf16Bits, float32ToF16Bits } from './model/dtype';
import * as rmsRef from './reference/rmsnorm';
import * as ropeRef from './reference/rope';
import * as swiRef from './reference/swiglu';
import * as embRef from './reference/embedding';
import * as ceRef from './reference/crossentropy';
import * as prefRef from './reference/preference';
import * as normRef from './reference/norm';
import * as adamRef from './reference/adamw';
import * as resRef from './reference/residual';

/** The gated MLP activation (`act`: SwiGLU or Gemma's GeGLU) forward and accumulating backward. */
function gatedCheck(kernel: string, act: GatedActivation): SmokeCheck {
  return {
    kernel,
    atol: 1e-6,
    rtol: 1e-5,
    async run(ctx, rand) {
      const N = 1000;
      const [g, u, d, dg0, du0] = [randF32(rand, N, 20), randF32(rand, N), randF32(rand, N), randF32(rand, N), randF32(rand, N)];
      const out = new Float64Array(N);
      swiRef.swigluForward(out, g, u, N, act);
      const [dg, du] = [Float64Array.from(dg0), Float64Array.from(du0)];
      swiRef.swigluBackward(dg, du, d, g, u, N, act);
      const got = await runOnce(ctx, [g, u, d, dg0, du0].map((a) => Float32Array.from(a)), [N], (rec, [G, U, DO, DG, DU, O]) => {
        swigluForward(ctx, rec, O, G, U, N, { activation: act });
        swigluBackward(ctx, rec, DG, DU, DO, G, U, N, { activation: act });
      }, [[5, N], [3, N], [4, N]]);
      return { got, want: concat(out, dg, du) };
    },
  };
}

/** The gated MLP backward written over gate and up (training's MLP backward), GeGLU: the fuller formula. */
const gatedInPlaceCheck: SmokeCheck = {
  kernel: 'swiglu_backward_inplace (GeGLU: gelu_tanh)',
  atol: 1e-6,
  rtol: 1e-5,
  async run(ctx, rand) {
    const N = 1000;
    const [g, u, d] = [randF32(rand, N, 20), randF32(rand, N), randF32(rand, N)];
    const [dg, du] = [new Float64Array(N), new Float64Array(N)];
    swiRef.swigluBackward(dg, du, d, g, u, N, 'gelu_tanh');
    const got = await runOnce(ctx, [g, u, d].map((a) => Float32Array.from(a)), [], (rec, [G, U, DO]) => {
      swigluBackwardInPlace(ctx, rec, G, U, DO, N, { activation: 'gelu_tanh' });
    }, [[0, N], [1, N]]);
    return { got, want: concat(dg, du) };
  },
};

export const elementwiseSmokeChecks: SmokeCheck[] = [
  {
    kernel: 'rmsnorm_forward+backward',
    atol: 2e-5,
    rtol: 1e-5,
    async run(ctx, rand) {
      const [BT, C] = [5, 577];
      const [x, w, dout, d0] = [randF32(rand, BT * C, 4), randF32(rand, C), randF32(rand, BT * C), randF32(rand, BT * C)];
      const out = new Float64Array(BT * C);
      const rstd = new Float64Array(BT);
      rmsRef.rmsnormForward(out, rstd, x, w, BT, C, 1e-5);
      const dinp = Float64Array.from(d0);
      rmsRef.rmsnormBackward(dinp, dout, x, w, rstd, BT, C);
      const got = await runOnce(ctx, [x, w, dout, d0].map((a) => Float32Array.from(a)), [BT * C, BT], (rec, [X, W, DO, DI, O, R]) => {
        rmsnormForward(ctx, rec, O, R, X, W, BT, C, 1e-5);
        rmsnormBackward(ctx, rec, DI, DO, X, W, R, BT, C);
      }, [[4, BT * C], [5, BT], [3, BT * C]]);
      return { got, want: concat(out, rstd, dinp) };
    },
  },
  {
    kernel: 'rope_forward+backward',
    atol: 5e-6,
    rtol: 1e-5,
    async run(ctx, rand) {
      const [BT, NH, D] = [9, 3, 64];
      const x = randF32(rand, BT * NH * D);
      const pos = Uint32Array.from({ length: BT }, (_, i) => (i < 5 ? i : 3000 + i));
      const inv = ropeInvFreq(D, 500000, { factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 });
      const fwd = new Float64Array(x.length);
      ropeRef.ropeForward(fwd, x, inv, pos, BT, NH, D);
      const bwd = new Float64Array(x.length);
      ropeRef.ropeBackward(bwd, x, inv, pos, BT, NH, D);
      const got = await runOnce(ctx, [Float32Array.from(x), Float32Array.from(x), inv, pos], [], (rec, [X1, X2, F, P]) => {
        ropeForward(ctx, rec, X1, X1, F, P, BT, NH, D);
        ropeBackward(ctx, rec, X2, X2, F, P, BT, NH, D);
      }, [[0, x.length], [1, x.length]]);
      return { got, want: concat(fwd, bwd) };
    },
  },
  gatedCheck('swiglu_forward+backward', 'silu'),
  gatedCheck('swiglu_forward+backward (GeGLU: gelu_tanh)', 'gelu_tanh'),
  gatedInPlaceCheck,
  {
    kernel: 'embedding_forward (range split)',
    atol: 0,
    rtol: 0,
    async run(ctx, rand) {
      const [BT, C, V] = [40, 13, 700];
      const table = randF32(rand, V * C);
      const ids = Uint32Array.from({ length: BT }, () => Math.floor((rand() + 0.5) * V) % V);
      const want = new Float64Array(BT * C);
      embRef.embeddingForward(want, ids, table, BT, C, V);
      const got = await runOnce(ctx, [Float32Array.from(table), ids], [BT * C], (rec, [W, I, O]) => {
        embeddingForward(ctx, rec, O, I, W, BT, C, V, { maxBindingBytes: 8192 });
      }, [[2, BT * C]]);
      return { got, want };
    },
  },
  {
    kernel: 'crossentropy_forward+reduce_sum',
    atol: 1e-4,
    rtol: 1e-4,
    async run(ctx, rand) {
      const [BT, V] = [6, 1003];
      const targets = Int32Array.from([5, -100, 1002, 0, 77, 500]);
      const logits = randF32(rand, BT * V, 16);
      const scale = Math.fround(1 / 5);
      const losses = new Float64Array(BT);
      const grad = Float64Array.from(logits);
      ceRef.crossentropyForward(losses, grad, targets, BT, V, 0, scale);
      const total = new Float64Array(1);
      normRef.reduceSum(total, losses, BT, 0, scale);
      // dlogits are O(scale): compare them ×1000 so the shared tolerance fits both outputs.
      const got = await runOnce(ctx, [targets, Float32Array.from(logits)], [BT, 1], (rec, [T, L, LS, S]) => {
        crossentropyForward(ctx, rec, LS, L, T, BT, V, 0, scale);
        reduceSum(ctx, rec, S, LS, BT, { scale });
      }, [[2, BT], [3, 1], [1, BT * V]]);
      for (let i = BT + 1; i < got.length; i++) got[i] *= 1000;
      return { got, want: concat(losses, total, grad.map((g) => g * 1000)) };
    },
  },
  {
    kernel: 'preference_weights+crossentropy_forward (row weights)',
    atol: 1e-4,
    rtol: 1e-4,
    async run(ctx, rand) {
      // Two pairs (rows 0..3) of T = 5 over V = 301, as a DPO and an ORPO step records them:
      // per-row losses, the objective's per-sequence weights and stats, then dlogits with those weights.
      const [B, T, V] = [4, 5, 301];
      const BT = B * T;
      const targets = Int32Array.from({ length: BT }, (_, i) => (i % T < 2 ? -100 : Math.floor(rand() * V) % V));
      const logits = randF32(rand, BT * V, 8);
      const refLogps = Float32Array.from({ length: B }, () => Math.fround(-10 - 10 * rand()));
      const scales = { invPairs: 1 / 2, invChosenTokens: 1 / 6, accumulate: false };
      const outs: Float32Array[] = [];
      const wants: Float64Array[] = [];
      const objectives: PreferenceObjective[] = [{ kind: 'dpo', beta: 0.5, labelSmoothing: 0.1 }, { kind: 'orpo', lambda: 0.7 }];
      for (const objective of objectives) {
        const [losses, weights, logps, stats] = [new Float64Array(BT), new Float64Array(B), new Float64Array(B), new Float64Array(8)];
        const grad = Float64Array.from(logits);
        ceRef.crossentropyForward(losses, grad, targets, BT, V, 0, 1, false);
        prefRef.preferenceWeights(weights, logps, stats, losses, targets, refLogps, B, T, objective, scales);
        ceRef.crossentropyForward(new Float64Array(BT), grad, targets, BT, V, 0, 1, true, { weights, rowsPerWeight: T });
        outs.push(
          await runOnce(ctx, [targets, Float32Array.from(logits), refLogps], [BT, B, B, 8], (rec, [Tg, L, R, LS, W, LP, S]) => {
            crossentropyForward(ctx, rec, LS, L, Tg, BT, V, 0, 1, { writeGrad: false });
            preferenceWeights(ctx, rec, W, LP, S, LS, Tg, R, B, T, objective, scales);
            crossentropyForward(ctx, rec, LS, L, Tg, BT, V, 0, 1, { rowWeights: { binding: W, rowsPerWeight: T } });
          }, [[5, B], [6, 8], [4, B], [1, BT * V]]),
        );
        wants.push(concat(logps, stats, weights, grad));
      }
      return { got: Float32Array.from(outs.flatMap((o) => Array.from(o))), want: concat(...wants) };
    },
  },
  {
    kernel: 'global_norm+adamw',
    atol: 1e-6,
    rtol: 1e-5,
    async run(ctx, rand) {
      const [n1, n2] = [700, 3001];
      const [g1, g2, p0] = [randF32(rand, n1, 0.2), randF32(rand, n2, 0.2), randF32(rand, n1)];
      const stats = new Float64Array(4);
      normRef.globalGradNorm(stats, [g1, g2], 1);
      const hp = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, t: 1 };
      const [p, m, v] = [Float64Array.from(p0), new Float64Array(n1), new Float64Array(n1)];
      adamRef.adamwUpdate(p, m, v, g1, stats, n1, hp);
      const got = await runOnce(ctx, [g1, g2, p0].map((a) => Float32Array.from(a)), [4, gradNormPartialCount([n1, n2]), n1, n1], (rec, [G1, G2, P, S, PART, M, Vb]) => {
        rec.clear(M);
        rec.clear(Vb);
        globalGradNorm(ctx, rec, S, PART, [{ binding: G1, n: n1 }, { binding: G2, n: n2 }], 1);
        adamwUpdate(ctx, rec, P, M, Vb, G1, S, n1, hp);
      }, [[3, 4], [2, n1]]);
      return { got, want: concat(stats, p) };
    },
  },
  {
    kernel: 'residual_backward',
    atol: 1e-6,
    rtol: 1e-6,
    async run(ctx, rand) {
      const N = 999;
      const [a, b, d] = [randF32(rand, N), randF32(rand, N), randF32(rand, N)];
      const [wa, wb] = [Float64Array.from(a), Float64Array.from(b)];
      resRef.residualBackward(wa, wb, d, N);
      const got = await runOnce(ctx, [a, b, d].map((x) => Float32Array.from(x)), [], (rec, [A, B, D]) => residualBackward(ctx, rec, A, B, D, N), [[0, N], [1, N]]);
      return { got, want: concat(wa, wb) };
    },
  },
  {
    kernel: 'cast (bf16/f16 to f32, f32 to f16)',
    atol: 1e-7,
    rtol: 2 ** -10, // f32 → f16 may round to either neighbouring half; the widenings are exact
    async run(ctx, rand) {
      const N = 1001;
      const x = randF32(rand, N, 100);
      const [bf, hf] = [float32ToBf16Bits(x), float32ToF16Bits(x)];
      const pad = (h: Uint16Array) => Uint16Array.from({ length: N + 1 }, (_, i) => h[i] ?? 0);
      const got = await runOnce(ctx, [pad(bf), pad(hf), Float32Array.from(x)], [N, N, (N + 1) / 2, N], (rec, [B, H, X, OB, OH, O16, ORT]) => {
        castToF32(ctx, rec, OB, B, N, 'bf16');
        castToF32(ctx, rec, OH, H, N, 'f16');
        castF32ToF16(ctx, rec, O16, X, N);
        castToF32(ctx, rec, ORT, O16, N, 'f16');
      }, [[3, N], [4, N], [6, N]]);
      return { got, want: concat(Array.from(bf, bf16BitsToNumber), Array.from(hf, f16BitsToNumber), x) };
    },
  },
];
