// JSON metadata files (config.json, tokenizer files, adapter_config.json) as objects, with the
// caller's error type and file name in the message.

/** `input` (text, or an already parsed value) as a JSON object; otherwise `fail` with what is wrong. */
export function parseJsonObject(input: string | unknown, fail: (problem: string, cause?: unknown) => never): Record<string, unknown> {
  let j: unknown = input;
  if (typeof input === 'string') {
    try {
      j = JSON.parse(input);
    } catch (e) {
      fail(`not valid JSON (${(e as Error).message})`, e);
    }
  }
  if (typeof j !== 'object' || j === null || Array.isArray(j)) fail('not a JSON object');
  return j as Record<string, unknown>;
}
