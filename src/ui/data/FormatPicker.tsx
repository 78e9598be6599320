import { useState } from 'react';
import { useDataset } from '../../store/dataset';
import type { DatasetFormat, DatasetReport, FieldMapping } from '../../worker/client';

const FORMATS: { value: DatasetFormat; label: string }[] = [
  { value: 'chat', label: 'Chat (messages: role/content)' },
  { value: 'sharegpt', label: 'ShareGPT (conversations: from/value)' },
  { value: 'alpaca', label: 'Alpaca (instruction/input/output)' },
  { value: 'completion', label: 'Prompt / completion' },
  { value: 'text', label: 'Plain text' },
  { value: 'preference', label: 'Preference pairs (prompt/chosen/rejected)' },
];

/** The fields each mapping needs; optional ones may be left empty. */
const MAPPING_FIELDS: Record<FieldMapping['format'], { key: string; label: string; optional?: boolean }[]> = {
  chat: [{ key: 'messages', label: 'Messages list' }, { key: 'role', label: 'Role key inside a message', optional: true }, { key: 'content', label: 'Content key inside a message', optional: true }],
  alpaca: [{ key: 'instruction', label: 'Instruction' }, { key: 'input', label: 'Input', optional: true }, { key: 'output', label: 'Output' }, { key: 'system', label: 'System prompt', optional: true }],
  completion: [{ key: 'prompt', label: 'Prompt' }, { key: 'completion', label: 'Completion' }],
  text: [{ key: 'text', label: 'Text' }],
  preference: [{ key: 'prompt', label: 'Prompt (empty: whole conversations sharing their first messages)', optional: true }, { key: 'chosen', label: 'Chosen' }, { key: 'rejected', label: 'Rejected' }],
};

/** Detected format with an override, and a field mapping for unknown keys or CSV columns. */
export function FormatPicker({ report }: { report: DatasetReport }) {
  const { reparse, busy } = useDataset();
  const [showMapping, setShowMapping] = useState(false);
  const needsMapping = !report.mapping;
  return (
    <div className="card" data-testid="format-picker">
      <h2>Format</h2>
      <p>
        {report.detectedFormat ? (
          <>
            Detected: <strong data-testid="detected-format">{FORMATS.find((f) => f.value === report.detectedFormat)?.label}</strong>
          </>
        ) : report.format ? (
          <>
            Using: <strong>{report.format}</strong>
          </>
        ) : (
          <strong className="bad">Not recognised — map the fields below.</strong>
        )}
      </p>
      <label htmlFor="format-override">Read as</label>{' '}
      <select
        id="format-override"
        value={report.format ?? ''}
        disabled={busy}
        onChange={(e) => e.target.value && void reparse({ format: e.target.value as DatasetFormat })}
      >
        <option value="">— choose —</option>
        {FORMATS.map((f) => (
          <option key={f.value} value={f.value}>
            {f.label}
          </option>
        ))}
      </select>{' '}
      <button type="button" className="link" onClick={() => setShowMapping((s) => !s)} aria-expanded={showMapping || needsMapping}>
        Map fields by hand
      </button>
      {(showMapping || needsMapping) && <MappingForm report={report} />}
    </div>
  );
}

function MappingForm({ report }: { report: DatasetReport }) {
  const { reparse, busy } = useDataset();
  const [kind, setKind] = useState<FieldMapping['format']>(report.mapping?.format ?? 'completion');
  const [values, setValues] = useState<Record<string, string>>(() => ({ ...(report.mapping as Record<string, string> | null) }));
  const fields = MAPPING_FIELDS[kind];
  const complete = fields.every((f) => f.optional || values[f.key]);
  return (
    <form
      className="mapping"
      data-testid="mapping-form"
      onSubmit={(e) => {
        e.preventDefault();
        const m: Record<string, string> = { format: kind };
        for (const f of fields) if (values[f.key]) m[f.key] = values[f.key];
        void reparse({ mapping: m as unknown as FieldMapping });
      }}
    >
      <p className="muted">Keys found in the file: {report.keys.length ? report.keys.join(', ') : 'none'}</p>
      <label htmlFor="mapping-kind">Examples are</label>{' '}
      <select id="mapping-kind" value={kind} onChange={(e) => setKind(e.target.value as FieldMapping['format'])}>
        <option value="chat">conversations</option>
        <option value="alpaca">instruction / output</option>
        <option value="completion">prompt / completion</option>
        <option value="text">plain text</option>
      </select>
      <div className="grid2">
        {fields.map((f) => (
          <div key={f.key} className="field">
            <label htmlFor={`map-${f.key}`}>
              {f.label}
              {f.optional ? ' (optional)' : ''}
            </label>
            <input id={`map-${f.key}`} list="dataset-keys" value={values[f.key] ?? ''} onChange={(e) => setValues({ ...values, [f.key]: e.target.value })} placeholder="key or dotted.path" />
          </div>
        ))}
      </div>
      <datalist id="dataset-keys">
        {report.keys.map((k) => (
          <option key={k} value={k} />
        ))}
      </datalist>
      <button type="submit" disabled={!complete || busy}>
        Apply mapping
      </button>
    </form>
  );
}
