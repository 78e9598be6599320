// The Llama-family model on the GPU, with LoRA: records the forward, the chunked LM head +
// cross-entropy and the backward of a training step into a Recorder, out of the kernel
// launchers in src/engine/gpu/kernels. Math identical to src/engine/reference/model.ts:
//
//   embedding → L × [RMSNorm → q,k,v (+bias) (+LoRA) → RoPE → causal GQA attention with
//   segment ids → o_proj → residual → RMSNorm → gate, up → SwiGLU → down → residual] →
//   RMSNorm → LM head (tied or separate) → cross-entropy (ignore -100, mean over targets)
//
// The LM head never materialises [B·T, V]: rows go through it in chunks (logits chunk =
// matmul → the cross-entropy kernel turns it into dlogits in place → dlnf rows += dlogits·W).
// Shapes: B, T, C, H, KVH, D, F, V, R, L as in the kernel headers.
import type { Binding, GpuContext, Recorder } from '../gpu/context';
import { attentionBackward, attentionBackwardScratchBytes, attentionForward } from '../gpu/kernels/attention';
import { crossentropyForward } from '../gpu/kernels/crossentropy';
import { embeddingForward } from '../gpu/kernels/embedding';
import { loraBackward, loraForward } from '../gpu/kernels/lora';
import { type Dropout, type Weight, matmulBackward, matmulForward } from '../gpu/kernels/matmul';
import { residualForward } from '../gpu/kernels/residual';
import { rmsnormBackward, rmsnormForward } from '../gpu/kernels/rmsnorm';
import { createRopeInvFreqBuffer, ropeBackward, ropeForward } from '../gpu/kernels/rope';
import { swigluBackward, swigluForward } from '../gpu/kernels/swiglu';
import { mixSeed } from '../optim/rng';
import { type ActivationPlan, type LayerActivations, type StepBuffers, allocateActivations, destroyActivations, planActivations } from './arena';
import { LINEAR_MODULES, type LinearModule, type ModelConfig, linearShape } from './config';
import type { LoraParams } from './lora-params';
import type { ModelWeights } from './weights';

/** A batch in the data pipeline's layout (src/data): targets already shifted, -100 ignored. */
export interface TokenBatch {
  B: number;
  T: number;
  inputIds: ArrayLike<number>; // [B·T]
  targets: ArrayLike<number>; // [B·T]
  positions: ArrayLike<number>; // [B·T]
  segmentIds: ArrayLike<number>; // [B·T]
}

export function countTargets(b: Pick<TokenBatch, 'targets'>): number {
  let n = 0;
  for (let i = 0; i < b.targets.length; i++) if (b.targets[i] !== -100) n++;
  return n;
}

/** How the LoRA branch runs in one recorded pass. */
export interface LoraRun {
  /** Multiplies the adapter's scaling (1 = as trained, 0 = adapter off). */
  scale: number;
  /** Input dropout probability (training only; 0 in eval). */
  dropout: number;
  /** Base seed of the dropout masks of this pass (mixed with layer and module). */
  seed: number;
}

export const NO_DROPOUT: LoraRun = { scale: 1, dropout: 0, seed: 0 };

/** The dropout mask of one module in one pass: a pure function of (run seed, layer, module). */
export function loraDropout(run: LoraRun, layer: number, m: LinearModule): Dropout {
  return { p: run.dropout, seed: mixSeed(run.seed, layer, LINEAR_MODULES.indexOf(m)) };
}

/**
 * out[rows, O] = inp·Wᵀ (+ bias) (+ scale·scaling·B(A·dropout(inp)) when `lora` adapts this
 * module; h [rows, R] receives A·dropout(inp), kept for the backward).
 */
export function recordLinear(model: LlamaModel, lora: LoraParams | null, rec: Recorder, run: LoraRun, layer: number, m: LinearModule, out: Binding, inp: Binding, bias: Binding | null, h: Binding | null, rows: number): void {
  const { ctx, cfg, weights } = model;
  const { inFeatures: I, outFeatures: O } = linearShape(cfg, m);
  matmulForward(ctx, rec, out, inp, weights.layers[layer].linear[m], bias, rows, I, O);
  const slot = lora?.slot(layer, m);
  if (!slot || !lora || run.scale === 0) return;
  if (!h) throw new Error(`recordLinear: layer ${layer} ${m} has a LoRA but no h buffer`);
  const { A, B } = lora.bindings('params', slot);
  loraForward(ctx, rec, out, h, inp, A, B, rows, I, O, lora.layout.R, lora.scaling * run.scale, loraDropout(run, layer, m));
}

/** The frozen model on the device: config, weights and the RoPE table. */
export class LlamaModel {
  readonly invFreq: GPUBuffer;

  constructor(
    readonly ctx: GpuContext,
    readonly cfg: ModelConfig,
    readonly weights: ModelWeights,
  ) {
    this.invFreq = createRopeInvFreqBuffer(ctx, cfg.headDim, cfg.ropeTheta, cfg.ropeScaling);
  }
}

export interface GraphOptions {
  /**
   * Keep only the residual stream per layer and recompute each layer in the backward (true),
   * keep everything (false), or 'auto': recompute when keeping everything would take more
   * than activationBudgetBytes. Default false.
   */
  recompute?: boolean | 'auto';
  /** For recompute 'auto'; default 1 GiB. */
  activationBudgetBytes?: number;
  /** LM-head chunk rows (multiple of 64); default sized for a 32 MiB logits chunk. */
  logitsChunkRows?: number;
}

/**
 * The buffers and recorded passes of training/eval steps at a fixed (B, T) for one model and
 * one LoRA (or none). Write a batch, then record forward, loss (+ backward) into a Recorder.
 */
export class TrainingGraph {
  readonly plan: ActivationPlan;
  readonly buf: StepBuffers;
  readonly BT: number;

  constructor(
    readonly model: LlamaModel,
    readonly lora: LoraParams | null,
    readonly B: number,
    readonly T: number,
    opts: GraphOptions = {},
  ) {
    const { ctx, cfg } = model;
    this.BT = B * T;
    if (cfg.numHeads % cfg.numKvHeads !== 0) throw new Error(`heads ${cfg.numHeads} must be a multiple of kv heads ${cfg.numKvHeads}`);
    const planOpts = {
      logitsChunkRows: opts.logitsChunkRows,
      maxBindingBytes: ctx.caps.maxStorageBufferBindingSize,
      attentionScratchBytes: attentionBackwardScratchBytes(B, T, cfg.numHeads),
    };
    const keepAll = planActivations(cfg, lora?.layout ?? null, B, T, { ...planOpts, recompute: false });
    const recompute = opts.recompute === 'auto' ? keepAll.totalBytes > (opts.activationBudgetBytes ?? 1 << 30) : (opts.recompute ?? false);
    this.plan = recompute ? planActivations(cfg, lora?.layout ?? null, B, T, { ...planOpts, recompute: true }) : keepAll;
    this.buf = allocateActivations(ctx, this.plan, cfg.numLayers, (l) => LINEAR_MODULES.filter((m) => lora?.slot(l, m)));
  }

  destroy(): void {
    destroyActivations(this.model.ctx, this.buf);
  }

  /** Uploads a batch (queue-ordered: record and submit its passes before writing the next). */
  writeBatch(batch: TokenBatch): void {
    if (batch.B !== this.B || batch.T !== this.T) throw new Error(`batch is ${batch.B}×${batch.T}, the graph was built for ${this.B}×${this.T}`);
    const V = this.model.cfg.vocabSize;
    const ids = Uint32Array.from(batch.inputIds);
    for (let i = 0; i < ids.length; i++) if (ids[i] >= V) throw new Error(`token id ${ids[i]} at ${i} is outside the vocabulary (${V})`);
    const ctx = this.model.ctx;
    ctx.write(this.buf.ids, ids);
    ctx.write(this.buf.targets, Int32Array.from(batch.targets));
    ctx.write(this.buf.positions, Uint32Array.from(batch.positions));
    ctx.write(this.buf.segIds, Uint32Array.from(batch.segmentIds));
  }

  private acts(layer: number): LayerActivations {
    return this.buf.layers[this.plan.recompute ? 0 : layer];
  }

  /** out[BT, O] = inp·Wᵀ (+ bias) (+ LoRA). */
  private linear(rec: Recorder, run: LoraRun, layer: number, m: LinearModule, out: Binding, inp: Binding, bias: Binding | null, h: GPUBuffer | undefined): void {
    recordLinear(this.model, this.lora, rec, run, layer, m, out, inp, bias, h ?? null, this.BT);
  }

  /** dinp (+)= dout·W, plus the LoRA path (dinp += …, dA/dB += …). */
  private linearBackward(rec: Recorder, run: LoraRun, layer: number, m: LinearModule, dinp: Binding, dout: Binding, inp: Binding, h: GPUBuffer | undefined, accumulate: boolean): void {
    const { ctx, cfg, weights } = this.model;
    const { inFeatures: I, outFeatures: O } = linearShape(cfg, m);
    matmulBackward(ctx, rec, dinp, dout, weights.layers[layer].linear[m], this.BT, I, O, { accumulate });
    const slot = this.lora?.slot(layer, m);
    if (!slot || !this.lora || !h || run.scale === 0) return;
    const p = this.lora.bindings('params', slot);
    const g = this.lora.bindings('grads', slot);
    loraBackward(ctx, rec, dinp, g.A, g.B, this.buf.scratch.dh, dout, inp, h, p.A, p.B, this.BT, I, O, this.lora.layout.R, this.lora.scaling * run.scale, loraDropout(run, layer, m));
  }

  private layerForward(rec: Recorder, run: LoraRun, l: number): void {
    const { ctx, cfg, weights, invFreq } = this.model;
    const { B, T, BT } = this;
    const C = cfg.hiddenSize;
    const H = cfg.numHeads;
    const KVH = cfg.numKvHeads;
    const D = cfg.headDim;
    const a = this.acts(l);
    const w = weights.layers[l];
    const x = this.buf.resid[l];
    rmsnormForward(ctx, rec, a.ln1, a.rstd1, x, w.inputNorm, BT, C, cfg.rmsNormEps);
    this.linear(rec, run, l, 'q_proj', a.q, a.ln1, w.bias?.q_proj ?? null, a.loraH.q_proj);
    this.linear(rec, run, l, 'k_proj', a.k, a.ln1, w.bias?.k_proj ?? null, a.loraH.k_proj);
    this.linear(rec, run, l, 'v_proj', a.v, a.ln1, w.bias?.v_proj ?? null, a.loraH.v_proj);
    ropeForward(ctx, rec, a.q, a.q, invFreq, this.buf.positions, BT, H, D);
    ropeForward(ctx, rec, a.k, a.k, invFreq, this.buf.positions, BT, KVH, D);
    attentionForward(ctx, rec, a.att, a.lse, a.q, a.k, a.v, this.buf.segIds, B, T, H, KVH, D);
    const proj = this.buf.scratch.proj;
    this.linear(rec, run, l, 'o_proj', proj, a.att, null, a.loraH.o_proj);
    residualForward(ctx, rec, a.xMid, x, proj, BT * C);
    rmsnormForward(ctx, rec, a.ln2, a.rstd2, a.xMid, w.postNorm, BT, C, cfg.rmsNormEps);
    this.linear(rec, run, l, 'gate_proj', a.gate, a.ln2, null, a.loraH.gate_proj);
    this.linear(rec, run, l, 'up_proj', a.up, a.ln2, null, a.loraH.up_proj);
    swigluForward(ctx, rec, a.act, a.gate, a.up, BT * cfg.intermediateSize);
    this.linear(rec, run, l, 'down_proj', proj, a.act, null, a.loraH.down_proj);
    residualForward(ctx, rec, this.buf.resid[l + 1], a.xMid, proj, BT * C);
  }

  /** scratch.dres holds dL/d(resid[l+1]) on entry and dL/d(resid[l]) on exit. */
  private layerBackward(rec: Recorder, run: LoraRun, l: number): void {
    const { ctx, cfg, weights, invFreq } = this.model;
    const { B, T, BT } = this;
    const C = cfg.hiddenSize;
    const H = cfg.numHeads;
    const KVH = cfg.numKvHeads;
    const D = cfg.headDim;
    const a = this.acts(l);
    const w = weights.layers[l];
    const s = this.buf.scratch;
    // MLP: resid[l+1] = xMid + down(silu(gate)·up); the residual passes dres through unchanged.
    this.linearBackward(rec, run, l, 'down_proj', s.dact, s.dres, a.act, a.loraH.down_proj, false);
    swigluBackward(ctx, rec, s.dgate, s.dup, s.dact, a.gate, a.up, BT * cfg.intermediateSize, { accumulate: false });
    this.linearBackward(rec, run, l, 'gate_proj', s.dln, s.dgate, a.ln2, a.loraH.gate_proj, false);
    this.linearBackward(rec, run, l, 'up_proj', s.dln, s.dup, a.ln2, a.loraH.up_proj, true);
    rmsnormBackward(ctx, rec, s.dres, s.dln, a.xMid, w.postNorm, a.rstd2, BT, C);
    // Attention: xMid = resid[l] + o_proj(attention(rope(q), rope(k), v)).
    this.linearBackward(rec, run, l, 'o_proj', s.datt, s.dres, a.att, a.loraH.o_proj, false);
    attentionBackward(ctx, rec, s.dq, s.dk, s.dv, s.attStats, s.datt, a.q, a.k, a.v, a.att, a.lse, this.buf.segIds, B, T, H, KVH, D);
    ropeBackward(ctx, rec, s.dq, s.dq, invFreq, this.buf.positions, BT, H, D);
    ropeBackward(ctx, rec, s.dk, s.dk, invFreq, this.buf.positions, BT, KVH, D);
    this.linearBackward(rec, run, l, 'q_proj', s.dln, s.dq, a.ln1, a.loraH.q_proj, false);
    this.linearBackward(rec, run, l, 'k_proj', s.dln, s.dk, a.ln1, a.loraH.k_proj, true);
    this.linearBackward(rec, run, l, 'v_proj', s.dln, s.dv, a.ln1, a.loraH.v_proj, true);
    rmsnormBackward(ctx, rec, s.dres, s.dln, this.buf.resid[l], w.inputNorm, a.rstd1, BT, C);
  }

  /** Embedding → layers → final norm (into buf.lnf). Saves what the backward needs. */
  recordForward(rec: Recorder, run: LoraRun = NO_DROPOUT): void {
    const { ctx, cfg, weights } = this.model;
    embeddingForward(ctx, rec, this.buf.resid[0], this.buf.ids, weights.embed.buffer, this.BT, cfg.hiddenSize, cfg.vocabSize, { dtype: weights.embed.dtype });
    for (let l = 0; l < cfg.numLayers; l++) this.layerForward(rec, run, l);
    rmsnormForward(ctx, rec, this.buf.lnf, this.buf.rstdf, this.buf.resid[cfg.numLayers], weights.norm, this.BT, cfg.hiddenSize, cfg.rmsNormEps);
  }

  /**
   * LM head + cross-entropy over row chunks: per-row losses into buf.losses (0 where
   * ignored). With `withGrad`, also dL/dlnf into scratch.dln, for lossScale = ∂L/∂(Σ row losses)
   * (1/number of targets of the optimizer step).
   */
  recordLoss(rec: Recorder, lossScale: number, withGrad: boolean): void {
    const { ctx, cfg, weights } = this.model;
    const C = cfg.hiddenSize;
    const V = cfg.vocabSize;
    const rows = this.plan.chunkRows;
    const lmHead: Weight = weights.lmHead;
    const logits = this.buf.scratch.logits;
    for (let r0 = 0; r0 < this.BT; r0 += rows) {
      const n = Math.min(rows, this.BT - r0);
      // r0 is a multiple of 64 rows, so these row ranges start 256-byte aligned.
      const lnfRows: Binding = { buffer: this.buf.lnf, offset: r0 * C * 4, size: n * C * 4 };
      const logitsRows: Binding = { buffer: logits, offset: 0, size: n * V * 4 };
      matmulForward(ctx, rec, logitsRows, lnfRows, lmHead, null, n, C, V);
      crossentropyForward(ctx, rec, this.buf.losses, logitsRows, this.buf.targets, n, V, r0, lossScale, { writeGrad: withGrad });
      if (withGrad) {
        const dlnRows: Binding = { buffer: this.buf.scratch.dln, offset: r0 * C * 4, size: n * C * 4 };
        matmulBackward(ctx, rec, dlnRows, logitsRows, lmHead, n, C, V, { accumulate: false });
      }
    }
  }

  /**
   * Backward after recordForward + recordLoss(withGrad): LoRA gradients ACCUMULATE into
   * lora.grads (clear them once per optimizer step, not per micro-batch).
   */
  recordBackward(rec: Recorder, run: LoraRun = NO_DROPOUT): void {
    const { ctx, cfg, weights } = this.model;
    const s = this.buf.scratch;
    rec.clear(s.dres);
    rmsnormBackward(ctx, rec, s.dres, s.dln, this.buf.resid[cfg.numLayers], weights.norm, this.buf.rstdf, this.BT, cfg.hiddenSize);
    for (let l = cfg.numLayers - 1; l >= 0; l--) {
      // The shared set holds the last layer's activations after the forward; earlier layers are recomputed.
      if (this.plan.recompute && l < cfg.numLayers - 1) this.layerForward(rec, run, l);
      this.layerBackward(rec, run, l);
    }
  }

  /** Full logits [BT, V] into `out` (tests and small-vocab inspection; training never needs them). */
  recordLogits(rec: Recorder, out: Binding): void {
    const { ctx, cfg, weights } = this.model;
    matmulForward(ctx, rec, out, this.buf.lnf, weights.lmHead, null, this.BT, cfg.hiddenSize, cfg.vocabSize);
  }
}
