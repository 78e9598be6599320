// float64 reference of the token-embedding lookup: out[bt, :] = wte[ids[bt], :] · scale (zeros
// for ids ≥ V). scale is 1, or Gemma's √hidden_size (as the GPU applies it: rounded to f32).
export function embeddingForward(out: Float64Array, ids: ArrayLike<number>, wte: ArrayLike<number>, BT: number, C: number, V: number, scale = 1): void {
  for (let bt = 0; bt < BT; bt++) {
    const id = ids[bt];
    for (let c = 0; c < C; c++) out[bt * C + c] = id < V ? wte[id * C + c] * scale : 0;
  }
}
