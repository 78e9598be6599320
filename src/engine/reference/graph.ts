// Reverse-mode differentiation over the per-op float64 references. Each method runs one op's
// reference forward and records that op's reference backward on a tape; `backward()` replays
// the tape in reverse, so a model written once as a forward (reference/model.ts) gets its
// backward from the same definition. Gradients are keyed by the array they belong to, and
// every recorded backward accumulates (+=) into them, so an array used twice (a residual
// stream, a norm output feeding q, k and v) sums its contributions.
//
// Row counts come from the arrays: an op on x [rows, C] takes rows = x.length / C, so the
// same rmsnorm serves a hidden state [N, C] and per-head q/k norms [N·H, D].

import { type AttentionOptions, attentionBackward, attentionForward } from './attention';
import { IGNORE_INDEX, crossentropyForward } from './crossentropy';
import { embeddingForward } from './embedding';
import { type DropoutMask, loraBackward, loraForward } from './lora';
import { matmulBackward, matmulForward } from './matmul';
import { addInPlace, residualBackward, residualForward } from './residual';
import { rmsnormBackward, rmsnormForward } from './rmsnorm';
import { ropeBackward, ropeForward } from './rope';
import { type GatedActivation, swigluBackward, swigluForward } from './swiglu';

/** A LoRA branch on a linear (PEFT shapes: A [R, in], B [out, R]). */
export interface LoraBranch {
  A: Float64Array;
  B: Float64Array;
  scaling: number;
  dropout: DropoutMask;
}

/** The token positions and attention segments of one batch (see RefBatch in model.ts). */
export interface GraphBatch {
  B: number;
  T: number;
  positions: ArrayLike<number>; // [B·T]
  segmentIds: ArrayLike<number>; // [B·T]
}

export class RefGraph {
  private readonly backs: (() => void)[] = [];
  private readonly grads = new Map<Float64Array, Float64Array>();
  /** Rows of the token stream, B·T. */
  readonly N: number;

  /** `record` false runs forward only (no tape, no saved activations beyond the arrays). */
  constructor(
    readonly batch: GraphBatch,
    private readonly record: boolean,
  ) {
    this.N = batch.B * batch.T;
  }

  /** The gradient of x (zeros until something accumulates into it). */
  grad(x: Float64Array): Float64Array {
    let g = this.grads.get(x);
    if (!g) {
      g = new Float64Array(x.length);
      this.grads.set(x, g);
    }
    return g;
  }

  /** Runs the recorded backwards in reverse; seed the root's gradient first (crossEntropy does). */
  backward(): void {
    for (let i = this.backs.length - 1; i >= 0; i--) this.backs[i]();
  }

  private onBackward(back: () => void): void {
    if (this.record) this.backs.push(back);
  }

  /** x [N, C] = wte[ids] · scale; the table is frozen, so nothing is recorded. */
  embedding(ids: ArrayLike<number>, wte: Float64Array, V: number, scale = 1): Float64Array {
    const C = wte.length / V;
    for (let n = 0; n < this.N; n++) if (!(ids[n] >= 0 && ids[n] < V)) throw new Error(`reference model: token id ${ids[n]} at ${n} outside vocab ${V}`);
    const out = new Float64Array(this.N * C);
    embeddingForward(out, ids, wte, this.N, C, V, scale);
    return out;
  }

  /** RMSNorm over the last dim C = weight.length, scaling by offset + weight (weight frozen). */
  rmsnorm(x: Float64Array, weight: Float64Array, eps: number, offset = 0): Float64Array {
    const C = weight.length;
    const rows = x.length / C;
    const out = new Float64Array(x.length);
    const rstd = new Float64Array(rows);
    rmsnormForward(out, rstd, x, weight, rows, C, eps, offset);
    this.onBackward(() => rmsnormBackward(this.grad(x), this.grad(out), x, weight, rstd, rows, C, offset));
    return out;
  }

  /** out [rows, O] = x · Wᵀ (+ bias) (+ the LoRA branch); W [O, I] frozen, gradients for x and LoRA A, B. */
  linear(x: Float64Array, W: Float64Array, bias: Float64Array | null, O: number, lora: LoraBranch | null): Float64Array {
    const I = W.length / O;
    const rows = x.length / I;
    const out = new Float64Array(rows * O);
    matmulForward(out, x, W, bias, rows, I, O);
    const h = lora ? new Float64Array(rows * (lora.A.length / I)) : null;
    if (lora && h) loraForward(out, h, x, lora.A, lora.B, rows, I, O, lora.A.length / I, lora.scaling, lora.dropout);
    this.onBackward(() => {
      const dout = this.grad(out);
      matmulBackward(this.grad(x), dout, W, rows, I, O, { accumulate: true });
      if (!lora || !h) return;
      const R = lora.A.length / I;
      loraBackward(this.grad(x), this.grad(lora.A), this.grad(lora.B), new Float64Array(rows * R), dout, x, h, lora.A, lora.B, rows, I, O, R, lora.scaling, lora.dropout);
    });
    return out;
  }

  /** RoPE on x [N, heads, D] at the batch positions, D = 2·invFreq.length. */
  rope(x: Float64Array, invFreq: Float64Array): Float64Array {
    const D = 2 * invFreq.length;
    const heads = x.length / (this.N * D);
    const out = new Float64Array(x.length);
    ropeForward(out, x, invFreq, this.batch.positions, this.N, heads, D);
    this.onBackward(() => {
      const dx = new Float64Array(x.length);
      ropeBackward(dx, this.grad(out), invFreq, this.batch.positions, this.N, heads, D);
      addInPlace(this.grad(x), dx, dx.length);
    });
    return out;
  }

  /** Causal GQA attention within segments (optionally windowed, scaled): q [N, H, D], k, v [N, KVH, D] → [N, H, D]. */
  attention(q: Float64Array, k: Float64Array, v: Float64Array, D: number, opts: AttentionOptions = {}): Float64Array {
    const { B, T, segmentIds } = this.batch;
    const H = q.length / (this.N * D);
    const KVH = k.length / (this.N * D);
    if (!Number.isInteger(H / KVH)) throw new Error(`reference model: heads ${H} not a multiple of kv heads ${KVH}`);
    const out = new Float64Array(q.length);
    const lse = new Float64Array(B * H * T);
    attentionForward(out, lse, q, k, v, segmentIds, B, T, H, KVH, D, opts);
    this.onBackward(() => {
      // The reference backward overwrites its outputs; accumulate them like every other op.
      const [dq, dk, dv] = [new Float64Array(q.length), new Float64Array(k.length), new Float64Array(v.length)];
      attentionBackward(dq, dk, dv, this.grad(out), q, k, v, out, lse, segmentIds, B, T, H, KVH, D, opts);
      addInPlace(this.grad(q), dq, dq.length);
      addInPlace(this.grad(k), dk, dk.length);
      addInPlace(this.grad(v), dv, dv.length);
    });
    return out;
  }

  residual(a: Float64Array, b: Float64Array): Float64Array {
    const out = new Float64Array(a.length);
    residualForward(out, a, b, a.length);
    this.onBackward(() => residualBackward(this.grad(a), this.grad(b), this.grad(out), a.length));
    return out;
  }

  /** act(gate) · up (SwiGLU, or GeGLU with act 'gelu_tanh'). */
  swiglu(gate: Float64Array, up: Float64Array, act: GatedActivation = 'silu'): Float64Array {
    const out = new Float64Array(gate.length);
    swigluForward(out, gate, up, gate.length, act);
    this.onBackward(() => swigluBackward(this.grad(gate), this.grad(up), this.grad(out), gate, up, gate.length, act));
    return out;
  }

  /**
   * Mean softmax cross-entropy of logits [N, V] over the targets that are not the ignore index
   * (0 when there are none). The loss is the root: its backward seeds grad(logits) with the
   * gradient of lossScale · loss.
   */
  crossEntropy(logits: Float64Array, targets: ArrayLike<number>, V: number, lossScale: number): { loss: number; numTargets: number } {
    let numTargets = 0;
    for (let n = 0; n < this.N; n++) {
      const t = targets[n];
      if (t === IGNORE_INDEX) continue;
      if (!(t >= 0 && t < V)) throw new Error(`reference model: target ${t} at ${n} outside vocab ${V}`);
      numTargets++;
    }
    const losses = new Float64Array(this.N);
    crossentropyForward(losses, logits, targets, this.N, V, 0, 1, false);
    const loss = numTargets > 0 ? losses.reduce((s, x) => s + x, 0) / numTargets : 0;
    this.onBackward(() => {
      if (numTargets === 0) return;
      const dlogits = logits.slice();
      crossentropyForward(new Float64Array(this.N), dlogits, targets, this.N, V, 0, lossScale / numTargets, true);
      addInPlace(this.grad(logits), dlogits, dlogits.length);
    });
    return { loss, numTargets };
  }
}
