// float64 reference for causal grouped-query self-attention (training and generation).
//
// Layouts (row-major, same as the GPU launchers):
//   q, out, dq, dout: [B·T, H, D]     k, v, dk, dv: [B·T, KVH, D]
//   lse, Dl:          [B, H, T]       segIds:       u32 [B·T]
// Query head h reads kv head floor(h / (H / KVH)) (H a multiple of KVH). scale = 1/sqrt(D)
// unless the options give another (Gemma's query_pre_attn_scalar^-0.5).
//
// Mask: query t of batch b sees key s of the same batch iff s <= t and
// segIds[b·T + s] === segIds[b·T + t], and with a sliding window of W keys (Gemma's local
// layers, HF `sliding_window`) also t - s < W: each query sees at most W keys, its own
// included. Segment ids cover packed batches (each packed sequence gets its own id) and padding (pad tokens get an id no real token uses, so real
// tokens never see them). Each segment must be one contiguous run whose id no other run of
// the batch row uses (the GPU kernels skip tiles outside a block's segments, relying on it);
// the reference checks this and throws. The diagonal is always visible, so no row is ever
// fully masked and lse is always finite.
//
// The plain O(T²) formulation on purpose: the GPU kernel is flash-attention style and this
// is what it must equal.

/** Throws unless every batch row's segment ids form contiguous runs with distinct ids. */
export function checkSegmentIds(segIds: ArrayLike<number>, B: number, T: number): void {
  for (let b = 0; b < B; b++) {
    const seen = new Set<number>();
    for (let t = 0; t < T; t++) {
      const id = segIds[b * T + t];
      if (t > 0 && id === segIds[b * T + t - 1]) continue;
      if (seen.has(id)) throw new Error(`segment id ${id} of batch row ${b} reappears at t=${t} after another segment`);
      seen.add(id);
    }
  }
}

/** Options of every attention function (reference and GPU launchers alike). */
export interface AttentionOptions {
  /** Sliding window: a query sees only the `window` latest keys, itself included (default: all). */
  window?: number;
  /** Score scale (default 1/sqrt(D)). */
  scale?: number;
}

/** The window and scale `opts` stand for, validated. */
export function attentionOptions(opts: AttentionOptions, D: number): { window: number; scale: number } {
  const window = opts.window ?? Infinity;
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  if (!(window === Infinity || (Number.isInteger(window) && window >= 1))) throw new Error(`attention: sliding window ${window} is not a whole number >= 1`);
  if (!(Number.isFinite(scale) && scale > 0)) throw new Error(`attention: scale ${scale} is not a positive number`);
  return { window, scale };
}

function visible(segIds: ArrayLike<number>, b: number, T: number, t: number, s: number, window: number): boolean {
  return s <= t && t - s < window && segIds[b * T + s] === segIds[b * T + t];
}

/**
 * out = softmax(q·kᵀ·scale + mask)·v, lse[b,h,t] = log Σ_s exp(q·k·scale) over visible s.
 * Overwrites out and lse.
 */
export function attentionForward(
  out: Float64Array,
  lse: Float64Array,
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  segIds: ArrayLike<number>,
  B: number,
  T: number,
  H: number,
  KVH: number,
  D: number,
  opts: AttentionOptions = {},
): void {
  checkSegmentIds(segIds, B, T);
  const { window, scale } = attentionOptions(opts, D);
  const group = H / KVH;
  const s = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const kh = Math.floor(h / group);
      for (let t = 0; t < T; t++) {
        const qo = ((b * T + t) * H + h) * D;
        let m = -Infinity;
        for (let j = 0; j <= t; j++) {
          if (!visible(segIds, b, T, t, j, window)) continue;
          const ko = ((b * T + j) * KVH + kh) * D;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[qo + d] * k[ko + d];
          s[j] = dot * scale;
          m = Math.max(m, s[j]);
        }
        let sum = 0;
        for (let j = 0; j <= t; j++) if (visible(segIds, b, T, t, j, window)) sum += Math.exp(s[j] - m);
        for (let d = 0; d < D; d++) out[qo + d] = 0;
        for (let j = 0; j <= t; j++) {
          if (!visible(segIds, b, T, t, j, window)) continue;
          const p = Math.exp(s[j] - m) / sum;
          const vo = ((b * T + j) * KVH + kh) * D;
          for (let d = 0; d < D; d++) out[qo + d] += p * v[vo + d];
        }
        lse[(b * H + h) * T + t] = m + Math.log(sum);
      }
    }
  }
}

/**
 * Gradients of attentionForward: dq, dk, dv from dout (and the saved out, lse).
 * OVERWRITES dq, dk, dv (same as the GPU kernels: q/k/v each come from one projection,
 * so nothing else contributes to these gradients). With GQA, dk/dv of a kv head sum over
 * the H/KVH query heads that read it.
 */
export function attentionBackward(
  dq: Float64Array,
  dk: Float64Array,
  dv: Float64Array,
  dout: ArrayLike<number>,
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  out: ArrayLike<number>,
  lse: ArrayLike<number>,
  segIds: ArrayLike<number>,
  B: number,
  T: number,
  H: number,
  KVH: number,
  D: number,
  opts: AttentionOptions = {},
): void {
  const { window, scale } = attentionOptions(opts, D);
  const group = H / KVH;
  dq.fill(0);
  dk.fill(0);
  dv.fill(0);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const kh = Math.floor(h / group);
      for (let t = 0; t < T; t++) {
        const qo = ((b * T + t) * H + h) * D;
        const L = lse[(b * H + h) * T + t];
        // Di = Σ_d dout·out = Σ_s P_s dP_s (softmax backward's row term).
        let Di = 0;
        for (let d = 0; d < D; d++) Di += dout[qo + d] * out[qo + d];
        for (let j = 0; j <= t; j++) {
          if (!visible(segIds, b, T, t, j, window)) continue;
          const ko = ((b * T + j) * KVH + kh) * D;
          let dot = 0;
          let dP = 0;
          for (let d = 0; d < D; d++) {
            dot += q[qo + d] * k[ko + d];
            dP += dout[qo + d] * v[ko + d];
          }
          const P = Math.exp(dot * scale - L);
          const dS = P * (dP - Di);
          for (let d = 0; d < D; d++) {
            dv[ko + d] += P * dout[qo + d];
            dq[qo + d] += dS * scale * k[ko + d];
            dk[ko + d] += dS * scale * q[qo + d];
          }
        }
      }
    }
  }
}

/**
 * KV cache append: scatters n tokens of k/v ([n, KVH, D]) into the caches ([rows, KVH, D]),
 * token i to cache row rows[i] (rows past the cache are skipped, as on the GPU).
 */
export function kvCacheAppend(
  kCache: Float64Array,
  vCache: Float64Array,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  rows: ArrayLike<number>,
  n: number,
  KVH: number,
  D: number,
): void {
  const row = KVH * D;
  for (let i = 0; i < n; i++) {
    if ((rows[i] + 1) * row > kCache.length) continue;
    for (let e = 0; e < row; e++) {
      kCache[rows[i] * row + e] = k[i * row + e];
      vCache[rows[i] * row + e] = v[i * row + e];
    }
  }
}

/**
 * One-token decode attention for n rows: row i (q [n, H, D]) sits at cache row rows[i] of
 * sequence seq = floor(rows[i] / maxT), position pos = rows[i] mod maxT, and attends to cache
 * rows seq·maxT + 0..pos (its own k/v must already be appended), or with a sliding window of
 * W only the last W of them. out [n, H, D].
 */
export function attentionDecode(
  out: Float64Array,
  q: ArrayLike<number>,
  kCache: ArrayLike<number>,
  vCache: ArrayLike<number>,
  rows: ArrayLike<number>,
  n: number,
  maxT: number,
  H: number,
  KVH: number,
  D: number,
  opts: AttentionOptions = {},
): void {
  const { window, scale } = attentionOptions(opts, D);
  const group = H / KVH;
  for (let i = 0; i < n; i++) {
    const pos = rows[i] % maxT;
    const first = Math.max(0, pos + 1 - window); // first visible key
    const seq0 = rows[i] - pos;
    const s = new Float64Array(pos + 1);
    for (let h = 0; h < H; h++) {
      const kh = Math.floor(h / group);
      const qo = (i * H + h) * D;
      let m = -Infinity;
      for (let j = first; j <= pos; j++) {
        let dot = 0;
        for (let d = 0; d < D; d++) dot += q[qo + d] * kCache[((seq0 + j) * KVH + kh) * D + d];
        s[j] = dot * scale;
        m = Math.max(m, s[j]);
      }
      let sum = 0;
      for (let j = first; j <= pos; j++) sum += Math.exp(s[j] - m);
      for (let d = 0; d < D; d++) out[qo + d] = 0;
      for (let j = first; j <= pos; j++) {
        const p = Math.exp(s[j] - m) / sum;
        for (let d = 0; d < D; d++) out[qo + d] += p * vCache[((seq0 + j) * KVH + kh) * D + d];
      }
    }
  }
}
