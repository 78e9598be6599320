import { describe, expect, it, vi } from 'vitest';
import type { DatasetRecord } from '../persist/records';

// The database is a stand-in holding records as older versions stored them (no word on pairs).
const stored = vi.hoisted(() => new Map<string, unknown>());
vi.mock('../persist/repo', () => ({ getDataset: async (id: string) => stored.get(id), saveDataset: async (r: DatasetRecord) => void stored.set(r.id, r) }));

const { parseFile, saveCurrent, savedDatasetKind } = await import('./dataset-service');

function record(id: string, name: string, rows: object[], mapping: DatasetRecord['mapping'] = { request: {}, excludeInvalid: false, removeDuplicates: true }): DatasetRecord {
  const bytes = new TextEncoder().encode(rows.map((r) => JSON.stringify(r)).join('\n') + '\n').buffer as ArrayBuffer;
  return { id, name, bytes, size: bytes.byteLength, createdAt: 0, format: 'completion', mapping, examples: rows.length, excludedRows: 0 };
}

describe('what an older saved dataset holds, from its stored file', () => {
  it('pairs (prompt, chosen, rejected) and single answers, counted as a run reads them', async () => {
    stored.set('p', record('p', 'pairs.jsonl', [{ prompt: 'Hi', chosen: 'Hello!', rejected: 'No.' }, { prompt: 'Bye', chosen: 'Goodbye!', rejected: 'Go.' }]));
    stored.set('c', record('c', 'qa.jsonl', [{ prompt: 'Hi', completion: 'Hello!' }, { prompt: 'Hi', completion: 'Hello!' }, { prompt: 'Bye', completion: 'Goodbye!' }]));
    expect(await savedDatasetKind('p')).toEqual({ examples: 2, pairs: true });
    // The duplicate is removed as the saved consent said, as a run would.
    expect(await savedDatasetKind('c')).toEqual({ examples: 2, pairs: false });
  });

  it('a dataset saved now records whether it holds pairs (the Evaluate screen lists it by that)', async () => {
    const bytes = (rows: object[]) => new TextEncoder().encode(rows.map((r) => JSON.stringify(r)).join('\n') + '\n').buffer as ArrayBuffer;
    await parseFile('j', 'pairs.jsonl', bytes([{ prompt: 'Hi', chosen: 'Hello!', rejected: 'No.' }]), {});
    const p = await saveCurrent({ excludeInvalid: false, removeDuplicates: false });
    expect(p.pairs).toBe(true);
    expect((stored.get(p.id) as DatasetRecord).pairs).toBe(true);
    await parseFile('j', 'qa.jsonl', bytes([{ prompt: 'Hi', completion: 'Hello!' }]), {});
    const c = await saveCurrent({ excludeInvalid: false, removeDuplicates: false });
    expect((stored.get(c.id) as DatasetRecord).pairs).toBe(false);
  });

  it('a dataset that is gone says so', async () => {
    await expect(savedDatasetKind('missing')).rejects.toThrow('Saved dataset missing is gone.');
  });
});
