// float64 reference of the token-embedding lookup: out[bt, :] = wte[ids[bt], :] (zeros for ids ≥ V).
export function embeddingForward(out: Float64Array, ids: ArrayLike<number>, wte: ArrayLike<number>, BT: number, C: number, V: number): void {
  for (let bt = 0; bt < BT; bt++) {
    const id = ids[bt];
    for (let c = 0; c < C; c++) out[bt * C + c] = id < V ? wte[id * C + c] : 0;
  }
}
