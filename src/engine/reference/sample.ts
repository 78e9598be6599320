// float64 reference for next-token selection over logits [V] (same rules as the GPU kernels).
//
// out is u32[2]: out[0] = the token id; out[1] = the f32 bits of its logit (argmax) or of its
// probability under the truncated, renormalised distribution it was drawn from (sampling).
//
// Rules:
// - Order: larger logit first, lower index first among equal logits (deterministic ties).
// - temperature < SAMPLE_MIN_TEMPERATURE (0 included) means greedy: the argmax.
// - topK in 1..256; 0 means the maximum, 256 (tokens outside the top 256 are never drawn;
//   an approximation only when they carry noticeable mass). Values above 256 are rejected.
// - Probabilities over the top-k: w_i = exp((l_i - l_max)/temperature), renormalised.
// - top-p keeps the smallest prefix (in that order) whose mass reaches topP (at least one
//   token): token i stays while the mass before it is < topP. topP >= 1 keeps all k.
// - Draw with a uniform u in [0, 1) from the caller (seeded on the CPU): the first kept
//   token whose cumulative mass exceeds u·(kept mass); the last kept one if rounding leaves none.
// Logits must be finite (ban a token with a large negative value such as -1e30, not -Infinity:
// WGSL implementations may assume no infinities).

export const SAMPLE_MAX_TOP_K = 256;
export const SAMPLE_MIN_TEMPERATURE = 1e-6;

const f32bits = (x: number): number => new Uint32Array(Float32Array.of(x).buffer)[0];

/** Greedy choice: the largest logit, lowest index among ties. */
export function sampleArgmax(out: Uint32Array, logits: ArrayLike<number>, V: number): void {
  let best = 0;
  for (let i = 1; i < V; i++) if (logits[i] > logits[best]) best = i;
  out[0] = best;
  out[1] = f32bits(logits[best]);
}

/** Normalises the topK argument: 0 → 256; checks the range. */
export function effectiveTopK(topK: number, V: number): number {
  if (!Number.isInteger(topK) || topK < 0 || topK > SAMPLE_MAX_TOP_K) throw new Error(`topK ${topK} outside 0..${SAMPLE_MAX_TOP_K}`);
  return Math.min(topK === 0 ? SAMPLE_MAX_TOP_K : topK, V);
}

/** Indices of the k largest logits, in order (larger first, lower index among equals). */
export function topKIndices(logits: ArrayLike<number>, V: number, k: number): number[] {
  // Insertion into a sorted list of k: scanning i upwards, an equal logit never displaces an
  // earlier index, which gives the lower-index-first tie rule. O(V) when most logits miss.
  const top: number[] = [];
  for (let i = 0; i < V; i++) {
    const x = logits[i];
    if (top.length === k && !(x > logits[top[k - 1]])) continue;
    let j = top.length === k ? k - 1 : top.length;
    while (j > 0 && x > logits[top[j - 1]]) {
      if (j < k) top[j] = top[j - 1];
      j--;
    }
    top[j] = i;
  }
  return top;
}

/** Temperature + top-k + top-p sampling with the caller's uniform number u (see the rules above). */
export function sampleTopKTopP(out: Uint32Array, logits: ArrayLike<number>, V: number, temperature: number, topK: number, topP: number, u: number): void {
  if (temperature < SAMPLE_MIN_TEMPERATURE) return sampleArgmax(out, logits, V);
  const k = effectiveTopK(topK, V);
  const order = topKIndices(logits, V, k);
  const w = order.map((i) => Math.exp((logits[i] - logits[order[0]]) / temperature));
  const Z = w.reduce((s, x) => s + x, 0);
  const p = Math.min(Math.max(topP, 0), 1);
  let kept = 0;
  let mass = 0;
  while (kept < k && (kept === 0 || mass < p * Z)) mass += w[kept++];
  const r = u * mass;
  let cum = 0;
  let pick = kept - 1;
  for (let i = 0; i < kept; i++) {
    cum += w[i];
    if (cum > r) {
      pick = i;
      break;
    }
  }
  out[0] = order[pick];
  out[1] = f32bits(w[pick] / mass);
}
