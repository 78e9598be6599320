import { expect, it } from 'vitest';
import type { PairedComparison } from './stats';
import { verdict } from './verdict';

const cmp = (wins: number, losses: number, n: number, mean: number, lo: number, hi: number): PairedComparison => ({
  wins,
  losses,
  ties: n - wins - losses,
  diff: { n, mean, lo, hi, level: 0.95 },
});

it('a firm win over the prompted baseline says the prompt would not have been enough', () => {
  const v = verdict('tuned', 'prompted', cmp(41, 6, 50, 0.23, 0.15, 0.31), 'ROUGE-L');
  expect(v.outcome).toBe('beats');
  expect(v.text).toBe('The tune beats the prompted baseline on 41 of 50 held-out examples (+0.23 ROUGE-L); the prompt alone would not have been enough.');
  expect(v.caution).toBeUndefined();
});

it('a firm loss says so, with both counts and a negative difference', () => {
  const v = verdict('tuned', 'prompted', cmp(12, 30, 50, -0.08, -0.12, -0.04), 'token F1');
  expect(v.outcome).toBe('does-not-beat');
  expect(v.text).toBe('The tune does not beat the prompted baseline: better on 12 and worse on 30 of 50 held-out examples (\u22120.08 token F1); the prompt alone does better, without training.');
  expect(verdict('tuned', 'base', cmp(40, 5, 50, 0.2, 0.1, 0.3), 'chrF').sentence).toMatch(/; the training changed the answers for the better\.$/);
  expect(verdict('prompted', 'base', cmp(40, 5, 50, 0.2, 0.1, 0.3), 'chrF').sentence).toMatch(/^The prompted baseline beats the base model on 40 of 50 .*the prompt alone already helps\.$/);
});

it('a difference that prints as ±0.00 is a tie, never a win', () => {
  const v = verdict('tuned', 'prompted', cmp(20, 19, 50, 0.004, -0.03, 0.04), 'ROUGE-L');
  expect(v.outcome).toBe('ties');
  expect(v.sentence).toBe('The tune ties with the prompted baseline: better on 20 and worse on 19 of 50 held-out examples (+0.00 ROUGE-L).');
  expect(v.caution).toBe('The 95% interval of the difference (\u22120.03 to +0.04) includes 0, so this may be chance: evaluate on more examples before deciding.');
  expect(verdict('tuned', 'prompted', cmp(20, 19, 50, 0.005, 0.001, 0.01), 'ROUGE-L').outcome).toBe('beats');
});

it('small samples and intervals across 0 get a caution and no conclusion', () => {
  const small = verdict('tuned', 'prompted', cmp(9, 1, 12, 0.3, 0.1, 0.5), 'ROUGE-L');
  expect(small.sentence).toBe('The tune beats the prompted baseline on 9 of 12 held-out examples (+0.30 ROUGE-L).');
  expect(small.caution).toBe('Only 12 held-out examples were scored, so this may be chance: evaluate on more examples before deciding.');
  const both = verdict('tuned', 'base', cmp(1, 0, 1, 1, 1, 1), 'exact match');
  expect(both.sentence).toBe('The tune beats the base model on 1 of 1 held-out example (+1.00 exact match).');
  expect(both.caution).toMatch(/^Only 1 held-out example was scored/);
  const unsure = verdict('tuned', 'prompted', cmp(26, 20, 50, 0.04, -0.01, 0.09), 'ROUGE-L');
  expect(unsure.text).toBe(
    'The tune beats the prompted baseline on 26 of 50 held-out examples (+0.04 ROUGE-L). The 95% interval of the difference (\u22120.01 to +0.09) includes 0, so this may be chance: evaluate on more examples before deciding.',
  );
  const twoReasons = verdict('tuned', 'prompted', cmp(5, 4, 10, 0.02, -0.1, 0.15), 'ROUGE-L');
  expect(twoReasons.caution).toMatch(/^Only 10 held-out examples were scored and the 95% interval/);
});
