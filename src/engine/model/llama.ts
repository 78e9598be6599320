// The Llama-family model on the GPU, with LoRA: records the forward, the chunked LM head +
// cross-entropy and the backward of a training step into a Recorder, out of the kernel
// launchers in src/engine/gpu/kernels. Math identical to src/engine/reference/model.ts:
//
//   embedding → L × [RMSNorm → q,k,v (+bias) (+LoRA) → (qwen3: per-head RMSNorm of q, k) →
//   RoPE → causal GQA attention with segment ids → o_proj → residual → RMSNorm → gate, up → SwiGLU → down → residual] →
//   RMSNorm → LM head (tied or separate) → cross-entropy (ignore -100, mean over targets)
//
// gemma3_text (cfg.gemma): embedding · √C, every norm scales by 1 + w, the o_proj and
// down_proj outputs are normed before their residual adds, GELU-tanh gate, per-layer sliding
// window, score scale and RoPE table (config.ts layerAttention).
//
// The LM head never materialises [B·T, V]: rows go through it in chunks (logits chunk =
// matmul → the cross-entropy kernel turns it into dlogits in place → dlnf rows += dlogits·W).
// Shapes: B, T, C, H, KVH, D, F, V, R, L as in the kernel headers.
import { type Binding, type GpuContext, type Live, type Recorder, bindingSpan, mapLive } from '../gpu/context';
import { type AttentionOptions, attentionBackward, attentionBackwardScratchBytes, attentionForward } from '../gpu/kernels/attention';
import { crossentropyForward } from '../gpu/kernels/crossentropy';
import { embeddingForward } from '../gpu/kernels/embedding';
import { type LoraPart, loraBackwardWeights, loraDown, loraDownGroup, loraGradAGroup } from '../gpu/kernels/lora';
import { type Dropout, type Weight, matmulBackward, matmulForward } from '../gpu/kernels/matmul';
import { residualForward } from '../gpu/kernels/residual';
import { type ResidualInput, rmsnormBackward, rmsnormForward } from '../gpu/kernels/rmsnorm';
import { createRopeInvFreqBuffer, ropeQk } from '../gpu/kernels/rope';
import { swigluBackwardInPlace, swigluForward } from '../gpu/kernels/swiglu';
import { mixSeed } from '../optim/rng';
import { type ActivationPlan, type LayerActivations, type RecomputeLevel, type StepBuffers, allocateActivations, destroyActivations, planActivations } from './arena';
import { LINEAR_MODULES, type LinearModule, type ModelConfig, gatedActivation, inputGroupOf, layerAttention, linearShape, normOffset, ropeTable } from './config';
import type { LoraLayout, LoraParams } from './lora-params';
import type { LayerWeights, ModelWeights } from './weights';

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
  /** Base seed of the dropout masks of this pass (mixed with layer and module); a step value in a trainer's replayed step. */
  seed: Live;
}

export const NO_DROPOUT: LoraRun = { scale: 1, dropout: 0, seed: 0 };

/** The dropout mask of one module in one pass: a pure function of (run seed, layer, module). */
export function loraDropout(run: LoraRun, layer: number, m: LinearModule): Dropout {
  const mi = LINEAR_MODULES.indexOf(m);
  return { p: run.dropout, seed: mapLive(run.seed, (s) => mixSeed(s, layer, mi)) };
}

/**
 * out[rows, O] = inp·Wᵀ (+ bias) (+ scale·scaling·B(A·dropout(inp)) when `lora` adapts this
 * module; h [rows, R] receives A·dropout(inp), kept for the backward, unless `hWritten`:
 * recordLoraDownGroup already wrote it).
 */
export function recordLinear(model: LlamaModel, lora: LoraParams | null, rec: Recorder, run: LoraRun, layer: number, m: LinearModule, out: Binding, inp: Binding, bias: Binding | null, h: Binding | null, rows: number, hWritten = false): void {
  const { ctx, cfg, weights } = model;
  const { inFeatures: I, outFeatures: O } = linearShape(cfg, m);
  const W = weights.layers[layer].linear[m];
  const slot = lora?.slot(layer, m);
  if (!slot || !lora || run.scale === 0) {
    matmulForward(ctx, rec, out, inp, W, bias, rows, I, O);
    return;
  }
  if (!h) throw new Error(`recordLinear: layer ${layer} ${m} has a LoRA but no h buffer`);
  const { A, B } = lora.bindings('params', slot);
  // h first, then the base product with LoRA's up-projection as its epilogue (one dispatch).
  if (!hWritten) loraDown(ctx, rec, h, inp, A, rows, I, lora.layout.R, loraDropout(run, layer, m));
  matmulForward(ctx, rec, out, inp, W, bias, rows, I, O, { loraUp: { h, B, R: lora.layout.R, alpha: lora.scaling * run.scale }, label: 'matmul_forward_lora' });
}

/** Whether no two of `bs` share a byte (ranges of one buffer, or different buffers). */
function disjoint(bs: readonly Binding[]): boolean {
  const spans = bs.map(bindingSpan);
  return spans.every((a, i) => spans.every((b, j) => j <= i || a.buffer !== b.buffer || a.offset + a.size <= b.offset || b.offset + b.size <= a.offset));
}

/**
 * The h of the adapted modules among `ms` (which all read `inp`: q/k/v, or gate/up) in one
 * dispatch (loraDownGroup), when their h are disjoint (training's per-group buffers; generation
 * shares one h among all modules, so each recordLinear writes its own just before use).
 * Returns the modules whose h it wrote.
 */
function recordLoraDownGroup(model: LlamaModel, lora: LoraParams | null, rec: Recorder, run: LoraRun, layer: number, ms: readonly LinearModule[], inp: Binding, loraH: LayerBuffers['loraH'], rows: number): ReadonlySet<LinearModule> {
  if (!lora || run.scale === 0 || !model.groupLoraInputs) return new Set();
  const adapted = ms.filter((m) => lora.slot(layer, m) && loraH[m]);
  const hs = adapted.map((m) => loraH[m]!);
  if (adapted.length < 2 || !disjoint(hs)) return new Set();
  const parts = adapted.map((m, i): LoraPart => ({ h: hs[i], A: lora.bindings('params', lora.slot(layer, m)!).A, dropout: loraDropout(run, layer, m) }));
  loraDownGroup(model.ctx, rec, parts, inp, rows, linearShape(model.cfg, ms[0]).inFeatures, lora.layout.R);
  return new Set(adapted);
}

/**
 * The buffers one recorded pass of a decoder layer uses, over `rows` tokens. ln1/ln2 and
 * rstd1/rstd2 may be the same buffers (generation does that; training keeps both).
 */
export interface LayerBuffers {
  x: Binding; // [rows, C] residual stream entering the layer
  out: Binding; // [rows, C] residual stream leaving it (may be the same buffer as x)
  positions: Binding; // u32 [rows] RoPE positions
  ln1: Binding; // [rows, C]
  rstd1: Binding; // [rows]
  q: Binding; // [rows, H·D] after RoPE
  k: Binding; // [rows, KVH·D] after RoPE
  v: Binding; // [rows, KVH·D]
  att: Binding; // [rows, H·D] attention output
  proj: Binding; // [rows, C] o_proj / down_proj output before the residual add
  xMid: Binding; // [rows, C] residual after attention
  ln2: Binding; // [rows, C]
  rstd2: Binding; // [rows]
  gate: Binding; // [rows, F]
  up: Binding; // [rows, F]
  act: Binding; // [rows, F] silu(gate)·up
  /** LoRA h [rows, R] per adapted module. */
  loraH: Partial<Record<LinearModule, Binding>>;
  /**
   * Models with q/k norms (qwen3): q_proj/k_proj outputs before the norm and the norms' rstd
   * per (token, head), kept for the backward; null for llama/qwen2.
   */
  qkNorm: { qPre: Binding; kPre: Binding; rstdq: Binding; rstdk: Binding } | null;
  /**
   * Gemma: o_proj/down_proj outputs before their output norms and the norms' rstd, kept for the
   * backward (proj then holds the normed output); null for the other families.
   */
  outNorm: { attOut: Binding; rstdAttn: Binding; mlpOut: Binding; rstdMlp: Binding } | null;
}

/**
 * The attention step of a layer: att from q, k, v (after RoPE) — full causal attention with
 * segment ids in training and prefill, KV-cache append + decode attention in generation —
 * with the layer's window and scale (`opts`, from layerAttention).
 */
export type Attend = (rec: Recorder, att: Binding, q: Binding, k: Binding, v: Binding, opts: AttentionOptions) => void;

/** Layer l's attention options (sliding window, score scale) for the kernels. */
export function layerAttentionOptions(cfg: ModelConfig, l: number): AttentionOptions {
  const { window, scale } = layerAttention(cfg, l);
  return { window, scale };
}

/**
 * How a recorded layer meets its neighbours (the default: it norms its input x and writes
 * out = xMid + proj, as generation records it). Training fuses each layer's residual add
 * with the norm after it and, recomputing a layer whose output the residual stream kept,
 * writes no output at all.
 */
export interface LayerFlow {
  /** ln1 and rstd1 already hold the input norm of x (the layer before wrote them). */
  inputNormed?: boolean;
  /**
   * 'residual': out = xMid + proj; 'kept': out already holds it (nothing written); a norm:
   * out = xMid + proj and that norm of it (the next layer's input norm or the final norm), in
   * one dispatch.
   */
  output?: 'residual' | 'kept' | { ln: Binding; rstd: Binding; weight: Binding };
}

/**
 * Records decoder layer `l` over `rows` tokens — the one definition of the block, used by
 * training (TrainingGraph) and generation (Generator):
 *   RMSNorm → q,k,v (+bias) (+LoRA) → RoPE → attend → o_proj → residual + RMSNorm → gate, up
 *   → SwiGLU → down → residual.
 */
export function recordLayer(model: LlamaModel, lora: LoraParams | null, rec: Recorder, run: LoraRun, l: number, rows: number, b: LayerBuffers, attend: Attend, flow: LayerFlow = {}): void {
  const { ctx, cfg, weights } = model;
  const C = cfg.hiddenSize;
  const w = weights.layers[l];
  let written: ReadonlySet<LinearModule> = new Set();
  const lin = (m: LinearModule, out: Binding, inp: Binding, bias: Binding | null) => recordLinear(model, lora, rec, run, l, m, out, inp, bias, b.loraH[m] ?? null, rows, written.has(m));
  const down = (ms: readonly LinearModule[], inp: Binding) => (written = recordLoraDownGroup(model, lora, rec, run, l, ms, inp, b.loraH, rows));
  if (!flow.inputNormed) recordInputNorm(model, rec, l, rows, b);
  down(inputGroupOf('q_proj'), b.ln1);
  const qk = qkNormParts(model, l, b);
  lin('q_proj', qk?.b.qPre ?? b.q, b.ln1, w.bias?.q_proj ?? null);
  lin('k_proj', qk?.b.kPre ?? b.k, b.ln1, w.bias?.k_proj ?? null);
  lin('v_proj', b.v, b.ln1, w.bias?.v_proj ?? null);
  recordQkNormRope(model, rec, l, rows, b);
  attend(rec, b.att, b.q, b.k, b.v, layerAttentionOptions(cfg, l));
  // gemma: o_proj → attOut, normed into proj (post_attention_layernorm); likewise down_proj.
  const on = outNormParts(model, l, b);
  lin('o_proj', on?.b.attOut ?? b.proj, b.att, null);
  if (on) recordNorm(model, rec, b.proj, on.b.rstdAttn, on.b.attOut, on.w.attn, rows, C);
  // xMid = x + proj and its post-attention norm in one dispatch (same bits as the two).
  recordNorm(model, rec, b.ln2, b.rstd2, b.x, w.postNorm, rows, C, { sum: b.xMid, add: b.proj });
  down(inputGroupOf('gate_proj'), b.ln2);
  lin('gate_proj', b.gate, b.ln2, null);
  lin('up_proj', b.up, b.ln2, null);
  recordSwiglu(model, rec, rows, b);
  lin('down_proj', on?.b.mlpOut ?? b.proj, b.act, null);
  if (on) recordNorm(model, rec, b.proj, on.b.rstdMlp, on.b.mlpOut, on.w.mlp, rows, C);
  const next = flow.output ?? 'residual';
  if (next === 'residual') residualForward(ctx, rec, b.out, b.xMid, b.proj, rows * C);
  else if (next !== 'kept') recordNorm(model, rec, next.ln, next.rstd, b.xMid, next.weight, rows, C, { sum: b.out, add: b.proj });
}

/** An RMSNorm of the model (its eps and weight offset) over rows of width `width`; with `residual`, of inp + residual.add (written to residual.sum). */
export function recordNorm(model: LlamaModel, rec: Recorder, out: Binding, rstd: Binding, inp: Binding, weight: Binding, rows: number, width: number, residual?: ResidualInput): void {
  rmsnormForward(model.ctx, rec, out, rstd, inp, weight, rows, width, model.cfg.rmsNormEps, { offset: normOffset(model.cfg), residual });
}

/** The backward of recordNorm: dinp += ∂L/∂inp. */
function recordNormBackward(model: LlamaModel, rec: Recorder, dinp: Binding, dout: Binding, inp: Binding, weight: Binding, rstd: Binding, rows: number, width: number): void {
  rmsnormBackward(model.ctx, rec, dinp, dout, inp, weight, rstd, rows, width, { offset: normOffset(model.cfg) });
}

/** Layer l's output-norm weights and buffers when the model norms sublayer outputs (gemma), else null. */
function outNormParts(model: LlamaModel, l: number, b: Pick<LayerBuffers, 'outNorm'>): { w: NonNullable<LayerWeights['outNorms']>; b: NonNullable<LayerBuffers['outNorm']> } | null {
  if (!model.cfg.gemma) return null;
  const w = model.weights.layers[l].outNorms;
  if (!w || !b.outNorm) throw new Error(`layer ${l}: the config norms sublayer outputs but the ${w ? 'activation buffers' : 'weights'} lack them`);
  return { w, b: b.outNorm };
}

/** Layer l's q/k norm weights and buffers when the model has q/k norms (qwen3), else null. */
function qkNormParts(model: LlamaModel, l: number, b: Pick<LayerBuffers, 'qkNorm'>): { w: NonNullable<LayerWeights['qkNorm']>; b: NonNullable<LayerBuffers['qkNorm']> } | null {
  if (!model.cfg.qkNorm) return null;
  const w = model.weights.layers[l].qkNorm;
  if (!w || !b.qkNorm) throw new Error(`layer ${l}: the config has q/k norms but the ${w ? 'activation buffers' : 'weights'} lack them`);
  return { w, b: b.qkNorm };
}

// The cheap steps of the block, also re-run on their own by selective recomputation.
/** q, k (in place) → RoPE; with q/k norms first q = norm(qPre), k = norm(kPre), per head (rows = tokens × heads of width D). */
function recordQkNormRope(model: LlamaModel, rec: Recorder, l: number, rows: number, b: Pick<LayerBuffers, 'q' | 'k' | 'positions' | 'qkNorm'>): void {
  const { ctx, cfg } = model;
  const invFreq = model.ropeTable(l);
  const qk = qkNormParts(model, l, b);
  if (qk) {
    recordNorm(model, rec, b.q, qk.b.rstdq, qk.b.qPre, qk.w.q, rows * cfg.numHeads, cfg.headDim);
    recordNorm(model, rec, b.k, qk.b.rstdk, qk.b.kPre, qk.w.k, rows * cfg.numKvHeads, cfg.headDim);
  }
  ropeQk(ctx, rec, b.q, b.k, invFreq, b.positions, rows, cfg.numHeads, cfg.numKvHeads, cfg.headDim, false);
}
function recordInputNorm(model: LlamaModel, rec: Recorder, l: number, rows: number, b: Pick<LayerBuffers, 'ln1' | 'rstd1' | 'x'>): void {
  recordNorm(model, rec, b.ln1, b.rstd1, b.x, model.weights.layers[l].inputNorm, rows, model.cfg.hiddenSize);
}
function recordPostNorm(model: LlamaModel, rec: Recorder, l: number, rows: number, b: Pick<LayerBuffers, 'ln2' | 'rstd2' | 'xMid'>): void {
  recordNorm(model, rec, b.ln2, b.rstd2, b.xMid, model.weights.layers[l].postNorm, rows, model.cfg.hiddenSize);
}
function recordSwiglu(model: LlamaModel, rec: Recorder, rows: number, b: Pick<LayerBuffers, 'act' | 'gate' | 'up'>): void {
  swigluForward(model.ctx, rec, b.act, b.gate, b.up, rows * model.cfg.intermediateSize, { activation: gatedActivation(model.cfg) });
}

/** The frozen model on the device: config, weights and the RoPE tables. */
export class LlamaModel {
  /** The RoPE table of full-attention layers (every layer but gemma's local ones). */
  readonly invFreq: GPUBuffer;
  /** Gemma's local (sliding-window) layers' table, else null. */
  readonly invFreqLocal: GPUBuffer | null;
  /**
   * Run the LoRA down-projections (and their dA) of the modules that share an input as one
   * dispatch per group (SHARED_INPUT_GROUPS). false: one per module, the same values (tests
   * compare both paths).
   */
  groupLoraInputs = true;

  constructor(
    readonly ctx: GpuContext,
    readonly cfg: ModelConfig,
    readonly weights: ModelWeights,
  ) {
    const table = (which: 'global' | 'local') => {
      const t = ropeTable(cfg, which);
      return createRopeInvFreqBuffer(ctx, cfg.headDim, t.theta, t.scaling, t.linearFactor);
    };
    this.invFreq = table('global');
    this.invFreqLocal = cfg.gemma ? table('local') : null;
  }

  /** The RoPE table layer l rotates with. */
  ropeTable(l: number): GPUBuffer {
    return layerAttention(this.cfg, l).rope === 'local' ? this.invFreqLocal! : this.invFreq;
  }

  /** Frees the RoPE tables (the weights belong to whoever uploaded them). */
  destroy(): void {
    this.ctx.destroy(this.invFreq);
    if (this.invFreqLocal) this.ctx.destroy(this.invFreqLocal);
  }
}

export interface GraphOptions {
  /**
   * What the backward recomputes instead of keeping (levels in arena.ts):
   *  - false: keep every activation (fastest, most memory);
   *  - 'selective': drop the cheap ones (RMSNorm outputs, silu(gate)·up; with q/k norms also
   *    q and k after norm + RoPE) and recompute them before each layer's backward — norms,
   *    RoPE and one elementwise pass per layer, no matmul;
   *  - true: keep only the residual stream and re-run each layer's forward in the backward
   *    (one more forward, least memory);
   *  - 'auto': the first of false, 'selective', true whose activations fit
   *    activationBudgetBytes (true when none does).
   * Every level gives the same gradients (same kernels on the same inputs). Default false.
   */
  recompute?: boolean | 'selective' | 'auto';
  /** For recompute 'auto'; default 1 GiB. */
  activationBudgetBytes?: number;
  /** LM-head chunk rows (multiple of 64); default sized for a 32 MiB logits chunk. */
  logitsChunkRows?: number;
}

/** The activation plan a TrainingGraph with these options allocates (pure; no GPU). */
export function planTrainingActivations(cfg: ModelConfig, layout: LoraLayout | null, B: number, T: number, maxBindingBytes: number, opts: GraphOptions = {}): ActivationPlan {
  const plan = (recompute: RecomputeLevel) =>
    planActivations(cfg, layout, B, T, { recompute, logitsChunkRows: opts.logitsChunkRows, maxBindingBytes, attentionScratchBytes: attentionBackwardScratchBytes(B, T, cfg.numHeads) });
  const r = opts.recompute ?? false;
  if (r !== 'auto') return plan(r === true ? 'full' : r === false ? 'none' : 'selective');
  const budget = opts.activationBudgetBytes ?? 1 << 30;
  for (const level of ['none', 'selective'] as const) {
    const p = plan(level);
    if (p.totalBytes <= budget) return p;
  }
  return plan('full');
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
    this.plan = planTrainingActivations(cfg, lora?.layout ?? null, B, T, ctx.caps.maxStorageBufferBindingSize, opts);
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

  /** Layer l's forward buffers: its activation set, the residual stream around it, scratch. */
  private layerBuffers(l: number): LayerBuffers {
    const a: LayerActivations = this.buf.layers[l];
    return { ...a, x: this.buf.resid[l], out: this.buf.resid[l + 1], positions: this.buf.positions, proj: this.buf.scratch.proj };
  }

  /**
   * dinp (+)= dout·W, plus the LoRA path but dA (dinp += …, dB += …, dh into the range of
   * the dh scratch that mirrors h's). Returns the module's dA part (its dh, dA and
   * dropout) for recordGradA, which runs a group's dA together once all their dh are written.
   */
  private linearBackward(rec: Recorder, run: LoraRun, layer: number, m: LinearModule, dinp: Binding, dout: Binding, inp: Binding, h: Binding | undefined, accumulate: boolean): LoraPart | null {
    const { ctx, cfg, weights } = this.model;
    const { inFeatures: I, outFeatures: O } = linearShape(cfg, m);
    const W = weights.layers[layer].linear[m];
    const slot = this.lora?.slot(layer, m);
    if (!slot || !this.lora || !h || run.scale === 0) {
      matmulBackward(ctx, rec, dinp, dout, W, this.BT, I, O, { accumulate });
      return null;
    }
    const p = this.lora.bindings('params', slot);
    const g = this.lora.bindings('grads', slot);
    const { R } = this.lora.layout;
    const scaling = this.lora.scaling * run.scale;
    const dropout = loraDropout(run, layer, m);
    // dh takes the range of the dh scratch that h has of its group's buffer (the arena sizes dh for the largest group).
    const hs = bindingSpan(h);
    const dh: Binding = { buffer: this.buf.scratch.dh, offset: hs.offset, size: hs.size };
    // dB, dh; then the base input gradient with LoRA's dinp term as its epilogue (one dispatch).
    loraBackwardWeights(ctx, rec, null, g.B, dh, dout, inp, h, p.B, this.BT, I, O, R, scaling, dropout);
    matmulBackward(ctx, rec, dinp, dout, W, this.BT, I, O, { accumulate, loraDx: { dh, A: p.A, R, alpha: 1, dropout }, label: 'matmul_backward_lora' });
    return { h: dh, A: g.A, dropout };
  }

  /** dA += dhᵀ·dropout(inp) of the modules (one input group) linearBackward left it to: one dispatch per group. */
  private recordGradA(rec: Recorder, parts: (LoraPart | null)[], inp: Binding, m: LinearModule): void {
    const ps = parts.filter((p): p is LoraPart => p !== null);
    const run = (g: LoraPart[]) => loraGradAGroup(this.model.ctx, rec, g, inp, this.BT, linearShape(this.model.cfg, m).inFeatures, this.lora!.layout.R);
    if (ps.length === 0) return;
    if (this.model.groupLoraInputs) run(ps);
    else for (const p of ps) run([p]);
  }

  /**
   * Layer l's forward; `recomputing` in the backward, where resid[l+1] is kept and the norms
   * after it are not needed again. Otherwise its residual add writes the next norm too (layer
   * l+1's input norm, or the final one), and layers after the first find their input normed.
   */
  private layerForward(rec: Recorder, run: LoraRun, l: number, recomputing = false): void {
    const { B, T } = this;
    const { cfg, weights } = this.model;
    const a = this.buf.layers[l];
    const last = l === cfg.numLayers - 1;
    const next = last ? null : this.buf.layers[l + 1];
    const flow: LayerFlow = recomputing
      ? { output: 'kept' }
      : {
          inputNormed: l > 0,
          output: next ? { ln: next.ln1, rstd: next.rstd1, weight: weights.layers[l + 1].inputNorm } : { ln: this.buf.lnf, rstd: this.buf.rstdf, weight: weights.norm },
        };
    recordLayer(this.model, this.lora, rec, run, l, this.BT, this.layerBuffers(l), (rec, att, q, k, v, opts) =>
      attentionForward(this.model.ctx, rec, att, a.lse, q, k, v, this.buf.segIds, B, T, cfg.numHeads, cfg.numKvHeads, cfg.headDim, opts),
    flow);
  }

  /** Selective recomputation: layer l's norms (ln1, ln2 + rstd), act = silu(gate)·up and, with q/k norms, q and k from what it kept. */
  private recomputeCheap(rec: Recorder, l: number): void {
    const b = this.layerBuffers(l);
    recordInputNorm(this.model, rec, l, this.BT, b);
    recordPostNorm(this.model, rec, l, this.BT, b);
    recordSwiglu(this.model, rec, this.BT, b);
    if (this.model.cfg.qkNorm) recordQkNormRope(this.model, rec, l, this.BT, b);
  }

  /** scratch.dres holds dL/d(resid[l+1]) on entry and dL/d(resid[l]) on exit. */
  private layerBackward(rec: Recorder, run: LoraRun, l: number): void {
    const { ctx, cfg, weights } = this.model;
    const invFreq = this.model.ropeTable(l);
    const { B, T, BT } = this;
    const C = cfg.hiddenSize;
    const H = cfg.numHeads;
    const KVH = cfg.numKvHeads;
    const D = cfg.headDim;
    const a = this.buf.layers[l];
    const w = weights.layers[l];
    const s = this.buf.scratch;
    // gemma: the sublayer outputs went through a norm before the residual add; its backward
    // turns dres into the o_proj/down_proj output gradient in dln (free at both points).
    const on = outNormParts(this.model, l, a);
    const throughOutNorm = (inp: Binding, weight: Binding, rstd: Binding): Binding => {
      rec.clear(s.dln);
      recordNormBackward(this.model, rec, s.dln, s.dres, inp, weight, rstd, BT, C);
      return s.dln;
    };
    // MLP: resid[l+1] = xMid + down(act(gate)·up); the residual passes dres through unchanged.
    const dMlpOut = on ? throughOutNorm(on.b.mlpOut, on.w.mlp, on.b.rstdMlp) : s.dres;
    this.recordGradA(rec, [this.linearBackward(rec, run, l, 'down_proj', s.dact, dMlpOut, a.act, a.loraH.down_proj, false)], a.act, 'down_proj');
    // gate, up are read only here: dgate, dup are written over them.
    swigluBackwardInPlace(ctx, rec, a.gate, a.up, s.dact, BT * cfg.intermediateSize, { activation: gatedActivation(cfg) });
    const [dgate, dup] = [a.gate, a.up];
    const mlp = [
      this.linearBackward(rec, run, l, 'gate_proj', s.dln, dgate, a.ln2, a.loraH.gate_proj, false),
      this.linearBackward(rec, run, l, 'up_proj', s.dln, dup, a.ln2, a.loraH.up_proj, true),
    ];
    this.recordGradA(rec, mlp, a.ln2, 'gate_proj');
    recordNormBackward(this.model, rec, s.dres, s.dln, a.xMid, w.postNorm, a.rstd2, BT, C);
    // Attention: xMid = resid[l] + o_proj(attention(rope(q), rope(k), v)). Its gradients go
    // into dact and this layer's act, gate, up (dead now) unless the plan gave them their own.
    const { datt, dq, dk, dv } = s.attGrads ?? { datt: s.dact, dq: a.act, dk: a.gate, dv: a.up };
    const dAttOut = on ? throughOutNorm(on.b.attOut, on.w.attn, on.b.rstdAttn) : s.dres;
    this.recordGradA(rec, [this.linearBackward(rec, run, l, 'o_proj', datt, dAttOut, a.att, a.loraH.o_proj, false)], a.att, 'o_proj');
    attentionBackward(ctx, rec, dq, dk, dv, s.attStats, datt, a.q, a.k, a.v, a.att, a.lse, this.buf.segIds, B, T, H, KVH, D, layerAttentionOptions(cfg, l));
    ropeQk(ctx, rec, dq, dk, invFreq, this.buf.positions, BT, H, KVH, D, true);
    const qk = qkNormParts(this.model, l, a);
    const qkv: (LoraPart | null)[] = [];
    if (qk) {
      // Through the per-head norms (weights frozen). The norm backward accumulates, so each
      // pre-norm gradient goes into a cleared datt (free after the attention backward), one
      // after the other.
      const pre = (n: number): Binding => ({ buffer: datt, offset: 0, size: BT * n * D * 4 });
      rec.clear(datt, 0, BT * H * D * 4);
      recordNormBackward(this.model, rec, pre(H), dq, qk.b.qPre, qk.w.q, qk.b.rstdq, BT * H, D);
      qkv.push(this.linearBackward(rec, run, l, 'q_proj', s.dln, pre(H), a.ln1, a.loraH.q_proj, false));
      rec.clear(datt, 0, BT * KVH * D * 4);
      recordNormBackward(this.model, rec, pre(KVH), dk, qk.b.kPre, qk.w.k, qk.b.rstdk, BT * KVH, D);
      qkv.push(this.linearBackward(rec, run, l, 'k_proj', s.dln, pre(KVH), a.ln1, a.loraH.k_proj, true));
    } else {
      qkv.push(this.linearBackward(rec, run, l, 'q_proj', s.dln, dq, a.ln1, a.loraH.q_proj, false));
      qkv.push(this.linearBackward(rec, run, l, 'k_proj', s.dln, dk, a.ln1, a.loraH.k_proj, true));
    }
    qkv.push(this.linearBackward(rec, run, l, 'v_proj', s.dln, dv, a.ln1, a.loraH.v_proj, true));
    this.recordGradA(rec, qkv, a.ln1, 'q_proj');
    recordNormBackward(this.model, rec, s.dres, s.dln, this.buf.resid[l], w.inputNorm, a.rstd1, BT, C);
  }

  /** Embedding → layers → final norm (into buf.lnf). Saves what the backward needs. */
  recordForward(rec: Recorder, run: LoraRun = NO_DROPOUT): void {
    const { ctx, cfg, weights } = this.model;
    embeddingForward(ctx, rec, this.buf.resid[0], this.buf.ids, weights.embed.buffer, this.BT, cfg.hiddenSize, cfg.vocabSize, { dtype: weights.embed.dtype, scale: cfg.gemma?.embedScale });
    // The last layer's residual add also writes the final norm (lnf).
    for (let l = 0; l < cfg.numLayers; l++) this.layerForward(rec, run, l);
  }

  /**
   * LM head + cross-entropy over row chunks: per-row losses into buf.losses (0 where
   * ignored). With `withGrad`, also dL/dlnf into scratch.dln, for lossScale = ∂L/∂(Σ row losses)
   * (1/number of targets of the optimizer step). With `rowWeights` ([B] f32), row b's gradients
   * are also scaled by rowWeights[b]: one weight per sequence (a preference objective's).
   */
  recordLoss(rec: Recorder, lossScale: Live, withGrad: boolean, rowWeights?: Binding): void {
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
      crossentropyForward(ctx, rec, this.buf.losses, logitsRows, this.buf.targets, n, V, r0, lossScale, { writeGrad: withGrad, rowWeights: rowWeights && { binding: rowWeights, rowsPerWeight: this.T } });
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
    const { cfg, weights } = this.model;
    const s = this.buf.scratch;
    rec.clear(s.dres);
    recordNormBackward(this.model, rec, s.dres, s.dln, this.buf.resid[cfg.numLayers], weights.norm, this.buf.rstdf, this.BT, cfg.hiddenSize);
    for (let l = cfg.numLayers - 1; l >= 0; l--) {
      // Shared buffers hold the last layer's values after the forward; earlier layers refill them.
      if (l < cfg.numLayers - 1) {
        if (this.plan.recompute === 'full') this.layerForward(rec, run, l, true);
        if (this.plan.recompute === 'selective') this.recomputeCheap(rec, l);
      }
      this.layerBackward(rec, run, l);
    }
  }

  /** Full logits [BT, V] into `out` (tests and small-vocab inspection; training never needs them). */
  recordLogits(rec: Recorder, out: Binding): void {
    const { ctx, cfg, weights } = this.model;
    matmulForward(ctx, rec, out, this.buf.lnf, weights.lmHead, null, this.BT, cfg.hiddenSize, cfg.vocabSize);
  }
}
