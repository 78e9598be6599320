// Format detection and normalisation: a raw record + a field mapping → one Example or row errors.
//
// Every supported format is a FieldMapping with the standard key names, so detection only has to
// pick a mapping and normalisation has a single code path (also used for CSV columns and for
// files with unknown keys, where the caller supplies the mapping).

import type { DatasetFormat, Example, FieldMapping, Message, RawRecord, Role, RowError, RowErrorCode } from './types';

export const ROLES: readonly Role[] = ['system', 'user', 'assistant'];

/** The mapping each known format implies. */
export const STANDARD_MAPPINGS: Record<DatasetFormat, FieldMapping> = {
  chat: { format: 'chat', messages: 'messages', role: 'role', content: 'content' },
  sharegpt: {
    format: 'chat',
    messages: 'conversations',
    role: 'from',
    content: 'value',
    roleMap: { human: 'user', gpt: 'assistant', system: 'system', user: 'user', assistant: 'assistant' },
  },
  alpaca: { format: 'alpaca', instruction: 'instruction', input: 'input', output: 'output', system: 'system' },
  completion: { format: 'completion', prompt: 'prompt', completion: 'completion' },
  text: { format: 'text', text: 'text' },
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Which known format one record looks like, or null. */
export function detectRecordFormat(value: unknown): DatasetFormat | null {
  if (!isObject(value)) return null;
  if ('messages' in value) return 'chat';
  if ('conversations' in value) return 'sharegpt';
  if ('instruction' in value && 'output' in value) return 'alpaca';
  if ('prompt' in value && 'completion' in value) return 'completion';
  if ('text' in value) return 'text';
  return null;
}

export interface FormatDetection {
  /** The majority format among the sampled records, or null when none is recognised. */
  format: DatasetFormat | null;
  /** How many sampled records voted for each format. */
  votes: Partial<Record<DatasetFormat, number>>;
  sampled: number;
  /** Keys seen in the sampled records, most frequent first: the choices for a mapping step. */
  keys: string[];
}

/** Detects the format by majority over the first `sample` object records. */
export function detectFormat(records: Iterable<unknown>, sample = 200): FormatDetection {
  const votes: Partial<Record<DatasetFormat, number>> = {};
  const keyCounts = new Map<string, number>();
  let sampled = 0;
  for (const value of records) {
    if (sampled >= sample) break;
    if (!isObject(value)) continue;
    sampled++;
    for (const k of Object.keys(value)) keyCounts.set(k, (keyCounts.get(k) ?? 0) + 1);
    const f = detectRecordFormat(value);
    if (f) votes[f] = (votes[f] ?? 0) + 1;
  }
  let format: DatasetFormat | null = null;
  let best = 0;
  for (const [f, n] of Object.entries(votes) as Array<[DatasetFormat, number]>) {
    if (n > best) {
      best = n;
      format = f;
    }
  }
  const keys = [...keyCounts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([k]) => k);
  return { format, votes, sampled, keys };
}

/** Reads a dotted path ("a.b.c") from an object; undefined when any step is missing. */
export function getPath(obj: Record<string, unknown>, path: string): unknown {
  if (path in obj) return obj[path]; // keys that themselves contain dots
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (!isObject(cur) || !(part in cur)) return undefined;
    cur = cur[part];
  }
  return cur;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** Normalises one record. Returns the Example, or every problem found in the record. */
export function normalizeRecord(rec: RawRecord, mapping: FieldMapping): Example | RowError[] {
  const errors: RowError[] = [];
  const where = rec.line !== undefined ? `line ${rec.line}` : `row ${rec.row}`;
  const fail = (code: RowErrorCode, field: string | undefined, message: string) => {
    const err: RowError = { code, row: rec.row, message: `${where}: ${message}` };
    if (rec.line !== undefined) err.line = rec.line;
    if (field !== undefined) err.field = field;
    errors.push(err);
  };
  const value = rec.value;
  if (!isObject(value)) {
    fail('not-an-object', undefined, `expected a JSON object, got ${describe(value)}`);
    return errors;
  }

  /** A required (or optional) string field; returns undefined after reporting when invalid. */
  const str = (path: string, required: boolean, allowEmpty = false): string | undefined => {
    const v = getPath(value, path);
    if (v === undefined || v === null) {
      if (required) fail('missing-field', path, `missing field "${path}" (expected a string)`);
      return undefined;
    }
    if (typeof v !== 'string') {
      fail('not-a-string', path, `field "${path}" must be a string, got ${describe(v)}`);
      return undefined;
    }
    if (!allowEmpty && required && v.trim() === '') {
      fail('empty-field', path, `field "${path}" is empty`);
      return undefined;
    }
    return v;
  };

  const base = { row: rec.row, ...(rec.line !== undefined ? { line: rec.line } : {}) };
  switch (mapping.format) {
    case 'text': {
      const text = str(mapping.text, true);
      return errors.length ? errors : { kind: 'text', messages: [{ role: 'assistant', content: text! }], ...base };
    }
    case 'completion': {
      const prompt = str(mapping.prompt, true, true);
      const completion = str(mapping.completion, true);
      if (errors.length) return errors;
      return {
        kind: 'completion',
        messages: [
          { role: 'user', content: prompt! },
          { role: 'assistant', content: completion! },
        ],
        ...base,
      };
    }
    case 'alpaca': {
      const system = mapping.system ? str(mapping.system, false) : undefined;
      const instruction = str(mapping.instruction, true);
      const input = mapping.input ? str(mapping.input, false) : undefined;
      const output = str(mapping.output, true);
      if (errors.length) return errors;
      const user = input && input.trim() !== '' ? `${instruction}\n\n${input}` : instruction!;
      const messages: Message[] = [];
      if (system && system.trim() !== '') messages.push({ role: 'system', content: system });
      messages.push({ role: 'user', content: user }, { role: 'assistant', content: output! });
      return { kind: 'chat', messages, ...base };
    }
    case 'chat': {
      const roleKey = mapping.role ?? 'role';
      const contentKey = mapping.content ?? 'content';
      let list = getPath(value, mapping.messages);
      if (typeof list === 'string') {
        // CSV cells hold the conversation as JSON text.
        try {
          list = JSON.parse(list);
        } catch {
          fail('not-an-array', mapping.messages, `field "${mapping.messages}" holds text that is not a JSON array of messages`);
          return errors;
        }
      }
      if (list === undefined || list === null) {
        fail('missing-field', mapping.messages, `missing field "${mapping.messages}" (expected an array of messages)`);
        return errors;
      }
      if (!Array.isArray(list)) {
        fail('not-an-array', mapping.messages, `field "${mapping.messages}" must be an array of messages, got ${describe(list)}`);
        return errors;
      }
      if (list.length === 0) {
        fail('empty-conversation', mapping.messages, `field "${mapping.messages}" is an empty conversation`);
        return errors;
      }
      const messages: Message[] = [];
      list.forEach((m, i) => {
        const at = `${mapping.messages}[${i}]`;
        if (!isObject(m)) {
          fail('not-an-object', at, `${at} must be an object with "${roleKey}" and "${contentKey}", got ${describe(m)}`);
          return;
        }
        const rawRole = m[roleKey];
        let role: Role | undefined;
        if (rawRole === undefined || rawRole === null) {
          fail('missing-field', `${at}.${roleKey}`, `missing field "${at}.${roleKey}"`);
        } else if (typeof rawRole !== 'string') {
          fail('not-a-string', `${at}.${roleKey}`, `field "${at}.${roleKey}" must be a string, got ${describe(rawRole)}`);
        } else {
          role = mapping.roleMap ? mapping.roleMap[rawRole] : (ROLES as readonly string[]).includes(rawRole) ? (rawRole as Role) : undefined;
          if (!role) {
            const expected = mapping.roleMap ? Object.keys(mapping.roleMap) : ROLES;
            fail('unknown-role', `${at}.${roleKey}`, `unknown role "${rawRole}" in ${at}.${roleKey} (expected one of ${expected.join(', ')}, or supply a role map)`);
          }
        }
        const content = m[contentKey];
        if (content === undefined || content === null) {
          fail('missing-field', `${at}.${contentKey}`, `missing field "${at}.${contentKey}" (expected a string)`);
        } else if (typeof content !== 'string') {
          fail('not-a-string', `${at}.${contentKey}`, `field "${at}.${contentKey}" must be a string, got ${describe(content)}`);
        } else if (content.trim() === '') {
          fail('empty-field', `${at}.${contentKey}`, `field "${at}.${contentKey}" is empty`);
        } else if (role) {
          messages.push({ role, content });
        }
      });
      if (errors.length) return errors;
      if (!messages.some((m) => m.role === 'assistant')) {
        fail('no-assistant-turn', mapping.messages, `conversation has no assistant turn: nothing to train on`);
        return errors;
      }
      return { kind: 'chat', messages, ...base };
    }
  }
}
