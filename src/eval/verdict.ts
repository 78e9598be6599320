// The one-sentence verdict of a paired comparison, honest about losses, ties and thin evidence.

import type { PairedComparison } from './stats';

/** The systems an evaluation compares (DESIGN.md: base / prompted baseline / tuned). */
export type SystemId = 'base' | 'prompted' | 'tuned';

const SUBJECT: Record<SystemId, string> = { tuned: 'the tune', prompted: 'the prompted baseline', base: 'the base model' };

/** Below this, the evidence is called a small sample whatever the interval says. */
export const SMALL_SAMPLE = 20;

/**
 * A mean difference smaller than this is a tie: the sentence prints differences to two decimals,
 * and must never say "beats" next to "+0.00".
 */
export const TIE_MARGIN = 0.005;

export type Outcome = 'beats' | 'ties' | 'does-not-beat';

export interface Verdict {
  outcome: Outcome;
  /** The verdict sentence. */
  sentence: string;
  /** A caution about the evidence, when n < SMALL_SAMPLE or the interval of the difference includes 0. */
  caution?: string;
  /** sentence + caution, for showing as one paragraph. */
  text: string;
}

const signed = (x: number) => `${x < 0 ? '\u2212' : '+'}${Math.abs(x).toFixed(2)}`;
const capital = (s: string) => s[0].toUpperCase() + s.slice(1);
const examples = (k: number) => `${k} held-out example${k === 1 ? '' : 's'}`;

// What a firm outcome means for the choice the user is making, by pair.
const CONSEQUENCE: Record<string, { beats: string; loses: string }> = {
  'tuned>prompted': { beats: 'the prompt alone would not have been enough', loses: 'the prompt alone does better, without training' },
  'tuned>base': { beats: 'the training changed the answers for the better', loses: 'the training made the answers worse' },
  'prompted>base': { beats: 'the prompt alone already helps', loses: 'the prompt makes the answers worse' },
};

function consequence(a: SystemId, b: SystemId, outcome: Outcome): string | undefined {
  const c = CONSEQUENCE[`${a}>${b}`];
  return c && (outcome === 'beats' ? c.beats : c.loses);
}

/**
 * "The tune beats the prompted baseline on 41 of 50 held-out examples (+0.23 ROUGE-L); the prompt
 * alone would not have been enough." The outcome follows the mean difference of the metric; the
 * consequence is only drawn when the evidence is firm, otherwise a caution says why not.
 */
export function verdict(a: SystemId, b: SystemId, cmp: PairedComparison, metricLabel: string): Verdict {
  const { wins, losses, diff } = cmp;
  const n = diff.n;
  const outcome: Outcome = diff.mean >= TIE_MARGIN ? 'beats' : diff.mean <= -TIE_MARGIN ? 'does-not-beat' : 'ties';
  const delta = `(${signed(diff.mean)} ${metricLabel})`;
  const subject = capital(SUBJECT[a]);
  let sentence: string;
  if (outcome === 'beats') sentence = `${subject} beats ${SUBJECT[b]} on ${wins} of ${examples(n)} ${delta}`;
  else if (outcome === 'ties') sentence = `${subject} ties with ${SUBJECT[b]}: better on ${wins} and worse on ${losses} of ${examples(n)} ${delta}`;
  else sentence = `${subject} does not beat ${SUBJECT[b]}: better on ${wins} and worse on ${losses} of ${examples(n)} ${delta}`;

  const reasons: string[] = [];
  if (n < SMALL_SAMPLE) reasons.push(`only ${examples(n)} ${n === 1 ? 'was' : 'were'} scored`);
  if (diff.lo <= 0 && diff.hi >= 0) reasons.push(`the ${Math.round(diff.level * 100)}% interval of the difference (${signed(diff.lo)} to ${signed(diff.hi)}) includes 0`);
  const firm = reasons.length === 0;
  const then = firm && outcome !== 'ties' ? consequence(a, b, outcome) : undefined;
  sentence += then ? `; ${then}.` : '.';
  const caution = firm ? undefined : `${capital(reasons.join(' and '))}, so this may be chance: evaluate on more examples before deciding.`;
  return { outcome, sentence, caution, text: caution ? `${sentence} ${caution}` : sentence };
}
