// Which metrics an evaluation reports: named by id, chosen from the references when the user does
// not say, and adjustable by a list of ids ('em', 'regex:^\\d+$', 'contains:Sincerely', ...).

import { jsonFieldAgreement, jsonValid, parseJsonOutput } from './json';
import { chrf, exactMatch, exactMatchNormalized, lengthRatio, rougeL, tokenF1, words } from './metrics';

export interface Metric {
  /** The id it was named by: 'rougeL', 'regex:^\d+$'. */
  id: string;
  /** For people: 'ROUGE-L', 'matches /^\d+$/'. */
  label: string;
  score(prediction: string, reference: string): number;
  /**
   * Higher is better, so wins/ties/losses, the interval of a difference and a verdict mean
   * something. False for the length ratio: longer is not better, it is only reported.
   */
  comparable: boolean;
}

const FIXED: Record<string, Omit<Metric, 'id'>> = {
  em: { label: 'exact match', score: exactMatch, comparable: true },
  em_norm: { label: 'normalised exact match', score: exactMatchNormalized, comparable: true },
  f1: { label: 'token F1', score: tokenF1, comparable: true },
  rougeL: { label: 'ROUGE-L', score: rougeL, comparable: true },
  chrf: { label: 'chrF', score: (p, r) => chrf(p, r), comparable: true },
  json: { label: 'valid JSON', score: jsonValid, comparable: true },
  json_fields: { label: 'JSON field agreement', score: jsonFieldAgreement, comparable: true },
  length: { label: 'length ratio (words)', score: lengthRatio, comparable: false },
};

/** The ids metricFromId accepts without an argument (regex: and contains: take one). */
export const METRIC_IDS = Object.keys(FIXED);

/** A regex given as 'PATTERN' or '/PATTERN/flags' (JavaScript syntax). */
function compileRegex(source: string): RegExp {
  const literal = /^\/(.*)\/([dgimsuvy]*)$/s.exec(source);
  try {
    // No 'g'/'y': a stateful lastIndex would make test() depend on the previous example.
    return literal ? new RegExp(literal[1], literal[2].replace(/[gy]/g, '')) : new RegExp(source);
  } catch (e) {
    throw new Error(`metric regex:${source}: not a valid regular expression (${(e as Error).message})`, { cause: e });
  }
}

/** The metric an id names; throws on an unknown id, naming the known ones. */
export function metricFromId(id: string): Metric {
  const fixed = FIXED[id];
  if (fixed) return { id, ...fixed };
  if (id.startsWith('regex:')) {
    const re = compileRegex(id.slice('regex:'.length));
    return { id, label: `matches ${re}`, score: (p) => (re.test(p) ? 1 : 0), comparable: true };
  }
  if (id.startsWith('contains:') && id.length > 'contains:'.length) {
    const text = id.slice('contains:'.length);
    return { id, label: `contains ${JSON.stringify(text)}`, score: (p) => (p.includes(text) ? 1 : 0), comparable: true };
  }
  throw new Error(`unknown metric "${id}": use one of ${METRIC_IDS.join(', ')}, regex:PATTERN or contains:TEXT`);
}

/** Answers this short are graded as answers (exact match, F1), longer ones as text (overlap). */
export const SHORT_ANSWER_WORDS = 5;

/**
 * Metric ids suited to the references; the first is the headline metric of the verdict.
 * - all JSON objects/arrays → valid JSON, field agreement (objects only), exact match;
 * - all at most SHORT_ANSWER_WORDS words → normalised exact match, token F1 (SQuAD's pair);
 * - otherwise → ROUGE-L, chrF, token F1.
 * The length ratio is always reported (a tune often changes how much the model says).
 */
export function chooseMetricIds(references: readonly string[]): string[] {
  if (references.length > 0) {
    const parsed = references.map(parseJsonOutput);
    if (parsed.every((v) => v !== undefined)) {
      const objects = parsed.every((v) => !Array.isArray(v));
      return [...(objects ? ['json_fields'] : []), 'json', 'em', 'length'];
    }
    if (references.every((r) => words(r).length <= SHORT_ANSWER_WORDS)) return ['em_norm', 'f1', 'length'];
  }
  return ['rougeL', 'chrf', 'f1', 'length'];
}

/** The metrics of an evaluation: the given ids (duplicates dropped), or chosen from the references. */
export function resolveMetrics(references: readonly string[], ids?: readonly string[]): Metric[] {
  const chosen = ids && ids.length > 0 ? [...new Set(ids)] : chooseMetricIds(references);
  return chosen.map(metricFromId);
}
