// Shared types of the dataset pipeline: raw records, the normalised Example, row-level problems.

export type Role = 'system' | 'user' | 'assistant';

export interface Message {
  role: Role;
  content: string;
}

/**
 * How an example is rendered and which tokens train:
 * - 'chat': rendered with the model's chat template; loss on assistant turns (see LossMode).
 * - 'completion': prompt + completion as raw text (or through the template, see tokenize options);
 *   loss on the completion. messages = [{user: prompt}, {assistant: completion}].
 * - 'text': raw text, loss on everything. messages = [{assistant: text}].
 * - 'preference': a chosen and a rejected completion of one prompt (DPO, ORPO); see PreferenceExample.
 */
export type ExampleKind = 'chat' | 'completion' | 'text' | 'preference';

interface ExampleBase {
  messages: Message[];
  /** 0-based index of the record in the file. */
  row: number;
  /** 1-based line in the file (JSONL, CSV, TSV), when known. */
  line?: number;
}

/** One normalised supervised (SFT) example. */
export interface SftExample extends ExampleBase {
  kind: 'chat' | 'completion' | 'text';
}

/**
 * One preference pair (TRL layout). `messages` is the shared prompt; `chosen` / `rejected` are the
 * completions that follow it (assistant turns). Plain-string rows (`conversational: false`) hold
 * messages = [{user: prompt}] and one assistant message per side, and tokenize as a raw
 * prompt/completion row does; conversational rows go through the chat template.
 */
export interface PreferenceExample extends ExampleBase {
  kind: 'preference';
  conversational: boolean;
  chosen: Message[];
  rejected: Message[];
}

/** One normalised example. `row` is the 0-based index of its record in the file. */
export type Example = SftExample | PreferenceExample;

/** Detected or chosen input format. All of them normalise to Example. */
export type DatasetFormat = 'chat' | 'sharegpt' | 'alpaca' | 'completion' | 'text' | 'preference';

/** The file containers we read. */
export type FileType = 'jsonl' | 'json' | 'csv' | 'tsv' | 'parquet';

export type RowErrorCode =
  | 'invalid-json'
  | 'invalid-utf8'
  | 'line-too-long'
  | 'csv-syntax'
  | 'not-an-object'
  | 'missing-field'
  | 'empty-field'
  | 'not-a-string'
  | 'not-an-array'
  | 'unknown-role'
  | 'no-assistant-turn'
  | 'empty-conversation'
  // Preference pairs:
  | 'empty-completion'
  | 'identical-pair'
  | 'prompt-mismatch'
  | 'mixed-layout';

/** A problem with one record. Messages name the row (and line), the field, and what was expected. */
export interface RowError {
  code: RowErrorCode;
  /** 0-based index of the record (non-blank line, array element, CSV data row, parquet row). */
  row: number;
  /** 1-based line in the file, for line-based files. */
  line?: number;
  /** The field at fault, as a path: "messages[2].role". */
  field?: string;
  message: string;
}

export type FileErrorCode = 'unreadable' | 'binary' | 'no-records' | 'not-an-array' | 'invalid-json' | 'parquet';

/** A problem with the whole file: nothing (or nothing more) could be read. */
export interface FileError {
  code: FileErrorCode;
  message: string;
}

export type WarningCode = 'few-examples' | 'duplicates' | 'read-as-jsonl' | 'errors-truncated' | 'needs-mapping' | 'special-token-in-content' | 'mixed-formats';

export interface DataWarning {
  code: WarningCode;
  message: string;
}

/** A record read from the file before normalisation. */
export interface RawRecord {
  row: number;
  line?: number;
  value: unknown;
}

/**
 * Where the fields of a record are, when the keys are not the standard ones (or for CSV columns).
 * Paths may be dotted ("data.prompt"). A role map translates the file's role names to ours.
 */
export type FieldMapping =
  | { format: 'chat'; messages: string; role?: string; content?: string; roleMap?: Record<string, Role> }
  | { format: 'alpaca'; instruction: string; input?: string; output: string; system?: string }
  | { format: 'completion'; prompt: string; completion: string }
  | { format: 'text'; text: string }
  /** Preference pairs; `prompt` absent from a record means the implicit layout (whole conversations). */
  | { format: 'preference'; prompt?: string; chosen: string; rejected: string };
