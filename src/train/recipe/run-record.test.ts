// The one builder of run records (the CLI's `train` and the studio's worker both call it) and the
// one reader of a record's rows (the CLI's `export` and the studio's "Export as recipe").
import { describe, expect, it, vi } from 'vitest';
import { parseDataset } from '../../data';
import { DEFAULT_ENGINE_OPTIONS } from '../session';
import { DEFAULT_SETTINGS } from '../settings';
import { adapterRunRecord, buildRunRecord, decodeRunRecord, encodeRunRecord, recordedExamples, runRecordFile, TRAINING_SETTINGS_FILE, type RecordedSession, type RunRecordSource } from './run-record';

const session = (over: Partial<RecordedSession> = {}): RecordedSession => ({
  settings: { ...DEFAULT_SETTINGS, targets: ['q_proj', 'v_proj'], rank: 4, alpha: 8 },
  engine: { ...DEFAULT_ENGINE_OPTIONS, weightStorage: 'auto', packing: false, maxGradNorm: 0.5, weightDecay: 0.01, recompute: 'selective' },
  weightStorage: 'f16',
  ...over,
});
const SHA = 'ab'.repeat(32);
const source = (over: Partial<RunRecordSource['data']> = {}, base: RunRecordSource['base'] = { id: 'org/model', revision: 'main' }): RunRecordSource => ({
  data: { file: 'd.jsonl', sha256: SHA, excludeInvalid: true, dedupe: true, examples: 3, ...over },
  base,
});

describe('buildRunRecord', () => {
  it('keeps the session’s settings, the engine options that change the result and the resolved weight storage', () => {
    const s = session();
    const r = buildRunRecord(s, source());
    expect(r).toEqual({
      objective: { kind: 'sft' },
      settings: s.settings,
      // 'auto' storage is recorded as what the device resolved, not as requested.
      engine: { packing: false, maxGradNorm: 0.5, weightDecay: 0.01, weights: 'f16', recompute: 'selective' },
      data: { file: 'd.jsonl', sha256: SHA, excludeInvalid: true, dedupe: true, examples: 3 },
      base: { id: 'org/model', revision: 'main' },
    });
    // A copy: later edits of the session's settings do not change the record.
    (s.settings.targets as string[]).push('k_proj');
    expect(r.settings.targets).toEqual(['q_proj', 'v_proj']);
    // What `train` writes is what `export` reads.
    expect(decodeRunRecord(encodeRunRecord(r))).toEqual(r);
  });

  it('records no recompute as false and a missing revision as null', () => {
    const r = buildRunRecord(session({ engine: { ...DEFAULT_ENGINE_OPTIONS, recompute: undefined } }), source({}, { id: 'local-folder' }));
    expect(r.engine.recompute).toBe(false);
    expect(r.base.revision).toBeNull();
  });

  it('refuses settings that cannot run, a malformed digest, no examples and an empty base id', () => {
    expect(() => buildRunRecord(session({ settings: { ...DEFAULT_SETTINGS, rank: 0 } }), source())).toThrow(/run record: .*Rank/);
    expect(() => buildRunRecord(session(), source({ sha256: 'AB'.repeat(32) }))).toThrow(/SHA-256 must be 64 lowercase hex digits/);
    expect(() => buildRunRecord(session(), source({ examples: 0 }))).toThrow(/at least one example, got 0/);
    expect(() => buildRunRecord(session(), source({}, { id: ' ' }))).toThrow(/base model id is empty/);
  });
});

describe('the run record beside an adapter', () => {
  it('is the file the CLI writes, and reads back with the objective that trained the adapter', () => {
    const r = buildRunRecord(session({ settings: { ...DEFAULT_SETTINGS, objective: 'dpo', beta: 0.25 } }), source());
    const f = runRecordFile(r);
    expect(f.name).toBe(TRAINING_SETTINGS_FILE);
    expect(new TextDecoder().decode(f.bytes)).toBe(encodeRunRecord(r));
    const other = { name: 'adapter_config.json', bytes: new TextEncoder().encode('{}') };
    expect(adapterRunRecord([other, f])?.objective).toEqual({ kind: 'dpo', beta: 0.25, labelSmoothing: 0 });
    expect(adapterRunRecord([other])).toBeNull();
    expect(() => adapterRunRecord([{ name: TRAINING_SETTINGS_FILE, bytes: new TextEncoder().encode('{') }])).toThrow(/training_settings.json is not JSON/);
  });
});

describe('recordedExamples', () => {
  const rows = ['{"prompt":"a","completion":"1"}', '{"prompt":"b","completion":"2"}', '{"prompt":"a","completion":"1"}', '{"prompt":3}', '{"prompt":"c","completion":"3"}'];
  const bytes = new TextEncoder().encode(rows.join('\n') + '\n');
  const parse = () => parseDataset(bytes, { fileName: 'd.jsonl' });
  const record = (data: Partial<RunRecordSource['data']>) => buildRunRecord(session(), source(data));

  it('selects with the run’s exclusions and dedupe, in file order', async () => {
    const ex = await recordedExamples(record({ examples: 3 }), { sha256: SHA, parse });
    expect(ex.map((e) => e.messages[0].content)).toEqual(['a', 'b', 'c']);
    const kept = await recordedExamples(record({ dedupe: false, examples: 4 }), { sha256: SHA, parse });
    expect(kept.map((e) => e.messages[0].content)).toEqual(['a', 'b', 'a', 'c']);
  });

  it('refuses another file before parsing it, invalid rows the run did not exclude, and another count', async () => {
    const spy = vi.fn(parse);
    await expect(recordedExamples(record({}), { sha256: 'cd'.repeat(32), parse: spy })).rejects.toThrow('not the file the run trained on (d.jsonl; its SHA-256 differs)');
    expect(spy).not.toHaveBeenCalled();
    await expect(recordedExamples(record({ excludeInvalid: false }), { sha256: SHA, parse })).rejects.toThrow(/1 invalid row/);
    await expect(recordedExamples(record({ examples: 5 }), { sha256: SHA, parse })).rejects.toThrow('3 examples selected, the run trained on 5');
  });
});
