// JSON metrics: is the prediction structured output, and does it carry the reference's fields.

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

// One markdown code fence around the whole output (```json ... ```): the one wrapper models add
// that every consumer strips.
const FENCED = /^```[A-Za-z0-9_-]*[ \t]*\r?\n([\s\S]*?)\r?\n?```$/;

/**
 * The JSON object or array that the whole text is (trimmed, optionally inside one code fence), or
 * undefined. The whole text, not the first {...} in it: a program reading the model's output would
 * fail on prose around the JSON, so such output does not count as valid. Scalars ("42", "true") do
 * not count either: structured output means an object or an array.
 */
export function parseJsonOutput(text: string): JsonValue[] | { [key: string]: JsonValue } | undefined {
  let body = text.trim();
  const fenced = FENCED.exec(body);
  if (fenced) body = fenced[1].trim();
  if (!body.startsWith('{') && !body.startsWith('[')) return undefined;
  try {
    const value = JSON.parse(body) as JsonValue;
    return typeof value === 'object' && value !== null ? value : undefined;
  } catch {
    return undefined;
  }
}

/** 1 when the prediction is a JSON object or array (see parseJsonOutput), else 0. */
export function jsonValid(prediction: string, _reference: string): number {
  return parseJsonOutput(prediction) === undefined ? 0 : 1;
}

function isObject(v: JsonValue): v is { [key: string]: JsonValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Structural equality of JSON values: arrays in order, objects as key sets (any key order). */
export function jsonEqual(a: JsonValue, b: JsonValue): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (!isObject(a) || !isObject(b)) return false;
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
}

/**
 * Per-field agreement: the fraction of the reference object's top-level keys whose values the
 * prediction has, deep-equal. Extra keys in the prediction cost nothing (json_valid and em see
 * them). An invalid prediction scores 0. A reference that is not an object (an array) scores 1
 * only when the prediction equals it whole; an empty reference object scores 1 for any object; a
 * reference that is not JSON scores 0.
 */
export function jsonFieldAgreement(prediction: string, reference: string): number {
  const pred = parseJsonOutput(prediction);
  const ref = parseJsonOutput(reference);
  if (pred === undefined || ref === undefined) return 0;
  if (!isObject(ref)) return jsonEqual(pred, ref) ? 1 : 0;
  if (!isObject(pred)) return 0;
  const keys = Object.keys(ref);
  if (keys.length === 0) return 1;
  return keys.filter((k) => Object.hasOwn(pred, k) && jsonEqual(pred[k], ref[k])).length / keys.length;
}
