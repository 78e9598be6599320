import { describe, expect, it } from 'vitest';
import { activationBreakdown, logitsChunkRows, planActivations } from './arena';
import { parseModelConfig } from './config';
import { planLoraLayout } from './lora-params';

const smol = parseModelConfig({
  model_type: 'llama', hidden_size: 576, intermediate_size: 1536, num_hidden_layers: 30, num_attention_heads: 9,
  num_key_value_heads: 3, vocab_size: 49152, tie_word_embeddings: true,
});
const MiB = 1 << 20;

describe('activation plan', () => {
  it('LM-head chunks are 64-row multiples within the budget and the binding limit', () => {
    expect(logitsChunkRows(2048, 49152, 32 * MiB, 128 * MiB)).toBe(128); // 170 rows fit → 128
    expect(logitsChunkRows(10, 49152, 32 * MiB, 128 * MiB)).toBe(64); // never more than BT rounded up
    expect(logitsChunkRows(4096, 1000, 32 * MiB, 128 * MiB)).toBe(4096);
    expect(() => logitsChunkRows(64, 1 << 20, 32 * MiB, 128 * MiB)).toThrow(/binding limit/);
  });

  const lora = planLoraLayout(smol, { r: 16, alpha: 32, dropout: 0, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'], useRslora: false });
  const opts = { maxBindingBytes: 128 * MiB, attentionScratchBytes: 4 * 9 * 512 * 8 };

  it('full recompute keeps one layer set; SmolLM2 at B·T=2048 fits a few hundred MiB', () => {
    const full = planActivations(smol, lora, 4, 512, { ...opts, recompute: 'none' });
    const re = planActivations(smol, lora, 4, 512, { ...opts, recompute: 'full' });
    const perLayer = full.tensors.filter((t) => t.perLayer).reduce((s, t) => s + t.bytes, 0);
    expect(full.totalBytes - re.totalBytes).toBeCloseTo(29 * perLayer, -4);
    expect(re.tensors.every((t) => t.copies === (t.host ? 0 : 1))).toBe(true);
    expect(re.totalBytes).toBeLessThan(450 * MiB);
    expect(full.totalBytes).toBeGreaterThan(2000 * MiB);
  });

  it('selective recompute shares exactly the norms and SwiGLU output across layers', () => {
    const full = planActivations(smol, lora, 4, 512, { ...opts, recompute: 'none' });
    const sel = planActivations(smol, lora, 4, 512, { ...opts, recompute: 'selective' });
    const re = planActivations(smol, lora, 4, 512, { ...opts, recompute: 'full' });
    const shared = sel.tensors.filter((t) => t.perLayer && t.copies === 1).map((t) => t.name);
    expect(shared.sort()).toEqual(['act', 'ln1', 'ln2', 'rstd1', 'rstd2']);
    expect(sel.tensors.filter((t) => t.perLayer && t.copies === 30).map((t) => t.name)).toContain('loraH.down_proj');
    const cheap = sel.tensors.filter((t) => shared.includes(t.name)).reduce((s, t) => s + t.bytes, 0);
    // BT·(2C + F)·4 bytes (+ rstd) saved in 29 of 30 layers: ~0.6 GiB at SmolLM2 shapes.
    expect(full.totalBytes - sel.totalBytes).toBeCloseTo(29 * cheap, -4);
    expect(cheap).toBe(2048 * (2 * 576 + 1536 + 2) * 4);
    expect(sel.totalBytes).toBeGreaterThan(re.totalBytes);
    expect(sel.totalBytes).toBeLessThan(full.totalBytes - 600 * MiB);
  });

  it('qwen3 (q/k norms): keeps qPre, kPre per layer; selective also shares q, k and their norms\' rstd', () => {
    const qwen3 = parseModelConfig({
      model_type: 'qwen3', hidden_size: 1024, intermediate_size: 3072, num_hidden_layers: 28, num_attention_heads: 16,
      num_key_value_heads: 8, head_dim: 128, vocab_size: 151936, tie_word_embeddings: true,
    });
    const l = planLoraLayout(qwen3, { r: 16, alpha: 32, dropout: 0, targetModules: ['q_proj', 'v_proj'], useRslora: false });
    const none = planActivations(qwen3, l, 4, 512, { ...opts, recompute: 'none' });
    const sel = planActivations(qwen3, l, 4, 512, { ...opts, recompute: 'selective' });
    const bytes = (p: typeof none, n: string) => p.tensors.find((t) => t.name === n)!.bytes;
    expect(bytes(none, 'qPre')).toBe(2048 * 16 * 128 * 4);
    expect(bytes(none, 'kPre')).toBe(2048 * 8 * 128 * 4);
    expect(bytes(none, 'rstdq')).toBe(2048 * 16 * 4);
    expect(none.tensors.filter((t) => t.perLayer && t.copies === 1)).toEqual([]);
    const shared = sel.tensors.filter((t) => t.perLayer && t.copies === 1).map((t) => t.name);
    expect(shared.sort()).toEqual(['act', 'k', 'ln1', 'ln2', 'q', 'rstd1', 'rstd2', 'rstdk', 'rstdq']);
    expect(sel.tensors.find((t) => t.name === 'qPre')!.copies).toBe(28);
    // llama/qwen2 plans have no q/k norm tensors.
    expect(planActivations(smol, lora, 4, 512, { ...opts, recompute: 'none' }).tensors.some((t) => t.name === 'qPre')).toBe(false);
  });

  it('scratch that is never live with its host lives in its buffer: the plan lists it at no cost', () => {
    const host = (p: ReturnType<typeof planActivations>) => Object.fromEntries(p.tensors.filter((t) => t.host).map((t) => [t.name, t.host]));
    const bytes = (p: ReturnType<typeof planActivations>) => p.tensors.reduce((s, t) => s + t.bytes * t.copies, 0);
    // SmolLM2: F = 1536 ≥ H·D = 576, so the attention gradients go into dact and the layer's MLP buffers;
    // its 128-row logits chunk (25 MB) is larger than dact (12.6 MB) and keeps a buffer.
    const re = planActivations(smol, lora, 4, 512, { ...opts, recompute: 'full' });
    expect(host(re)).toEqual({ proj: 'dln', datt: 'dact', dq: 'act', dk: 'gate', dv: 'up' });
    expect(re.tensors.map((t) => t.name)).not.toContain('dgate'); // written over gate (swigluBackwardInPlace)
    expect(re.totalBytes).toBe(re.tensors.reduce((s, t) => s + t.bytes * t.copies, 0)); // every size here is a multiple of 4
    expect(bytes(re)).toBe(re.totalBytes);
    const parts = activationBreakdown(re);
    expect(Object.values(parts).reduce((a, b) => a + b, 0)).toBe(re.totalBytes);
    expect(parts.residual).toBe(32 * 2048 * 576 * 4 + 2048 * 4); // resid 0..30, lnf, rstdf
    expect(parts.logits).toBe(128 * 49152 * 4);
    // A narrow MLP (F < H·D) gives the attention gradients their own buffers; a small vocab's chunk lives in dact.
    const narrow = parseModelConfig({ model_type: 'llama', hidden_size: 64, intermediate_size: 48, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 20 });
    const n = planActivations(narrow, null, 2, 64, { ...opts, recompute: 'none' });
    expect(host(n)).toEqual({ proj: 'dln', logits: 'dact' });
    expect(n.tensors.find((t) => t.name === 'dq')!.copies).toBe(1);
  });

  it('rejects a tensor over the binding limit with advice', () => {
    expect(() => planActivations(smol, null, 64, 2048, { recompute: 'full', maxBindingBytes: 128 * MiB, attentionScratchBytes: 0 })).toThrow(/lower the batch size/);
  });
});
