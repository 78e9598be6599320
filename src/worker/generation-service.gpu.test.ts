// The playground's generation on the GPU with a base model without a chat template
// (Llama-style SentencePiece tokenizer): plain text in, the streamed reply keeps its leading space.
import { describe, expect, it } from 'vitest';
import { buildTinyModel, weightsF64 } from '../../test/fixtures/tiny-model';
import { getTestContext } from '../../test/gpu-device';
import { gpuModel } from '../engine/model/gpu-model.testutil';
import { loadTokenizer } from '../data';
import { generateWith } from './generation-service';

describe('generateWith', () => {
  it('a base model without a chat template continues plain text; streamed pieces add up to the reply, leading space kept', async () => {
    // Seed 22's greedy continuation of this prompt starts a new word ("▁…"); see infer.gpu.test.ts.
    const m = buildTinyModel({ seed: 22, tokenizer: 'llama', headGain: 3 });
    const tok = loadTokenizer({ tokenizerJson: m.tokenizerJson, tokenizerConfig: m.tokenizerConfig });
    const ctx = await getTestContext({ fallback: true });
    const model = await gpuModel(ctx, m.config, weightsF64(m));
    const prompt = 'The capital of France is';
    const pieces: string[] = [];
    const out = await generateWith(model, null, tok, { messages: [{ role: 'user', content: prompt }], maxNewTokens: 6, temperature: 0, topP: 1, seed: 0, adapterScale: 1 }, (t) => pieces.push(t));
    expect(out.tokens).toBeGreaterThan(0);
    // The playground's decode rate needs both times: first token within the whole.
    expect(out.firstTokenMs).not.toBeNull();
    expect(out.firstTokenMs!).toBeGreaterThanOrEqual(0);
    expect(out.firstTokenMs!).toBeLessThanOrEqual(out.ms);
    expect(pieces.join('')).toBe(out.text);
    // Decoded alone (as before) the first token "▁…" would lose its space.
    expect(out.text.startsWith(' ')).toBe(true);
  });
});
