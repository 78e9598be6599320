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
  preference: { format: 'preference', prompt: 'prompt', chosen: 'chosen', rejected: 'rejected' },
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Which known format one record looks like, or null. */
export function detectRecordFormat(value: unknown): DatasetFormat | null {
  if (!isObject(value)) return null;
  // Either side alone still votes, so a row missing the other is reported rather than unrecognised.
  if ('chosen' in value || 'rejected' in value) return 'preference';
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

const sameMessage = (a: Message, b: Message) => a.role === b.role && a.content === b.content;
const sameMessages = (a: readonly Message[], b: readonly Message[]) => a.length === b.length && a.every((m, i) => sameMessage(m, b[i]));

/** Length of the longest common message prefix. */
function commonPrefix(a: readonly Message[], b: readonly Message[]): number {
  let k = 0;
  while (k < a.length && k < b.length && sameMessage(a[k], b[k])) k++;
  return k;
}

/**
 * Whether a preference field holds a conversation: an array, or (CSV and parquet text cells) the
 * JSON text of an array of objects. Only that shape counts, as a plain completion may well start
 * with "[".
 */
function isConversation(v: unknown): boolean {
  if (Array.isArray(v)) return true;
  if (typeof v !== 'string' || !/^\s*\[\s*\{/.test(v)) return false;
  try {
    const parsed: unknown = JSON.parse(v);
    return Array.isArray(parsed) && parsed.every(isObject);
  } catch {
    return false;
  }
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

  /**
   * A list of messages (or, as CSV cells hold it, its JSON text); undefined after reporting every
   * problem in it.
   */
  const messageList = (path: string, raw: unknown, roleKey = 'role', contentKey = 'content', roleMap?: Record<string, Role>, allowEmpty = false): Message[] | undefined => {
    let list = raw;
    if (typeof list === 'string') {
      try {
        list = JSON.parse(list);
      } catch {
        fail('not-an-array', path, `field "${path}" holds text that is not a JSON array of messages`);
        return undefined;
      }
    }
    if (list === undefined || list === null) {
      fail('missing-field', path, `missing field "${path}" (expected an array of messages)`);
      return undefined;
    }
    if (!Array.isArray(list)) {
      fail('not-an-array', path, `field "${path}" must be an array of messages, got ${describe(list)}`);
      return undefined;
    }
    if (list.length === 0 && !allowEmpty) {
      fail('empty-conversation', path, `field "${path}" is an empty conversation`);
      return undefined;
    }
    const before = errors.length;
    const messages: Message[] = [];
    list.forEach((m, i) => {
      const at = `${path}[${i}]`;
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
        role = roleMap ? roleMap[rawRole] : (ROLES as readonly string[]).includes(rawRole) ? (rawRole as Role) : undefined;
        if (!role) {
          const expected = roleMap ? Object.keys(roleMap) : ROLES;
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
    return errors.length > before ? undefined : messages;
  };

  const base = { row: rec.row, ...(rec.line !== undefined ? { line: rec.line } : {}) };
  /** A pair in TRL's layout; every check names the field at fault. */
  const normalizePreference = (mapping: Extract<FieldMapping, { format: 'preference' }>): Example | RowError[] => {
    const sides = [mapping.chosen, mapping.rejected] as const;
    const raw = sides.map((path) => getPath(value, path));
    raw.forEach((v, i) => {
      if (v === undefined || v === null) fail('missing-field', sides[i], `missing field "${sides[i]}": a preference pair needs both a chosen and a rejected completion`);
    });
    if (errors.length) return errors;
    const promptKey = mapping.prompt ?? 'prompt';
    const rawPrompt = mapping.prompt !== undefined ? getPath(value, mapping.prompt) : undefined;
    const hasPrompt = rawPrompt !== undefined && rawPrompt !== null;
    const conversational = raw.some(isConversation) || (hasPrompt && isConversation(rawPrompt));

    if (!conversational) {
      if (!hasPrompt) {
        fail('missing-field', promptKey, `missing field "${promptKey}": plain-text "${mapping.chosen}"/"${mapping.rejected}" need a prompt (only message lists carry their own)`);
        return errors;
      }
      const prompt = str(promptKey, true, true);
      const texts = raw.map((v, i) => {
        if (typeof v !== 'string') fail('not-a-string', sides[i], `field "${sides[i]}" must be a string or a list of messages, got ${describe(v)}`);
        else if (v.trim() === '') fail('empty-completion', sides[i], `field "${sides[i]}" is an empty completion`);
        else return v;
        return undefined;
      });
      if (errors.length) return errors;
      if (texts[0] === texts[1]) {
        fail('identical-pair', mapping.rejected, `"${mapping.chosen}" and "${mapping.rejected}" are identical: the pair prefers nothing`);
        return errors;
      }
      return {
        kind: 'preference',
        conversational: false,
        messages: [{ role: 'user', content: prompt! }],
        chosen: [{ role: 'assistant', content: texts[0]! }],
        rejected: [{ role: 'assistant', content: texts[1]! }],
        ...base,
      };
    }

    // Conversational: every field must be a message list (a string among them is ambiguous).
    const fields = hasPrompt ? [...sides, promptKey] : [...sides];
    const values = hasPrompt ? [...raw, rawPrompt] : raw;
    values.forEach((v, i) => {
      if (!isConversation(v)) fail('mixed-layout', fields[i], `field "${fields[i]}" is ${describe(v)} while the rest of this pair are message lists: use strings for all of prompt/chosen/rejected, or message lists for all`);
    });
    if (errors.length) return errors;
    const maybe = raw.map((v, i) => messageList(sides[i], v, 'role', 'content', undefined, true));
    const promptList = hasPrompt ? messageList(promptKey, rawPrompt) : [];
    if (errors.length || !maybe[0] || !maybe[1] || !promptList) return errors;
    const lists = [maybe[0], maybe[1]];
    let prompt: Message[];
    const completions: Message[][] = [];
    if (!hasPrompt) {
      // Implicit layout: two whole conversations; the prompt is their longest common prefix.
      if (sameMessages(lists[0], lists[1])) {
        fail('identical-pair', mapping.rejected, `"${mapping.chosen}" and "${mapping.rejected}" are identical conversations: the pair prefers nothing`);
        return errors;
      }
      const k = commonPrefix(lists[0], lists[1]);
      if (k === 0) {
        fail('prompt-mismatch', mapping.rejected, `"${mapping.chosen}" and "${mapping.rejected}" share no leading message, so they answer different prompts (without a "${promptKey}" field both must repeat the same prompt messages)`);
        return errors;
      }
      prompt = lists[0].slice(0, k);
      completions.push(lists[0].slice(k), lists[1].slice(k));
    } else {
      // Explicit layout; some datasets repeat the prompt at the start of each side: it must be the same one.
      prompt = promptList;
      lists.forEach((list, i) => {
        if (list.length === 0 || list[0].role === 'assistant') return void completions.push(list);
        const k = commonPrefix(list, prompt);
        if (k < prompt.length) {
          fail('prompt-mismatch', `${sides[i]}[${k}]`, `"${sides[i]}" repeats a prompt that differs from "${promptKey}" at ${sides[i]}[${k}]`);
        }
        completions.push(list.slice(prompt.length));
      });
      if (errors.length) return errors;
    }
    completions.forEach((c, i) => {
      if (c.length === 0) fail('empty-completion', sides[i], `"${sides[i]}" has no reply after the prompt: an empty completion`);
      else if (c[0].role !== 'assistant') {
        // The sides differ before any reply: they answer different prompts.
        const at = hasPrompt ? `${sides[i]}[0]` : `${sides[i]}[${prompt.length}]`;
        fail('prompt-mismatch', at, `"${sides[i]}" continues the prompt with a ${c[0].role} message instead of a reply, so chosen and rejected do not share their prompt`);
      }
    });
    if (errors.length) return errors;
    if (sameMessages(completions[0], completions[1])) {
      fail('identical-pair', mapping.rejected, `"${mapping.chosen}" and "${mapping.rejected}" are the same reply: the pair prefers nothing`);
      return errors;
    }
    return { kind: 'preference', conversational: true, messages: prompt, chosen: completions[0], rejected: completions[1], ...base };
  };

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
    case 'preference':
      return normalizePreference(mapping);
    case 'chat': {
      const messages = messageList(mapping.messages, getPath(value, mapping.messages), mapping.role, mapping.content, mapping.roleMap);
      if (!messages) return errors;
      if (!messages.some((m) => m.role === 'assistant')) {
        fail('no-assistant-turn', mapping.messages, `conversation has no assistant turn: nothing to train on`);
        return errors;
      }
      return { kind: 'chat', messages, ...base };
    }
  }
}
