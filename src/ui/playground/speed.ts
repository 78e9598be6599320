// The playground's speed line for one answer. Decoding speed counts the tokens after the
// first over the time after it: the first token waits for the whole prompt's prefill, which
// would otherwise make long prompts look like slow decoding.
export interface GenerationTiming {
  tokens: number;
  ms: number;
  firstTokenMs: number | null;
}

/** Tokens per second of decoding (after the first token); null when fewer than two tokens or no measurable time. */
export function decodeTokensPerSecond(t: GenerationTiming): number | null {
  if (t.firstTokenMs === null || t.tokens < 2) return null;
  const ms = t.ms - t.firstTokenMs;
  return ms > 0 ? ((t.tokens - 1) / ms) * 1000 : null;
}

export function speedLine(t: GenerationTiming): string {
  const rate = decodeTokensPerSecond(t);
  const parts = [`${t.tokens} tokens`];
  parts.push(rate === null ? `${((t.tokens / Math.max(t.ms, 1e-3)) * 1000).toFixed(1)} tokens/s overall` : `${rate.toFixed(1)} tokens/s decoding`);
  if (t.firstTokenMs !== null) parts.push(`first token after ${Math.round(t.firstTokenMs)} ms`);
  return parts.join(' · ');
}
