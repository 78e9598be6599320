// Launchers for causal grouped-query self-attention in training: a flash-attention forward
// that saves the per-row logsumexp, and a flash-attention-2 backward (stats, dq, dk/dv
// passes; recomputes probabilities instead of storing a [T, T] matrix; no float atomics).
//
// Layouts (f32, row-major): q, out, dq, dout [B·T, H, D]; k, v, dk, dv [B·T, KVH, D];
// lse [B, H, T]; segIds u32 [B·T]. Query head h uses kv head floor(h / (H/KVH)).
//
// Masking — causal plus segment ids: query t of batch b sees key s iff s <= t and
// segIds[b·T+s] == segIds[b·T+t]. Packed batches give each sequence its own id; pad tokens
// get an id no real token in the row uses (real tokens then never attend to pads; pads
// attend only to earlier pads with that id, their outputs are finite and should carry
// zero loss). REQUIRED: each segment is one contiguous run of tokens and no two runs in a
// batch row share an id (e.g. ids 0,0,0,1,1,2,2,2; pads as one trailing run). The kernels
// rely on it to skip whole key/query tiles outside a block's segments, so packed batches cost
// ~Σ len² instead of T². The diagonal is always visible, so every row has a finite lse.
// Options (AttentionOptions, shared with the float64 reference): a sliding window of W keys
// (query t also needs t - s < W; key or query tiles outside every row's window are skipped, so a
// layer costs ~T·W rather than T²) and the score scale (default 1/sqrt(D)).
// Positions for RoPE are the caller's business (restart them per segment when packing).
//
// Tile sizes fit the WebGPU default of 16 KiB workgroup memory for any D <= 256. f32 only; the
// row kernels read their tiles by subgroup shuffles where the device's subgroups allow
// (rowReads), the same kernels otherwise.
import forwardCode from '../../../../shaders/attention_forward.wgsl?raw';
import forwardRowsCode from '../../../../shaders/attention_forward_rows.wgsl?raw';
import statsCode from '../../../../shaders/attention_backward_stats.wgsl?raw';
import dqCode from '../../../../shaders/attention_backward_dq.wgsl?raw';
import dkdvCode from '../../../../shaders/attention_backward_dkdv.wgsl?raw';
import dqRowsCode from '../../../../shaders/attention_backward_dq_rows.wgsl?raw';
import dkdvRowsCode from '../../../../shaders/attention_backward_dkdv_rows.wgsl?raw';
import { type Binding, type GpuCaps, type GpuContext, type KernelCost, type Recorder } from '../context';
import { ceilDiv, grid1d } from '../grid';
import { defineParams } from '../params';
import { type AttentionOptions, attentionOptions } from '../../reference/attention';
import { WGSL_LIB, composeShader } from './wgsl';

export type { AttentionOptions } from '../../reference/attention';

// The forward, dq and dk/dv kernels share one Params struct and the segment scans (lib/segments.wgsl);
// the tile kernels their tiles (lib/attention_tiles.wgsl, and lib/attention_tiles_backward.wgsl in
// the backward), the row kernels their vec4 reductions (lib/attention_rows.wgsl) and the forward and
// dq row kernels their K/V tile (lib/attention_key_rows.wgsl).
const PARAMS = defineParams([forwardCode, forwardRowsCode, dqCode, dqRowsCode, dkdvCode, dkdvRowsCode], [
  ['B', 'u32'], ['T', 'u32'], ['H', 'u32'], ['KVH', 'u32'], ['D', 'u32'], ['scale', 'f32'], ['window', 'u32'],
]);
const STATS_PARAMS = defineParams(statsCode, [['B', 'u32'], ['T', 'u32'], ['H', 'u32'], ['D', 'u32']]);
const TILE_LIBS = [WGSL_LIB.window, WGSL_LIB.segments, WGSL_LIB.attentionTiles];
const TILE_BACKWARD_LIBS = [...TILE_LIBS, WGSL_LIB.attentionTilesBackward];

const WG = 128;
const OMAX = 8; // per-invocation accumulator slots in the shaders (const OMAX there)
const WORKGROUP_FLOATS = 16384 / 4; // the WebGPU default maxComputeWorkgroupStorageSize
export const ATTENTION_MAX_D = 256;

// Row kernels (*_rows.wgsl): several query (or key) rows per row slot (rowsPerSlot) with the
// rows and their accumulators in private memory, K/V (or Q/dout) tiles that every invocation
// reads a row at a time (rowReads). ~10x the tile kernels on llvmpipe. The query-row kernels'
// blocks span the query heads of one kv head (queryRowGrid), so GQA groups share each K/V
// tile; the dk/dv kernel sums a kv head's group in one workgroup, its K/V rows loaded once.
// Head dims past 64 split a row across S lanes (invocations) of LANE_VEC4 vec4 each, so the
// private rows stay smaller than at D = 64; they share one pipeline per kernel sized for
// D = 256 (the shader derives S from D), since each pipeline costs a long cold compile on llvmpipe.
const ROWS_WHOLE_D = 64; // head dims up to this keep whole rows in one invocation
const ROWS_WHOLE_WG = 16; // invocations of a whole-row workgroup
const ROWS_NMAX = 32; // const BCMAX in attention_forward_rows.wgsl
const LANE_VEC4 = 8; // vec4 of a row per lane when rows are split (32 floats: the split set compiles ~5x faster cold on llvmpipe than at 64)

/**
 * How a row kernel reads the tile rows that all invocations of a row slot's lane read at once
 * (lib/row_reads_*.wgsl): by subgroup shuffles where every subgroup has one width SG >= 4 that
 * divides the row slots R (so each subgroup holds one lane of SG slots, reading one slice, and
 * the subgroups fill the workgroup), else from workgroup memory. On CPU drivers each
 * workgroup-memory read is a per-invocation gather; a shuffle reads a row slice in DS4 / SG.
 */
export function rowReads(caps: Pick<GpuCaps, 'subgroupSizes'>, L: RowLayout): { lib: string; constants: Record<string, number> } {
  const sizes = caps.subgroupSizes;
  if (!sizes || sizes.min !== sizes.max || sizes.min < 4 || L.R % sizes.min !== 0) return { lib: WGSL_LIB.rowReadsWorkgroup, constants: {} };
  return { lib: WGSL_LIB.rowReadsSubgroup, constants: { SG: sizes.min } };
}

/** Whether the row kernels serve head dim D (else the general tile kernels do). */
export function attentionUsesRowKernels(D: number): boolean {
  return D <= ATTENTION_MAX_D && D % 4 === 0;
}

/** How a row kernel lays out head dim D: S lanes per row of DS4 vec4 each, WG invocations, tiles of `tile` keys (queries). */
export interface RowLayout {
  S: number;
  DS4: number;
  WG: number;
  /** Row slots: rowsPerSlot·R rows per workgroup. */
  R: number;
  DMAX: number;
  tile: number;
  /** Most keys (queries) a tile holds: `tile`, or more for split head dims below DMAX (override KMAX). */
  KMAX: number;
  /** Workgroup slots for the lanes' partial sums (1 for whole rows: none used). */
  PARTN: number;
  /** Rows split across lanes: the shared pipeline for head dims past 64 (override SPLIT). */
  split: boolean;
}

/**
 * The row kernels' layout for head dim D: whole rows (S = 1) up to D = 64, else S lanes of
 * LANE_VEC4 vec4 (the least power of two that holds D, as lib/attention_rows.wgsl rowLanes) in a
 * pipeline sized for D = 256; and the largest tile of `arrays` [n, DMAX] workgroup arrays plus
 * the lane sums (`partWords` words per lane and entry) within 16 KiB. With `packs` a split tile
 * holds up to KMAX rows of the smallest split head dim (lib/attention_rows tileRows), where the
 * lane sums leave room. Whole rows run 16 invocations: 64 rows per workgroup at four per slot.
 */
export function rowKernelLayout(D: number, arrays: number, partWords = 4, packs = false): RowLayout {
  const split = D > ROWS_WHOLE_D;
  const DMAX = split ? ATTENTION_MAX_D : headDimClass(D);
  const DS4 = split ? LANE_VEC4 : DMAX / 4;
  let S = 1;
  while (S * DS4 * 4 < D) S *= 2;
  for (const n of [32, 16, 8, 4]) {
    const packMax = split && packs ? DMAX / (4 * DS4 * 4) : 1; // rows per DMAX row at the fewest split lanes (4)
    // Split rows: 64 invocations, with as many packed rows as leave room for their lane sums (any
    // count: the backward's vec4 sums fit 7 of D = 128's 8), else 32. More row slots beat a
    // fuller packed tile: each tile load and barrier then serves twice the rows.
    for (const WG of split ? [64, 32] : [ROWS_WHOLE_WG]) {
      for (let KMAX = n * packMax; KMAX >= n; KMAX--) {
        const PARTN = split ? KMAX * WG : 1;
        const words = arrays * n * DMAX + 3 * KMAX + 3 + (split ? partWords * PARTN : 0); // + the scans' and the row reads' words
        if (KMAX <= ROWS_NMAX && words <= WORKGROUP_FLOATS) return { S, DS4, WG, R: WG / S, DMAX, tile: n, KMAX, PARTN, split };
      }
    }
  }
  throw new Error(`attention: no row tile fits head dim ${D}`);
}

/**
 * Grid of the query-row kernels (forward, dq): blocks of P positions × GW query heads of one kv
 * head, so a K/V tile a workgroup loads serves its whole GQA group (lib/attention_key_rows
 * queryBlock computes the same): N = slotRows·R rows per block (rowsPerSlot), GW = min(G, N)
 * of the G = H / KVH heads, P = floor(N / GW).
 * Blocks end at T: where P does not divide T, the first block is the partly filled one.
 */
export function queryRowGrid(L: RowLayout, B: number, T: number, H: number, KVH: number, slotRows: number): [number, number, number] {
  const G = H / KVH;
  const N = slotRows * L.R;
  const GW = Math.min(G, N);
  const P = Math.floor(N / GW);
  return [ceilDiv(T, P), KVH * ceilDiv(G, GW), B];
}

/** The row kernels' layout (forward, dq and dk/dv alike): two tile arrays, vec4 lane sums, packed split tiles. */
export function rowLayout(D: number): RowLayout {
  return rowKernelLayout(D, 2, 4, true);
}

/**
 * Rows per row slot (NR in the kernels): query rows of the forward and dq kernels, key rows of
 * the dk/dv kernel. Four, so each tile entry a slot reads feeds four rows; the backward's split
 * rows keep two, whose (q·k, dout·v) pairs fill its vec4 lane sums.
 */
export function rowsPerSlot(kernel: 'forward' | 'dq' | 'dkdv', L: RowLayout): number {
  return kernel === 'forward' || !L.split ? 4 : 2;
}

/**
 * A row kernel's pipeline at layout L: its libraries (with the K/V tile, lib/attention_key_rows,
 * for the kernels that stream keys: tileName BC; the dk/dv kernel streams Q/dout tiles, BR) and
 * constants. Whole rows pass only what the whole-row code takes (SPLIT defaults to false), so
 * its split-only branches compile away.
 */
function rowPipeline(ctx: GpuContext, L: RowLayout, code: string, tileName: 'BC' | 'BR', label: string): GPUComputePipeline {
  const reads = rowReads(ctx.caps, L);
  const libs = [WGSL_LIB.window, WGSL_LIB.segments, WGSL_LIB.attentionRows, reads.lib, ...(tileName === 'BC' ? [WGSL_LIB.attentionKeyRows] : [])];
  const c = { WG: L.WG, DMAX: L.DMAX, [tileName]: L.tile, ...reads.constants };
  const constants = L.split ? { ...c, SPLIT: 1, DS4: L.DS4, PARTN: L.PARTN, ...(L.KMAX > L.tile ? { KMAX: L.KMAX } : {}) } : c;
  return ctx.pipeline(composeShader(libs, code), { constants, label });
}

/**
 * FLOPs of the causal forward, QKᵀ and P·V over the T(T+1)/2 visible (query, key) pairs per
 * head: the convention the bench rates attention by (its backward's useful FLOPs are 2.5×
 * this). Packed batches skip tiles across segments, so a packed step does less than this.
 */
export function attentionForwardFlops(B: number, T: number, H: number, D: number, window = T): number {
  // Query t sees min(t + 1, W) keys.
  const W = Math.min(window, T);
  return 4 * B * H * D * ((W * (W + 1)) / 2 + (T - W) * W);
}

/**
 * The profile's cost of each attention kernel: the products it really computes (the backward
 * kernels recompute QKᵀ, and both need dP: dq does 3 products, dk/dv 4) and the tensors it reads
 * and writes once each.
 */
function attentionCost(kernel: 'forward' | 'stats' | 'dq' | 'dkdv', B: number, T: number, H: number, KVH: number, D: number, window = T): KernelCost {
  const qBytes = B * T * H * D * 4;
  const kBytes = B * T * KVH * D * 4;
  const rowBytes = B * H * T * 4; // lse, or half the stats pairs
  const segBytes = B * T * 4;
  const product = attentionForwardFlops(B, T, H, D, window) / 2;
  switch (kernel) {
    case 'forward':
      return { flops: 2 * product, bytes: 2 * qBytes + 2 * kBytes + rowBytes + segBytes };
    case 'stats':
      return { flops: 2 * B * T * H * D, bytes: 2 * qBytes + 3 * rowBytes };
    case 'dq':
      return { flops: 3 * product, bytes: 3 * qBytes + 2 * kBytes + 2 * rowBytes + segBytes };
    case 'dkdv':
      return { flops: 4 * product, bytes: 2 * qBytes + 4 * kBytes + 2 * rowBytes + segBytes };
  }
}

interface Tiles {
  BR: number; // query rows per tile
  BC: number; // key rows per tile
}

type Kernel = 'forward' | 'dq' | 'dkdv';

/** Workgroup floats each shader declares for tiles (BR, BC) and head dim D (see the headers). */
function workgroupFloats(kind: Kernel, { BR, BC }: Tiles, D: number): number {
  switch (kind) {
    case 'forward':
      return (BR + 2 * BC) * D + BR * BC + 4 * BR + BC + 2;
    case 'dq':
      return (2 * BR + 2 * BC) * D + BR * BC + 3 * BR + BC + 2;
    case 'dkdv':
      return (2 * BC + 2 * BR) * D + 2 * BR * BC + 3 * BR + BC + 2;
  }
}

const PREFERENCES: Record<Kernel, [number, number][]> = {
  forward: [[32, 32], [16, 16], [16, 8], [8, 8], [8, 4], [4, 4], [2, 2], [1, 1]],
  dq: [[32, 32], [16, 16], [16, 8], [8, 8], [8, 4], [4, 4], [2, 2], [1, 1]],
  dkdv: [[32, 32], [16, 16], [8, 16], [8, 8], [4, 8], [4, 4], [2, 2], [1, 1]],
};

/**
 * Head dim the shaders' workgroup arrays are sized for: a few classes instead of every D,
 * so a model needs one pipeline per kernel and the first-use JIT cost (large on llvmpipe)
 * is paid rarely. Loops run to the real D.
 */
export function headDimClass(D: number): number {
  for (const c of [32, 64, 128, 256]) if (D <= c) return c;
  throw new Error(`attention: head dim ${D} > ${ATTENTION_MAX_D}`);
}

/** Largest preferred tiles that fit 16 KiB of workgroup memory and the accumulator slots. */
export function attentionTiles(kind: Kernel, D: number): Tiles {
  D = headDimClass(D);
  for (const [BR, BC] of PREFERENCES[kind]) {
    const t = { BR, BC };
    const accRows = kind === 'dkdv' ? BC : BR; // rows of the per-invocation accumulators
    if (workgroupFloats(kind, t, D) <= WORKGROUP_FLOATS && accRows * D <= OMAX * WG) return t;
  }
  throw new Error(`attention: no tile fits head dim ${D}`);
}

function check(B: number, T: number, H: number, KVH: number, D: number, maxDim: number): void {
  if (!(B >= 1 && T >= 1 && H >= 1 && KVH >= 1 && D >= 1)) throw new Error(`attention: bad shape B=${B} T=${T} H=${H} KVH=${KVH} D=${D}`);
  if (H % KVH !== 0) throw new Error(`attention: H=${H} is not a multiple of KVH=${KVH}`);
  if (D > ATTENTION_MAX_D) throw new Error(`attention: head dim ${D} > ${ATTENTION_MAX_D}`);
  if (H > maxDim || B > maxDim || T > maxDim) throw new Error('attention: B, T or H beyond the workgroup grid limit');
}

/** The kernels' parameter block and the window it holds (the cost model counts the window's key pairs). */
function params(B: number, T: number, H: number, KVH: number, D: number, opts: AttentionOptions) {
  const { window, scale } = attentionOptions(opts, D);
  // A window of T or more keys is full attention: the kernels then mask and skip exactly as without one.
  const W = Math.min(window, T);
  return { prm: PARAMS.pack({ B, T, H, KVH, D, scale, window: W }), window: W };
}

/**
 * Causal GQA attention forward. Overwrites out [B·T, H, D] and lse [B, H, T]
 * (lse = log Σ exp(q·k/sqrt(D)) over visible keys, needed by attentionBackward).
 * q [B·T, H, D], k, v [B·T, KVH, D], segIds u32 [B·T] (see the masking note above).
 */
export function attentionForward(
  ctx: GpuContext,
  rec: Recorder,
  out: Binding,
  lse: Binding,
  q: Binding,
  k: Binding,
  v: Binding,
  segIds: Binding,
  B: number,
  T: number,
  H: number,
  KVH: number,
  D: number,
  opts: AttentionOptions = {},
): void {
  check(B, T, H, KVH, D, ctx.caps.maxComputeWorkgroupsPerDimension);
  const { prm, window } = params(B, T, H, KVH, D, opts);
  if (attentionUsesRowKernels(D)) {
    const L = rowLayout(D);
    const pipeline = rowPipeline(ctx, L, forwardRowsCode, 'BC', 'attention_forward_rows');
    rec.dispatch(pipeline, [out, lse, q, k, v, segIds], prm, queryRowGrid(L, B, T, H, KVH, rowsPerSlot('forward', L)), 'attention_forward_rows', attentionCost('forward', B, T, H, KVH, D, window));
    return;
  }
  const { BR, BC } = attentionTiles('forward', D);
  const pipeline = ctx.pipeline(composeShader(TILE_LIBS, forwardCode), { constants: { WG, BR, BC, DMAX: headDimClass(D) }, label: 'attention_forward' });
  rec.dispatch(pipeline, [out, lse, q, k, v, segIds], prm, [ceilDiv(T, BR), H, B], 'attention_forward', attentionCost('forward', B, T, H, KVH, D, window));
}

/** Bytes of the `stats` scratch attentionBackward needs: (lse, Dl) pairs, [B, H, T] vec2<f32>. */
export function attentionBackwardScratchBytes(B: number, T: number, H: number): number {
  return B * H * T * 8;
}

/**
 * Causal GQA attention backward (flash-attention-2 recomputation from lse).
 * OVERWRITES dq [B·T, H, D], dk and dv [B·T, KVH, D] (q, k, v each come from a single
 * projection, so there is nothing to accumulate into); dk/dv sum over the H/KVH query
 * heads of their group. `stats` is scratch of attentionBackwardScratchBytes(B, T, H).
 * dout, out [B·T, H, D] and lse [B, H, T] come from the forward (out and lse as it
 * wrote them); segIds must be the ones the forward used.
 * Three passes: stats (lse, Σ dout·out per row), dq per query block, dk/dv per key block.
 */
export function attentionBackward(
  ctx: GpuContext,
  rec: Recorder,
  dq: Binding,
  dk: Binding,
  dv: Binding,
  stats: Binding,
  dout: Binding,
  q: Binding,
  k: Binding,
  v: Binding,
  out: Binding,
  lse: Binding,
  segIds: Binding,
  B: number,
  T: number,
  H: number,
  KVH: number,
  D: number,
  opts: AttentionOptions = {},
): void {
  const maxDim = ctx.caps.maxComputeWorkgroupsPerDimension;
  const { prm, window } = params(B, T, H, KVH, D, opts);
  check(B, T, H, KVH, D, maxDim);
  const SWG = 64;
  const rows = attentionUsesRowKernels(D);
  const L = rows ? rowLayout(D) : null;
  // Dl summed in the row kernels' order (per lane slice when rows split) where they compute dout·v.
  const statsPipe = ctx.pipeline(statsCode, { constants: { WG: SWG, VEC4_ORDER: L ? 1 : 0, ...(L?.split ? { SLICE4: L.DS4 } : {}) }, label: 'attention_backward_stats' });
  rec.dispatch(statsPipe, [stats, dout, out, lse], STATS_PARAMS.pack({ B, T, H, D }), grid1d(ceilDiv(B * T * H, SWG), maxDim), 'attention_backward_stats', attentionCost('stats', B, T, H, KVH, D));

  if (L) {
    const dqPipe = rowPipeline(ctx, L, dqRowsCode, 'BC', 'attention_backward_dq_rows');
    rec.dispatch(dqPipe, [dq, dout, q, k, v, stats, segIds], prm, queryRowGrid(L, B, T, H, KVH, rowsPerSlot('dq', L)), 'attention_backward_dq_rows', attentionCost('dq', B, T, H, KVH, D, window));
    // A workgroup owns rowsPerSlot·R keys of one kv head (64 at whole rows).
    const dkdvPipe = rowPipeline(ctx, L, dkdvRowsCode, 'BR', 'attention_backward_dkdv_rows');
    rec.dispatch(dkdvPipe, [dk, dv, dout, q, k, v, stats, segIds], prm, [ceilDiv(T, rowsPerSlot('dkdv', L) * L.R), KVH, B], 'attention_backward_dkdv_rows', attentionCost('dkdv', B, T, H, KVH, D, window));
    return;
  }
  const tq = attentionTiles('dq', D);
  const dqPipe = ctx.pipeline(composeShader(TILE_BACKWARD_LIBS, dqCode), { constants: { WG, BR: tq.BR, BC: tq.BC, DMAX: headDimClass(D) }, label: 'attention_backward_dq' });
  rec.dispatch(dqPipe, [dq, dout, q, k, v, stats, segIds], prm, [ceilDiv(T, tq.BR), H, B], 'attention_backward_dq', attentionCost('dq', B, T, H, KVH, D, window));

  const tk = attentionTiles('dkdv', D);
  const dkdvPipe = ctx.pipeline(composeShader(TILE_BACKWARD_LIBS, dkdvCode), { constants: { WG, BR: tk.BR, BC: tk.BC, DMAX: headDimClass(D) }, label: 'attention_backward_dkdv' });
  rec.dispatch(dkdvPipe, [dk, dv, dout, q, k, v, stats, segIds], prm, [ceilDiv(T, tk.BC), KVH, B], 'attention_backward_dkdv', attentionCost('dkdv', B, T, H, KVH, D, window));
}
