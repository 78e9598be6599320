// Test helper (not shipped): llama.cpp (node-llama-cpp's CPU build) as the independent
// implementation our GGUF files are checked against: its next-token probabilities at every
// position, and the distance between two such sets.
import type { ControlledEvaluateInputItem, Llama, Token } from 'node-llama-cpp';

/** llama.cpp's next-token probabilities at every position, full vocabulary, no sampling tricks. */
export async function llamaCppProbs(llama: Llama, modelPath: string, loraPath: string | null, ids: number[], V: number): Promise<Float64Array[]> {
  const model = await llama.loadModel({ modelPath });
  try {
    // F32 KV cache and no flash attention: llama.cpp's CPU flash-attention path rounds to f16
    // (errors ~3e-4 in probability); without it the match is ~1e-6.
    const context = await model.createContext({ contextSize: 64, batchSize: 64, threads: 2, experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32', flashAttention: false, ...(loraPath ? { lora: { adapters: [{ filePath: loraPath, scale: 1 }] } } : {}) });
    try {
      const seq = context.getSequence();
      const options = { temperature: 1, topK: 0, topP: 1, minP: 0 };
      const input: ControlledEvaluateInputItem[] = ids.map((t) => [t as Token, { generateNext: { probabilities: true, options } }]);
      const res = await seq.controlledEvaluate(input);
      return res.map((r, t) => {
        const probs = r?.next.probabilities;
        if (!probs) throw new Error(`llama.cpp returned no probabilities at position ${t}`);
        const p = new Float64Array(V);
        for (const [tok, prob] of probs) p[tok] = prob;
        return p;
      });
    } finally {
      await context.dispose();
    }
  } finally {
    await model.dispose();
  }
}

/** Largest |a - b| over all positions and tokens. */
export function maxAbsDiff(a: Float64Array[], b: Float64Array[]): number {
  let m = 0;
  for (let t = 0; t < a.length; t++) for (let i = 0; i < a[t].length; i++) m = Math.max(m, Math.abs(a[t][i] - b[t][i]));
  return m;
}
