import { describe, expect, it } from 'vitest';
import { LORA_TARGETS, type ModelShape, type RefBatch, type RefLora, loraKeyA, loraKeyB, referenceBackward, referenceForward, ropeInvFreq } from './model';
import { randomBatch, randomLora, randomWeights, tinyGemmaShape, tinyShape } from '../model/tiny-random.testutil';
import { checkGradients } from '../../../test/finite-diff';
import { expectClose } from '../../../test/numeric';

// Central differences in float64 with eps = 1e-6 on a loss of order 1: truncation error
// ~eps²·f''' ≈ 1e-12, rounding ~1e-16/eps ≈ 1e-10. atol 1e-8 + rtol 1e-6 leaves margin.
const FD = { eps: 1e-6, atol: 1e-8, rtol: 1e-6, maxProbe: 24 };

function gradCheck(cfg: ModelShape, lora: RefLora, batch: RefBatch, weights: Map<string, Float64Array>, mayBeZero: (key: string) => boolean = () => false): void {
  const { grads } = referenceBackward(cfg, weights, lora, batch);
  const inputs: Record<string, Float64Array> = {};
  const g: Record<string, Float64Array> = {};
  for (const [k, w] of lora.weights) {
    inputs[k] = w;
    g[k] = grads.get(k)!;
  }
  // Gradients must not be trivially zero (that would make the check vacuous).
  for (const [k, gr] of Object.entries(g)) if (!mayBeZero(k)) expect(gr.some((x) => Math.abs(x) > 1e-6), `${k} gradient is all zero`).toBe(true);
  checkGradients(inputs, () => referenceForward(cfg, weights, lora, batch).loss, g, FD);
}

describe('reference model: LoRA gradients vs finite differences', () => {
  const cases: { name: string; cfg: Partial<ModelShape>; packed: boolean }[] = [
    { name: 'tied, no bias', cfg: { tieWordEmbeddings: true }, packed: false },
    { name: 'untied, no bias', cfg: { tieWordEmbeddings: false }, packed: false },
    { name: 'tied, qwen2 biases, packed segments', cfg: { attentionBias: true }, packed: true },
    { name: 'untied, biases, packed, llama3 rope scaling', cfg: { tieWordEmbeddings: false, attentionBias: true, ropeScaling: { ropeType: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8 } }, packed: true },
    // qwen3: per-head q/k RMSNorm; head_dim 6 ≠ hidden/heads = 4, GQA 4/2.
    { name: 'qwen3 q/k norms, head_dim 6 ≠ C/H, GQA, tied, packed', cfg: { qkNorm: true, headDim: 6 }, packed: true },
    { name: 'qwen3 q/k norms, MQA, untied', cfg: { qkNorm: true, numKvHeads: 1, tieWordEmbeddings: false }, packed: false },
    // gemma3_text: (1 + w) norms, post-attention/feed-forward norms, GELU-tanh, √C embedding,
    // query_pre_attn_scalar, local (window 2, own RoPE base) and global (linear ×2) layers.
    { name: 'gemma3: local + global layers, GQA, tied, packed', cfg: tinyGemmaShape(), packed: true },
    { name: 'gemma3: 3 layers, MQA, untied, head_dim 8 ≠ C/H', cfg: tinyGemmaShape({ numLayers: 3, numKvHeads: 1, tieWordEmbeddings: false }), packed: false },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const cfg = c.cfg.gemma ? (c.cfg as ModelShape) : tinyShape(c.cfg);
      const weights = randomWeights(cfg, 11);
      const lora = randomLora(cfg, 3, 12);
      const batch = randomBatch(cfg, 2, 6, 14, { packed: c.packed });
      gradCheck(cfg, lora, batch, weights);
    });
  }

  it('with LoRA input dropout (a fixed mask, as the GPU replays it)', () => {
    const cfg = tinyShape({ tieWordEmbeddings: false });
    const weights = randomWeights(cfg, 15);
    const lora = randomLora(cfg, 3, 16);
    // A deterministic mask per (layer, module, element): p = 0.3, kept values × 1/(1-p).
    lora.dropoutFactor = (l, t, i) => ((l * 7 + t.length * 13 + i * 2654435761) >>> 0) % 10 < 3 ? 0 : 1 / 0.7;
    const batch = randomBatch(cfg, 2, 6, 17, { packed: true });
    gradCheck(cfg, lora, batch, weights);
    const noDrop = referenceForward(cfg, weights, { scaling: lora.scaling, weights: lora.weights }, batch).loss;
    expect(Math.abs(referenceForward(cfg, weights, lora, batch).loss - noDrop)).toBeGreaterThan(1e-4);
  });

  it('T=1 and a LoRA on a subset of modules', () => {
    const cfg = tinyShape();
    const weights = randomWeights(cfg, 21);
    const lora = randomLora(cfg, 2, 22, { targets: ['q_proj', 'v_proj'] });
    const batch: RefBatch = { B: 3, T: 1, inputIds: [1, 5, 7], targets: [4, -100, 9], positions: [0, 0, 0], segmentIds: [0, 1, 2] };
    // With T=1 each query sees one key: softmax is constant, so q and k get no gradient.
    gradCheck(cfg, lora, batch, weights, (k) => k.includes('q_proj') || k.includes('k_proj'));
  });
});

describe('reference model: properties', () => {
  it('B = 0 gives exactly the base model logits', () => {
    const cfg = tinyShape({ tieWordEmbeddings: false, attentionBias: true });
    const weights = randomWeights(cfg, 31);
    const batch = randomBatch(cfg, 2, 6, 32, { packed: true });
    const base = referenceForward(cfg, weights, null, batch);
    const withLora = referenceForward(cfg, weights, randomLora(cfg, 4, 33, { zeroB: true }), batch);
    expect(Array.from(withLora.logits)).toEqual(Array.from(base.logits));
    expect(withLora.loss).toBe(base.loss);
  });

  it('a non-zero B changes the logits', () => {
    const cfg = tinyShape();
    const weights = randomWeights(cfg, 41);
    const batch = randomBatch(cfg, 1, 5, 42);
    const base = referenceForward(cfg, weights, null, batch);
    const lora = referenceForward(cfg, weights, randomLora(cfg, 2, 43), batch);
    expect(Math.abs(lora.loss - base.loss)).toBeGreaterThan(1e-4);
  });

  it('packed segments are independent: a packed row equals its segments run separately', () => {
    const cfg = tinyShape();
    const weights = randomWeights(cfg, 51);
    const ids = [3, 9, 14, 2, 27, 30, 8];
    const tg = [9, 14, -100, 27, 30, 8, -100];
    // One row with segments [0..2] and [3..6].
    const packed = referenceForward(cfg, weights, null, { B: 1, T: 7, inputIds: ids, targets: tg, positions: [0, 1, 2, 0, 1, 2, 3], segmentIds: [0, 0, 0, 1, 1, 1, 1] });
    const a = referenceForward(cfg, weights, null, { B: 1, T: 3, inputIds: ids.slice(0, 3), targets: tg.slice(0, 3), positions: [0, 1, 2], segmentIds: [0, 0, 0] });
    const b = referenceForward(cfg, weights, null, { B: 1, T: 4, inputIds: ids.slice(3), targets: tg.slice(3), positions: [0, 1, 2, 3], segmentIds: [5, 5, 5, 5] });
    const V = cfg.vocabSize;
    expectClose(packed.logits.subarray(0, 3 * V), a.logits, 1e-12, 1e-12, 'segment 0 logits');
    expectClose(packed.logits.subarray(3 * V), b.logits, 1e-12, 1e-12, 'segment 1 logits');
    // Mean over 5 targets = (2·lossA + 3·lossB)/5.
    expect(packed.loss).toBeCloseTo((2 * a.loss + 3 * b.loss) / 5, 12);
  });

  it('causality: later tokens do not change earlier logits', () => {
    const cfg = tinyShape({ numKvHeads: 1 });
    const weights = randomWeights(cfg, 61);
    const mk = (last: number) => referenceForward(cfg, weights, null, { B: 1, T: 4, inputIds: [1, 2, 3, last], targets: [2, 3, 4, 5], positions: [0, 1, 2, 3], segmentIds: [0, 0, 0, 0] });
    const x = mk(7);
    const y = mk(33);
    const V = cfg.vocabSize;
    expectClose(x.logits.subarray(0, 3 * V), y.logits.subarray(0, 3 * V), 0, 0, 'prefix logits');
    expect(x.logits[3 * V]).not.toBe(y.logits[3 * V]);
  });

  it('qwen3 q/k norms are per head: rescaling one head of q_proj/k_proj leaves the logits unchanged', () => {
    // With eps → 0, RMSNorm of a row is invariant to scaling that row. Per-head norms make the
    // model invariant to scaling one head's rows of q_proj (or one kv head's of k_proj); a norm
    // over the whole q row, or none, would not be.
    const cfg = tinyShape({ qkNorm: true, headDim: 6, rmsNormEps: 1e-300 });
    const weights = randomWeights(cfg, 91);
    const batch = randomBatch(cfg, 1, 5, 92);
    const base = referenceForward(cfg, weights, null, batch);
    const D = cfg.headDim;
    const C = cfg.hiddenSize;
    const scaled = new Map(weights);
    for (const [name, head, factor] of [['model.layers.0.self_attn.q_proj.weight', 1, 3], ['model.layers.1.self_attn.k_proj.weight', 0, 0.25]] as const) {
      const w = weights.get(name)!.slice();
      for (let i = head * D * C; i < (head + 1) * D * C; i++) w[i] *= factor;
      scaled.set(name, w);
    }
    expectClose(referenceForward(cfg, scaled, null, batch).logits, base.logits, 1e-12, 1e-10, 'logits after rescaling one head');
    const noNorm = referenceForward({ ...cfg, qkNorm: false }, weights, null, batch);
    const noNormScaled = referenceForward({ ...cfg, qkNorm: false }, scaled, null, batch);
    expect(Math.abs(noNormScaled.loss - noNorm.loss)).toBeGreaterThan(1e-3);
  });

  it('gemma3: the attention and MLP outputs are normed before the residual add (rescaling o_proj or down_proj changes nothing)', () => {
    // With eps → 0 the post norms make each sublayer's contribution invariant to the scale of
    // its output projection; without them (or with the norm before o_proj) it would not be.
    const cfg = tinyGemmaShape({ rmsNormEps: 1e-300 });
    const weights = randomWeights(cfg, 93);
    const batch = randomBatch(cfg, 1, 6, 94);
    const base = referenceForward(cfg, weights, null, batch);
    for (const name of ['model.layers.0.self_attn.o_proj.weight', 'model.layers.1.mlp.down_proj.weight']) {
      const scaled = new Map(weights).set(name, weights.get(name)!.map((x) => x * 5));
      expectClose(referenceForward(cfg, scaled, null, batch).logits, base.logits, 1e-12, 1e-9, `logits with ${name} × 5`);
    }
    // The llama block (no post norms) is not invariant to the same change.
    const llama = tinyShape({ headDim: 8, qkNorm: true, rmsNormEps: 1e-300 });
    const lw = randomWeights(llama, 93);
    const scaled = new Map(lw).set('model.layers.0.self_attn.o_proj.weight', lw.get('model.layers.0.self_attn.o_proj.weight')!.map((x) => x * 5));
    expect(Math.abs(referenceForward(llama, scaled, null, batch).loss - referenceForward(llama, lw, null, batch).loss)).toBeGreaterThan(1e-3);
  });

  it('gemma3: a local layer sees only the last sliding_window keys; a global layer sees all', () => {
    // One layer, so token t's logits depend on the tokens its attention sees and nothing else.
    const ids = (first: number) => ({ B: 1, T: 5, inputIds: [first, 3, 4, 5, 6], targets: [3, 4, 5, 6, 7], positions: [0, 1, 2, 3, 4], segmentIds: [0, 0, 0, 0, 0] });
    const V = 40;
    for (const local of [true, false]) {
      const cfg = tinyGemmaShape({ numLayers: 1 }, { slidingLayers: [local], slidingWindow: 3 });
      const weights = randomWeights(cfg, 95);
      const a = referenceForward(cfg, weights, null, ids(1)).logits;
      const b = referenceForward(cfg, weights, null, ids(9)).logits;
      // Token 2 sees tokens 0..2 (window 3 includes token 0); token 3 sees 1..3 when local.
      expect(a[2 * V]).not.toBe(b[2 * V]);
      if (local) expectClose(a.subarray(3 * V), b.subarray(3 * V), 0, 0, 'tokens 3, 4 of a local layer');
      else expect(a[4 * V]).not.toBe(b[4 * V]);
    }
  });

  it('gemma3: local and global layers rotate with their own RoPE tables; the norm weights are offsets from 1', () => {
    const cfg = tinyGemmaShape({ numLayers: 2 });
    const weights = randomWeights(cfg, 97);
    const batch = randomBatch(cfg, 1, 6, 98);
    const loss = (over: Partial<NonNullable<ModelShape['gemma']>>) => referenceForward({ ...cfg, gemma: { ...cfg.gemma!, ...over } }, weights, null, batch).loss;
    const base = loss({});
    expect(Math.abs(loss({ ropeLocalTheta: 500 }) - base)).toBeGreaterThan(1e-6);
    expect(Math.abs(loss({ ropeLinearFactor: 1 }) - base)).toBeGreaterThan(1e-6);
    // Zero norm weights are Gemma's identity scale (1 + 0): the logits stay those of plain
    // x·rstd norms, not zeros as w · x·rstd would give.
    const zeros = new Map([...weights].map(([k, w]) => [k, k.endsWith('norm.weight') ? new Float64Array(w.length) : w]));
    expect(Math.max(...referenceForward(cfg, zeros, null, batch).logits.map(Math.abs))).toBeGreaterThan(0.1);
  });

  it('llama3 rope scaling matches HF formulas at the three regimes', () => {
    const inv = ropeInvFreq({ headDim: 8, ropeTheta: 10000, ropeScaling: { ropeType: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 64 } });
    const plain = ropeInvFreq({ headDim: 8, ropeTheta: 10000, ropeScaling: null });
    // wavelens 2π/inv: 6.28 (high freq, kept), 62.8 (medium: smoothed), 628, 6283 (low: /8).
    expect(inv[0]).toBe(plain[0]);
    const wl = (2 * Math.PI) / plain[1];
    const smooth = (64 / wl - 1) / (4 - 1);
    expect(inv[1]).toBeCloseTo((1 - smooth) * (plain[1] / 8) + smooth * plain[1], 15);
    expect(inv[2]).toBeCloseTo(plain[2] / 8, 15);
    expect(inv[3]).toBeCloseTo(plain[3] / 8, 15);
  });

  it('throws on an out-of-vocab token and on a half-specified LoRA', () => {
    const cfg = tinyShape();
    const weights = randomWeights(cfg, 71);
    expect(() => referenceForward(cfg, weights, null, { B: 1, T: 1, inputIds: [40], targets: [1], positions: [0], segmentIds: [0] })).toThrow(/outside vocab/);
    const lora = randomLora(cfg, 2, 72, { targets: ['q_proj'] });
    lora.weights.delete(loraKeyB(0, 'q_proj'));
    expect(() => referenceForward(cfg, weights, lora, { B: 1, T: 1, inputIds: [1], targets: [1], positions: [0], segmentIds: [0] })).toThrow(/needs both A and B/);
  });
});

describe('reference model: training', () => {
  it('AdamW on the LoRA parameters decreases the loss', () => {
    const cfg = tinyShape({ tieWordEmbeddings: false });
    const weights = randomWeights(cfg, 81);
    const lora = randomLora(cfg, 4, 82, { zeroB: true });
    const batch = randomBatch(cfg, 2, 6, 83, { packed: true, ignoreFraction: 0 });
    // torch.optim.AdamW semantics, float64, written out here as the test's own oracle.
    const lr = 1e-2, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.01;
    const m = new Map([...lora.weights].map(([k, w]) => [k, new Float64Array(w.length)]));
    const v = new Map([...lora.weights].map(([k, w]) => [k, new Float64Array(w.length)]));
    const losses: number[] = [];
    for (let step = 1; step <= 8; step++) {
      const { loss, grads } = referenceBackward(cfg, weights, lora, batch);
      losses.push(loss);
      for (const [k, p] of lora.weights) {
        const g = grads.get(k)!;
        const mk = m.get(k)!;
        const vk = v.get(k)!;
        for (let i = 0; i < p.length; i++) {
          p[i] -= lr * wd * p[i];
          mk[i] = b1 * mk[i] + (1 - b1) * g[i];
          vk[i] = b2 * vk[i] + (1 - b2) * g[i] * g[i];
          p[i] -= (lr * (mk[i] / (1 - b1 ** step))) / (Math.sqrt(vk[i] / (1 - b2 ** step)) + eps);
        }
      }
    }
    expect(losses[losses.length - 1]).toBeLessThan(losses[0] - 0.05);
    for (let i = 1; i < losses.length; i++) expect(losses[i]).toBeLessThan(losses[i - 1] + 1e-9);
    // B started at zero, so step 1's dA is zero and A only moves by weight decay; B moved.
    expect(lora.weights.get(loraKeyB(0, LORA_TARGETS[0]))!.some((x) => x !== 0)).toBe(true);
    expect(lora.weights.get(loraKeyA(0, 'q_proj'))!.length).toBe(4 * 16);
  });
});
