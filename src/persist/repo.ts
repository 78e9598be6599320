// Reads and writes of the studio's records. Thin over idb; the rules live in lifecycle.ts.
// The worker is the only writer; stores import only the reads (eslint.config.js, PERSIST_READS).
import { db } from './db';
import { markInterrupted } from './lifecycle';
import type { AdapterRecord, CheckpointRecord, DatasetRecord, EvaluationRecord, MetricPoint, RunRecord, SampleRecord } from './records';
import { withDefaults } from '../train/settings';

/** A stored run as this version reads it: settings from before a field existed get its default. */
const migrated = (r: RunRecord): RunRecord => ({ ...r, settings: withDefaults(r.settings) });

// Datasets
export const saveDataset = async (d: DatasetRecord) => void (await (await db()).put('datasets', d));
export const getDataset = async (id: string) => (await db()).get('datasets', id);
export async function listDatasets(): Promise<Omit<DatasetRecord, 'bytes'>[]> {
  const all = await (await db()).getAll('datasets');
  return all.map(({ bytes: _bytes, ...meta }) => meta).sort((a, b) => b.createdAt - a.createdAt);
}
export const deleteDataset = async (id: string) => void (await (await db()).delete('datasets', id));

// Runs
export const saveRun = async (r: RunRecord) => void (await (await db()).put('runs', { ...r, updatedAt: Date.now() }));
export async function getRun(id: string): Promise<RunRecord | undefined> {
  const r = await (await db()).get('runs', id);
  return r && migrated(r);
}
export async function updateRun(id: string, patch: Partial<RunRecord>): Promise<RunRecord | undefined> {
  const d = await db();
  const tx = d.transaction('runs', 'readwrite');
  const cur = await tx.store.get(id);
  if (!cur) return undefined;
  const next = { ...cur, ...patch, updatedAt: Date.now() };
  await tx.store.put(next);
  await tx.done;
  return next;
}

/**
 * All runs, newest first. A run still marked 'running' when nobody is training it (after a
 * reload or a crash) is reported as 'interrupted', so it can be resumed. Only reported: this
 * is a read (the stores list runs), and the worker rewrites the status when it resumes the run.
 */
export async function listRuns(activeRunId: string | null = null): Promise<RunRecord[]> {
  const runs = await (await db()).getAll('runs');
  const out: RunRecord[] = [];
  for (const r of runs) {
    const fixed = markInterrupted(r, activeRunId);
    out.push(migrated(fixed));
  }
  return out.sort((a, b) => b.createdAt - a.createdAt);
}

export async function deleteRun(id: string): Promise<void> {
  const d = await db();
  const tx = d.transaction(['runs', 'metrics', 'samples', 'checkpoints', 'evaluations'], 'readwrite');
  await tx.objectStore('runs').delete(id);
  for (const store of ['metrics', 'samples', 'evaluations'] as const) {
    const idx = tx.objectStore(store).index('byRun');
    for (let c = await idx.openCursor(id); c; c = await c.continue()) await c.delete();
  }
  await tx.objectStore('checkpoints').delete(id);
  await tx.done;
}

// Metrics and samples
export async function appendMetrics(points: MetricPoint[]): Promise<void> {
  if (!points.length) return;
  const tx = (await db()).transaction('metrics', 'readwrite');
  // put, not add: a point re-measured after resuming from a checkpoint replaces the old one.
  await Promise.all([...points.map((p) => tx.store.put(p)), tx.done]);
}
export const getMetrics = async (runId: string) => (await db()).getAllFromIndex('metrics', 'byRun', runId);
export const saveSample = async (s: SampleRecord) => void (await (await db()).put('samples', s));
export const getSamples = async (runId: string) => (await db()).getAllFromIndex('samples', 'byRun', runId);

// Checkpoints
export const saveCheckpoint = async (c: CheckpointRecord) => void (await (await db()).put('checkpoints', c));
export const getCheckpoint = async (runId: string) => (await db()).get('checkpoints', runId);

// Adapters
export const saveAdapter = async (a: AdapterRecord) => void (await (await db()).put('adapters', a));
export const getAdapter = async (id: string) => (await db()).get('adapters', id);
export async function listAdapters(): Promise<Omit<AdapterRecord, 'files'>[]> {
  const all = await (await db()).getAll('adapters');
  return all.map(({ files: _files, ...meta }) => meta).sort((a, b) => b.createdAt - a.createdAt);
}
export const deleteAdapter = async (id: string) => void (await (await db()).delete('adapters', id));

// Evaluations
export const saveEvaluation = async (e: EvaluationRecord) => void (await (await db()).put('evaluations', e));
/** A run's evaluations, newest first. */
export async function listEvaluations(runId: string): Promise<EvaluationRecord[]> {
  return (await (await db()).getAllFromIndex('evaluations', 'byRun', runId)).sort((a, b) => b.createdAt - a.createdAt);
}
export const getEvaluation = async (id: string) => (await (await db()).get('evaluations', id));
