// Whether a tokenizer starts plain text with BOS. tokenizer_config.json's add_bos_token says so
// when present (Llama 2, Gemma, SmolLM2); Llama 3's files leave it out and add BOS through
// tokenizer.json's TemplateProcessing post-processor instead, which the studio reads here
// because it tokenizes without special tokens and adds BOS itself (data/prompt.ts bosPrefix).

interface TemplatePiece {
  SpecialToken?: { id?: unknown };
}

/** Post-processors of tokenizer.json, a Sequence flattened. */
function postProcessors(tokenizerJson: unknown): Record<string, unknown>[] {
  const p = (tokenizerJson as { post_processor?: unknown } | null)?.post_processor;
  if (!p || typeof p !== 'object') return [];
  const seq = (p as { type?: unknown; processors?: unknown }).processors;
  return (p as { type?: unknown }).type === 'Sequence' && Array.isArray(seq) ? (seq as Record<string, unknown>[]) : [p as Record<string, unknown>];
}

/** add_bos_token when tokenizer_config.json sets it, else whether the post-processor's single-sequence template starts with `bosToken`. */
export function addsBosToken(tokenizerConfig: Record<string, unknown>, tokenizerJson: unknown, bosToken: string | null): boolean {
  if (typeof tokenizerConfig.add_bos_token === 'boolean') return tokenizerConfig.add_bos_token;
  if (bosToken === null) return false;
  for (const p of postProcessors(tokenizerJson)) {
    if (p.type !== 'TemplateProcessing' || !Array.isArray(p.single)) continue;
    const first = (p.single as TemplatePiece[])[0];
    return first?.SpecialToken?.id === bosToken;
  }
  return false;
}
