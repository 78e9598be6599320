import { describe, expect, it } from 'vitest';
import { chooseWeights, WEIGHTS_HELP } from './weights';
import { runCli } from './run-cli.testutil';

import type { WeightFit, WeightStorage } from '../engine/model/weights';

/** A job whose plan is `bytes[storage]` (a string: the engine refuses that storage, with that reason). */
const fitOf = (bytes: Record<WeightStorage, number | string>, budgetBytes = 2 * 2 ** 30): WeightFit => ({
  planBytes: (s) => {
    const b = bytes[s];
    if (typeof b === 'string') throw new Error(b);
    return b;
  },
  budgetBytes,
});
const GiB = 2 ** 30;
const SMALL = fitOf({ f32: 0.9 * GiB, f16: 0.6 * GiB, q8: 0.5 * GiB, q4: 0.45 * GiB });

describe('--weights auto: what it picks and why', () => {
  it('picks f32, the most precise, where its plan fits, and says what that costs for the model’s dtype', () => {
    expect(chooseWeights('auto', true, 'F32', SMALL).line).toBe('weights: f32 (auto: the most precise format that fits, 0.90 GiB planned; matches PyTorch)');
    expect(chooseWeights('auto', true, 'BF16', SMALL).line).toBe('weights: f32 (auto: the most precise format that fits, 0.90 GiB planned; holds the bfloat16 weights exactly)');
  });

  it('steps down f32 → f16 → q8 → q4 to the first plan under the budget, and says what each above needed', () => {
    const plans = { f32: 3 * GiB, f16: 1.9 * GiB, q8: 1.4 * GiB, q4: 1.2 * GiB };
    expect(chooseWeights('auto', true, 'BF16', fitOf(plans)).line).toBe(
      'weights: f16 (auto: the most precise format that fits, 1.90 GiB planned; f16 holds bfloat16 weights exactly except magnitudes under 6e-5 or over 65504; f32 needs 3.00 GiB)',
    );
    // Without shader-f16, f16 is skipped (and said so).
    expect(chooseWeights('auto', false, 'F16', fitOf(plans)).line).toBe(
      'weights: q8 (auto: the most precise format that fits, 1.40 GiB planned; Q8_0, quantized on load; f16: this adapter has no shader-f16; f32 needs 3.00 GiB)',
    );
    // A storage the engine refuses on this adapter (an embedding over maxBufferSize) is skipped with its reason.
    const c = chooseWeights('auto', false, 'BF16', fitOf({ ...plans, f32: 'model.embed_tokens.weight needs 0.58 GiB in one buffer; this GPU allows 0.25 GiB', q8: 2.5 * GiB }));
    expect(c.storage).toBe('q4');
    expect(c.reason).toMatch(/f32: model\.embed_tokens\.weight needs 0\.58 GiB in one buffer.*; q8 needs 2\.50 GiB$/);
  });

  it('takes the smallest plan when none fits the budget, and refuses (naming every reason) when none runs', () => {
    const over = chooseWeights('auto', true, 'BF16', fitOf({ f32: 7.7 * GiB, f16: 4.5 * GiB, q8: 3.1 * GiB, q4: 2.4 * GiB }));
    expect(over.storage).toBe('q4');
    expect(over.reason).toBe('auto: nothing fits the 2.00 GiB budget (f32 needs 7.70 GiB; f16 needs 4.50 GiB; q8 needs 3.10 GiB; q4 needs 2.40 GiB); q4 needs the least; Q4_0 linears, Q8_0 embedding/LM head, quantized on load');
    const none = fitOf({ f32: 'embed too big (f32)', f16: 'embed too big (f16)', q8: 'embed too big (q8)', q4: 'embed too big (q4)' });
    expect(() => chooseWeights('auto', false, 'BF16', none)).toThrow('--weights auto: no weight format can run this model on this device: f16: this adapter has no shader-f16; f32: embed too big (f32); q8: embed too big (q8); q4: embed too big (q4)');
  });

  it('keeps an explicit choice, refuses f16 without shader-f16 and a format the engine refuses here', () => {
    expect(chooseWeights('f32', true, 'F32', SMALL)).toMatchObject({ storage: 'f32', line: 'weights: f32 (as requested)' });
    expect(chooseWeights('f16', true, 'F32', SMALL)).toMatchObject({ storage: 'f16', line: 'weights: f16 (as requested)' });
    expect(() => chooseWeights('f16', false, 'F32', SMALL)).toThrow(/shader-f16/);
    // Over the budget is the user's call; over a hard limit is not.
    expect(chooseWeights('f32', true, 'F32', fitOf({ f32: 9 * GiB, f16: 1, q8: 1, q4: 1 })).storage).toBe('f32');
    expect(() => chooseWeights('f32', true, 'F32', fitOf({ f32: 'embed too big', f16: 1, q8: 1, q4: 1 }))).toThrow('--weights f32: f32 weights cannot run this model on this device: embed too big');
  });

  it('keeps q8/q4 as asked, with or without shader-f16, and says what they store', () => {
    for (const hasF16 of [false, true]) {
      expect(chooseWeights('q8', hasF16, 'BF16', SMALL)).toMatchObject({ storage: 'q8', line: 'weights: q8 (as requested: Q8_0, quantized on load)' });
      expect(chooseWeights('q4', hasF16, 'F32', SMALL)).toMatchObject({ storage: 'q4', line: 'weights: q4 (as requested: Q4_0 linears, Q8_0 embedding/LM head, quantized on load)' });
    }
  });

  it.each(['train', 'generate', 'eval', 'logits'])('%s --help explains auto', async (cmd) => {
    const r = await runCli([cmd, '--help']);
    expect(r.code).toBe(0);
    expect(r.out.join('\n')).toContain(WEIGHTS_HELP);
    expect(WEIGHTS_HELP).toMatch(/auto: the most precise of f32, f16 \(with shader-f16\), q8, q4 whose memory plan fits/);
  });

  it('rejects an unknown --weights value by name', async () => {
    const r = await runCli(['logits', '--model', 'm', '--ids', '1', '--weights', 'bf16']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/--weights bf16: expected auto, f32, f16, q8 or q4/);
  });
});
