import { describe, expect, it } from 'vitest';
import { chooseWeights, WEIGHTS_HELP } from './weights';
import { runCli } from './run-cli.testutil';

describe('--weights auto: what it picks and why', () => {
  it('picks f16 where the adapter has shader-f16 and says what that costs for the model’s dtype', () => {
    const f32Model = chooseWeights('auto', true, 'F32');
    expect(f32Model.storage).toBe('f16');
    expect(f32Model.line).toBe(
      'weights: f16 (auto: this adapter has shader-f16; half the weight memory; f16 storage of an f32 model changes probabilities by ~1e-3; pass --weights f32 to compare with PyTorch)',
    );
    expect(chooseWeights('auto', true, 'BF16').line).toMatch(/^weights: f16 \(auto: .*bfloat16 weights exactly except .*; pass --weights f32/);
    // An f16 model loses nothing in f16: no advice to compare.
    expect(chooseWeights('auto', true, 'F16').line).toBe('weights: f16 (auto: this adapter has shader-f16; half the weight memory; the model is already float16, so nothing is rounded)');
  });

  it('picks f32 without shader-f16, keeps an explicit choice, and refuses f16 where it cannot run', () => {
    expect(chooseWeights('auto', false, 'F32')).toMatchObject({ storage: 'f32', line: 'weights: f32 (auto: this adapter has no shader-f16)' });
    expect(chooseWeights('f32', true, 'F32')).toMatchObject({ storage: 'f32', line: 'weights: f32 (as requested)' });
    expect(chooseWeights('f16', true, 'F32')).toMatchObject({ storage: 'f16', line: 'weights: f16 (as requested)' });
    expect(() => chooseWeights('f16', false, 'F32')).toThrow(/shader-f16/);
  });

  it('keeps q8/q4 as asked, with or without shader-f16, and says what they store', () => {
    for (const hasF16 of [false, true]) {
      expect(chooseWeights('q8', hasF16, 'BF16')).toMatchObject({ storage: 'q8', line: 'weights: q8 (as requested: Q8_0, quantized on load)' });
      expect(chooseWeights('q4', hasF16, 'F32')).toMatchObject({ storage: 'q4', line: 'weights: q4 (as requested: Q4_0 linears, Q8_0 embedding/LM head, quantized on load)' });
    }
  });

  it.each(['train', 'generate', 'eval', 'logits'])('%s --help explains auto', async (cmd) => {
    const r = await runCli([cmd, '--help']);
    expect(r.code).toBe(0);
    expect(r.out.join('\n')).toContain(WEIGHTS_HELP);
    expect(WEIGHTS_HELP).toMatch(/auto: f16 where the GPU adapter has shader-f16, else f32/);
  });

  it('rejects an unknown --weights value by name', async () => {
    const r = await runCli(['logits', '--model', 'm', '--ids', '1', '--weights', 'bf16']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/--weights bf16: expected auto, f32, f16, q8 or q4/);
  });
});
