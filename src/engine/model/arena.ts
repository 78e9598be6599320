// Activation memory for a training step at a fixed (B, T): what is kept for the backward,
// what is scratch, and how big the LM-head chunk is. Every tensor is its own GPUBuffer on
// purpose: WebGPU forbids binding one buffer as read-only and writable storage in the same
// dispatch, even for disjoint ranges, so a single-buffer arena would fail validation as soon
// as a kernel reads one activation and writes another. The one exception, LoRA's h (and the dh
// scratch): the modules that share an input keep theirs as ranges of one buffer, which one
// dispatch writes together and no dispatch reads while writing another range of.
//
// Three recompute levels (RecomputeLevel):
//  - 'none': every layer keeps all it wrote for its backward.
//  - 'selective': each layer keeps what is costly to recompute (q, k, v, att, lse, xMid, gate,
//    up, LoRA h; with q/k norms qPre, kPre instead of q, k); the RMSNorm outputs ln1/ln2 (+ rstd),
//    act = silu(gate)·up (and q, k from the q/k norms + RoPE) live in one shared set and are recomputed (two norms, one elementwise pass; no matmul) just before
//    the layer's backward. About a third of the per-layer bytes at SmolLM2 shapes.
//  - 'full': only the residual stream entering each layer is kept; the backward re-runs each
//    layer's forward (into one shared set of buffers) just before its backward. That costs
//    one more forward and cuts activation memory by roughly the number of layers.
//
// At every level, scratch that is never live at the same time as another buffer lives in it
// (PlannedTensor.host), which changes no value, only where it is stored:
//  - the MLP backward writes dgate, dup over gate, up (swigluBackwardInPlace);
//  - the attention backward's datt, dq, dk, dv go into dact and the layer's act, gate, up,
//    all dead once the MLP backward has run (when F ≥ H·D, as in every preset);
//  - the o_proj/down_proj output `proj` (forward only) lives in dln (backward only);
//  - the LM-head logits chunk lives in dact (free between the forward and the backward) when it fits.
import { type Binding, type GpuContext, allocationSize, bindingSpan } from '../gpu/context';
import { type LinearModule, type ModelConfig, SHARED_INPUT_GROUPS } from './config';
import type { LoraLayout } from './lora-params';

/** How much of each layer's forward the backward recomputes instead of keeping. */
export type RecomputeLevel = 'none' | 'selective' | 'full';

/** Per-layer activations recomputed cheaply (norms, SwiGLU) under 'selective'. */
export const CHEAP_ACTIVATIONS: readonly string[] = ['ln1', 'rstd1', 'ln2', 'rstd2', 'act'];

/**
 * With q/k norms (qwen3) q and k after RoPE are cheap too: the per-head norms and RoPE
 * rebuild them from the kept q_proj/k_proj outputs (qPre, kPre), no matmul.
 */
export const CHEAP_QK_NORM_ACTIVATIONS: readonly string[] = ['q', 'k', 'rstdq', 'rstdk'];

/** Whether a per-layer tensor has one buffer per layer at this level (otherwise one shared). */
export function keptPerLayer(name: string, level: RecomputeLevel, qkNorm = false): boolean {
  const cheap = CHEAP_ACTIVATIONS.includes(name) || (qkNorm && CHEAP_QK_NORM_ACTIVATIONS.includes(name));
  return level === 'none' || (level === 'selective' && !cheap);
}

/**
 * Buffers one layer's forward writes and its backward reads. Entries that are not kept per
 * layer at the plan's level are the same shared buffer in every layer's set.
 */
export interface LayerActivations {
  ln1: GPUBuffer; // [BT, C]
  rstd1: GPUBuffer; // [BT]
  q: GPUBuffer; // [BT, H·D] after RoPE
  k: GPUBuffer; // [BT, KVH·D] after RoPE
  v: GPUBuffer; // [BT, KVH·D]
  att: GPUBuffer; // [BT, H·D] attention output
  lse: GPUBuffer; // [B, H, T]
  xMid: GPUBuffer; // [BT, C] residual after attention
  ln2: GPUBuffer; // [BT, C]
  rstd2: GPUBuffer; // [BT]
  gate: GPUBuffer; // [BT, F]
  up: GPUBuffer; // [BT, F]
  act: GPUBuffer; // [BT, F] silu(gate)·up
  /**
   * LoRA intermediate h = dropout(x)·Aᵀ [BT, R] per adapted module: ranges of one buffer per
   * group of modules that share an input (loraHGroups), so one dispatch writes the group's.
   */
  loraH: Partial<Record<LinearModule, Binding>>;
  /** Present when the model has q/k norms (qwen3, gemma). */
  qkNorm: QkNormActivations | null;
  /** Present when the sublayer outputs are normed before the residual adds (gemma). */
  outNorm: OutNormActivations | null;
}

/**
 * Gemma's norms of the sublayer outputs: their inputs (the o_proj / down_proj outputs, kept
 * at every level but 'full': they come from a matmul) and rstd.
 */
export interface OutNormActivations {
  attOut: GPUBuffer; // [BT, C] o_proj output before post_attention_layernorm
  rstdAttn: GPUBuffer; // [BT]
  mlpOut: GPUBuffer; // [BT, C] down_proj output before post_feedforward_layernorm
  rstdMlp: GPUBuffer; // [BT]
}

/** What a layer with per-head q/k RMSNorm (qwen3) keeps besides q and k: the norms' inputs and rstd. */
export interface QkNormActivations {
  qPre: GPUBuffer; // [BT, H·D] q_proj output before the norm
  kPre: GPUBuffer; // [BT, KVH·D]
  rstdq: GPUBuffer; // [BT·H] one per (token, head)
  rstdk: GPUBuffer; // [BT·KVH]
}

/** The attention backward's gradients: [BT, H·D] datt, dq; [BT, KVH·D] dk, dv. */
export interface AttentionGrads {
  datt: GPUBuffer;
  dq: GPUBuffer;
  dk: GPUBuffer;
  dv: GPUBuffer;
}

/** Scratch reused by every layer (forward temporaries and backward gradients). */
export interface Scratch {
  proj: GPUBuffer; // [BT, C] o_proj / down_proj output before the residual add (the dln buffer)
  dres: GPUBuffer; // [BT, C] gradient of the residual stream
  dln: GPUBuffer; // [BT, C] gradient of a normed input (also dL/d lnf)
  /** Own buffers only where F < H·D; null: dact and the layer's act, gate, up (attentionGradsInMlp). */
  attGrads: AttentionGrads | null;
  attStats: GPUBuffer; // attention backward scratch
  dact: GPUBuffer; // [BT, F] (dgate, dup are written over the layer's gate, up)
  dh: GPUBuffer; // LoRA backward scratch: each module's dh in the range its h has of its group's buffer (sized for the largest group)
  logits: GPUBuffer; // [chunkRows, V] logits, overwritten in place by dlogits (the dact buffer when it fits)
}

/** Whether the attention backward's gradients fit the MLP's dead [BT, F] buffers (F ≥ H·D; KVH ≤ H). */
export function attentionGradsInMlp(cfg: Pick<ModelConfig, 'intermediateSize' | 'numHeads' | 'headDim'>): boolean {
  return cfg.intermediateSize >= cfg.numHeads * cfg.headDim;
}

export interface StepBuffers {
  ids: GPUBuffer; // u32 [BT]
  targets: GPUBuffer; // i32 [BT]
  positions: GPUBuffer; // u32 [BT]
  segIds: GPUBuffer; // u32 [BT]
  losses: GPUBuffer; // f32 [BT] per-row loss (0 where ignored)
  /** resid[l] enters layer l; resid[L] is the final residual stream. [BT, C] each. */
  resid: GPUBuffer[];
  lnf: GPUBuffer; // [BT, C]
  rstdf: GPUBuffer; // [BT]
  /** One set per layer (L entries); shared entries are the same GPUBuffer in each. */
  layers: LayerActivations[];
  scratch: Scratch;
  bytes: number;
}

export interface ActivationPlanOptions {
  recompute: RecomputeLevel;
  /** Rows of the LM head processed per chunk (multiple of 64); default from logitsBudgetBytes. */
  logitsChunkRows?: number;
  /** Bytes the [rows, V] logits chunk may take; default 32 MiB. */
  logitsBudgetBytes?: number;
  /** Binding limit the chunk must fit (maxStorageBufferBindingSize). */
  maxBindingBytes: number;
  /** Bytes of the attention-backward scratch for (B, T, H). */
  attentionScratchBytes: number;
}

/**
 * What a planned buffer is for (the breakdown users see, activationBreakdown): the batch's
 * ids, targets, positions, segment ids and losses; the residual stream entering each layer
 * (+ the final norm's output); activations kept per layer for the backward; the one shared
 * layer set the others are (re)computed into; the backward's gradient scratch; the LM-head
 * logits chunk.
 */
export type ActivationKind = 'batch' | 'residual' | 'kept' | 'layerSet' | 'gradients' | 'logits';

/**
 * A named buffer size (bytes) in the plan. `perLayer`: part of a layer's activations;
 * `copies`: how many buffers of it exist at the plan's level (L when kept per layer, else 1;
 * 0 when it lives in `host`'s buffer, never live at the same time).
 */
export interface PlannedTensor {
  name: string;
  bytes: number;
  perLayer: boolean;
  copies: number;
  kind: ActivationKind;
  host?: string;
}

export interface ActivationPlan {
  B: number;
  T: number;
  chunkRows: number;
  recompute: RecomputeLevel;
  /** The LoRA rank the h buffers are planned for (0 without LoRA). */
  loraR: number;
  tensors: PlannedTensor[];
  /** Total bytes of all buffers of the plan. */
  totalBytes: number;
}

/** Rows per LM-head chunk: a multiple of 64 (so row offsets stay 256-byte aligned), ≥ 64. */
export function logitsChunkRows(BT: number, V: number, budgetBytes: number, maxBindingBytes: number): number {
  const fit = Math.floor(Math.min(budgetBytes, maxBindingBytes) / (V * 4));
  const rows = Math.max(64, Math.floor(fit / 64) * 64);
  if (rows * V * 4 > maxBindingBytes) throw new Error(`a 64-row logits chunk over V=${V} exceeds the storage binding limit`);
  return Math.min(rows, Math.ceil(BT / 64) * 64);
}

/** f32 elements from one module's h (or dh) range to the next in a group's buffer: BT·R rounded up to 256 bytes (storage offset alignment). */
export function loraHStride(BT: number, R: number): number {
  return Math.ceil((BT * R) / 64) * 64;
}

/** The groups of adapted `modules` whose h share a buffer (SHARED_INPUT_GROUPS with the others left out). */
export function loraHGroups(modules: readonly LinearModule[]): LinearModule[][] {
  return SHARED_INPUT_GROUPS.map((g) => g.filter((m) => modules.includes(m))).filter((g) => g.length > 0);
}

const LORA_H = 'loraH.';

/** Pure plan of every activation buffer for a (B, T) step (sizes only; no GPU). */
export function planActivations(cfg: Pick<ModelConfig, 'numLayers' | 'hiddenSize' | 'intermediateSize' | 'numHeads' | 'numKvHeads' | 'headDim' | 'vocabSize' | 'qkNorm' | 'gemma'>, lora: Pick<LoraLayout, 'R' | 'slots'> | null, B: number, T: number, o: ActivationPlanOptions): ActivationPlan {
  if (!Number.isInteger(B) || !Number.isInteger(T) || B < 1 || T < 1) throw new Error(`batch shape B=${B}, T=${T} must be positive integers`);
  const BT = B * T;
  const C = cfg.hiddenSize;
  const F = cfg.intermediateSize;
  const qd = cfg.numHeads * cfg.headDim;
  const kvd = cfg.numKvHeads * cfg.headDim;
  const R = lora?.R ?? 0;
  const chunkRows = o.logitsChunkRows ?? logitsChunkRows(BT, cfg.vocabSize, o.logitsBudgetBytes ?? 32 << 20, o.maxBindingBytes);
  if (chunkRows % 64 !== 0 || chunkRows < 64) throw new Error(`logitsChunkRows ${chunkRows} must be a positive multiple of 64`);
  const f = 4;
  const t: PlannedTensor[] = [];
  let kind: ActivationKind = 'batch';
  const add = (name: string, elems: number, perLayer = false, host?: string) => {
    const kept = perLayer && keptPerLayer(name, o.recompute, cfg.qkNorm);
    t.push({ name, bytes: elems * f, perLayer, copies: host ? 0 : kept ? cfg.numLayers : 1, kind: perLayer ? (kept ? 'kept' : 'layerSet') : kind, ...(host ? { host } : {}) });
  };
  for (const n of ['ids', 'targets', 'positions', 'segIds', 'losses']) add(n, BT);
  kind = 'residual';
  for (let l = 0; l <= cfg.numLayers; l++) add(`resid.${l}`, BT * C);
  add('lnf', BT * C);
  add('rstdf', BT);
  add('ln1', BT * C, true);
  add('rstd1', BT, true);
  add('q', BT * qd, true);
  add('k', BT * kvd, true);
  add('v', BT * kvd, true);
  if (cfg.qkNorm) {
    add('qPre', BT * qd, true);
    add('kPre', BT * kvd, true);
    add('rstdq', BT * cfg.numHeads, true);
    add('rstdk', BT * cfg.numKvHeads, true);
  }
  add('att', BT * qd, true);
  add('lse', B * cfg.numHeads * T, true);
  if (cfg.gemma) {
    add('attOut', BT * C, true);
    add('rstdAttn', BT, true);
    add('mlpOut', BT * C, true);
    add('rstdMlp', BT, true);
  }
  add('xMid', BT * C, true);
  add('ln2', BT * C, true);
  add('rstd2', BT, true);
  add('gate', BT * F, true);
  add('up', BT * F, true);
  add('act', BT * F, true);
  const groups = loraHGroups(lora ? lora.slots.map((s) => s.module) : []);
  const stride = loraHStride(BT, R);
  for (const g of groups) add(LORA_H + g.join('+'), stride * (g.length - 1) + BT * R, true);
  kind = 'gradients';
  const dh = stride * (Math.max(1, ...groups.map((g) => g.length)) - 1) + BT * Math.max(R, 1);
  for (const [n, e] of [['dres', BT * C], ['dln', BT * C], ['dact', BT * F], ['dh', dh]] as const) add(n, e);
  add('proj', BT * C, false, 'dln');
  const inMlp = attentionGradsInMlp(cfg);
  for (const [n, e, host] of [['datt', BT * qd, 'dact'], ['dq', BT * qd, 'act'], ['dk', BT * kvd, 'gate'], ['dv', BT * kvd, 'up']] as const) add(n, e, false, inMlp ? host : undefined);
  add('attStats', o.attentionScratchBytes / f);
  kind = 'logits';
  const logitsElems = chunkRows * cfg.vocabSize;
  add('logits', logitsElems, false, logitsElems <= BT * F ? 'dact' : undefined);
  for (const x of t) if (x.copies > 0 && x.bytes > o.maxBindingBytes) throw new Error(`activation ${x.name} needs ${x.bytes} bytes, over the storage binding limit ${o.maxBindingBytes}: lower the batch size or sequence length`);
  const totalBytes = t.reduce((s, x) => s + allocationSize(x.bytes) * x.copies, 0);
  return { B, T, chunkRows, recompute: o.recompute, loraR: R, tensors: t, totalBytes };
}

/** Creates the plan's buffers. Per-layer LoRA h buffers exist only for modules adapted in that layer. */
export function allocateActivations(ctx: GpuContext, plan: ActivationPlan, numLayers: number, loraModulesOfLayer: (l: number) => LinearModule[]): StepBuffers {
  const size = new Map(plan.tensors.map((x) => [x.name, x.bytes]));
  const host = new Map(plan.tensors.filter((x) => x.host).map((x) => [x.name, x.host!]));
  const qkNorm = size.has('qPre'); // the plan holds q/k norm activations only for such models
  const outNorm = size.has('attOut'); // and output-norm activations only for gemma
  let bytes = 0;
  const mk = (name: string, label = name) => {
    const b = ctx.createBuffer(size.get(name)!, label);
    bytes += b.size;
    return b;
  };
  const shared = new Map<string, GPUBuffer>();
  const hGroups = plan.tensors.filter((x) => x.name.startsWith(LORA_H)).map((x) => x.name);
  const R = hGroups.length > 0 ? plan.loraR : 0;
  const hStride = loraHStride(plan.B * plan.T, R);
  const hBytes = plan.B * plan.T * R * 4;
  // A layer's buffer: its own when kept per layer at this level, else the one shared buffer.
  const layerBuffer = (l: number, n: string) => {
    if (keptPerLayer(n, plan.recompute, qkNorm)) return mk(n, `L${l}.${n}`);
    let b = shared.get(n);
    if (!b) shared.set(n, (b = mk(n, `shared.${n}`)));
    return b;
  };
  const layerSet = (l: number): LayerActivations => {
    const loraH: LayerActivations['loraH'] = {};
    const adapted = loraModulesOfLayer(l);
    for (const name of hGroups) {
      const g = name.slice(LORA_H.length).split('+') as LinearModule[];
      if (!g.some((m) => adapted.includes(m))) continue;
      const buffer = layerBuffer(l, name);
      g.forEach((m, i) => {
        if (adapted.includes(m)) loraH[m] = { buffer, offset: i * hStride * 4, size: hBytes };
      });
    }
    const p = (n: string) => layerBuffer(l, n);
    return {
      ln1: p('ln1'), rstd1: p('rstd1'), q: p('q'), k: p('k'), v: p('v'), att: p('att'), lse: p('lse'), xMid: p('xMid'),
      ln2: p('ln2'), rstd2: p('rstd2'), gate: p('gate'), up: p('up'), act: p('act'), loraH,
      qkNorm: qkNorm ? { qPre: p('qPre'), kPre: p('kPre'), rstdq: p('rstdq'), rstdk: p('rstdk') } : null,
      outNorm: outNorm ? { attOut: p('attOut'), rstdAttn: p('rstdAttn'), mlpOut: p('mlpOut'), rstdMlp: p('rstdMlp') } : null,
    };
  };
  const resid: GPUBuffer[] = [];
  for (let l = 0; l <= numLayers; l++) resid.push(mk(`resid.${l}`));
  const layers = [...Array(numLayers).keys()].map(layerSet);
  const made = new Map<string, GPUBuffer>();
  // A step buffer, or the buffer of the tensor it lives in.
  const s = (n: string): GPUBuffer => {
    const h = host.get(n);
    if (h) return s(h);
    let b = made.get(n);
    if (!b) made.set(n, (b = mk(n)));
    return b;
  };
  // Hosted in the layer's act, gate, up: the backward picks each layer's own (TrainingGraph).
  const attGrads = host.get('dq') ? null : { datt: s('datt'), dq: s('dq'), dk: s('dk'), dv: s('dv') };
  const scratch: Scratch = {
    proj: s('proj'), dres: s('dres'), dln: s('dln'), attGrads, attStats: s('attStats'), dact: s('dact'), dh: s('dh'), logits: s('logits'),
  };
  return {
    ids: s('ids'), targets: s('targets'), positions: s('positions'), segIds: s('segIds'), losses: s('losses'),
    resid, lnf: s('lnf'), rstdf: s('rstdf'), layers, scratch, bytes,
  };
}

export function destroyActivations(ctx: GpuContext, b: StepBuffers): void {
  const { attGrads, ...scratch } = b.scratch;
  const all = new Set<GPUBuffer>([b.ids, b.targets, b.positions, b.segIds, b.losses, ...b.resid, b.lnf, b.rstdf, ...Object.values(scratch), ...Object.values(attGrads ?? {})]);
  for (const l of b.layers) {
    const { loraH, qkNorm, outNorm, ...rest } = l;
    for (const x of [...Object.values(rest), ...Object.values(loraH).map((h) => bindingSpan(h!).buffer), ...Object.values(qkNorm ?? {}), ...Object.values(outNorm ?? {})]) all.add(x); // shared buffers once
  }
  for (const x of all) ctx.destroy(x);
}

/** Bytes of the plan's buffers per kind (hosted tensors cost nothing): where the activation memory goes. */
export function activationBreakdown(plan: Pick<ActivationPlan, 'tensors'>): Record<ActivationKind, number> {
  const r: Record<ActivationKind, number> = { batch: 0, residual: 0, kept: 0, layerSet: 0, gradients: 0, logits: 0 };
  for (const x of plan.tensors) r[x.kind] += allocationSize(x.bytes) * x.copies;
  return r;
}
