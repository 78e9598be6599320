// The studio's IndexedDB database (idb). One place for the schema and its upgrades.
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { AdapterRecord, CheckpointRecord, DatasetRecord, EvaluationRecord, MetricPoint, RunRecord, SampleRecord } from './records';

export const DB_NAME = 'lora-studio';
/** 2: evaluations (held-out scores of a run's systems). */
export const DB_VERSION = 2;

export interface StudioDB extends DBSchema {
  datasets: { key: string; value: DatasetRecord };
  runs: { key: string; value: RunRecord; indexes: { byCreated: number } };
  metrics: { key: [string, number]; value: MetricPoint; indexes: { byRun: string } };
  samples: { key: [string, number, string]; value: SampleRecord; indexes: { byRun: string } };
  /** Newest checkpoint per run (older ones are replaced: they are only for resuming). */
  checkpoints: { key: string; value: CheckpointRecord };
  adapters: { key: string; value: AdapterRecord; indexes: { byRun: string } };
  evaluations: { key: string; value: EvaluationRecord; indexes: { byRun: string } };
}

let dbPromise: Promise<IDBPDatabase<StudioDB>> | null = null;

export function db(): Promise<IDBPDatabase<StudioDB>> {
  dbPromise ??= openDB<StudioDB>(DB_NAME, DB_VERSION, {
    upgrade(d, oldVersion) {
      if (oldVersion < 1) createV1(d);
      if (oldVersion < 2) d.createObjectStore('evaluations', { keyPath: 'id' }).createIndex('byRun', 'runId');
    },
  });
  return dbPromise;
}

/** The stores of version 1 (databases made before evaluations existed already have them). */
function createV1(d: IDBPDatabase<StudioDB>) {
  d.createObjectStore('datasets', { keyPath: 'id' });
  d.createObjectStore('runs', { keyPath: 'id' }).createIndex('byCreated', 'createdAt');
  d.createObjectStore('metrics', { keyPath: ['runId', 'step'] }).createIndex('byRun', 'runId');
  d.createObjectStore('samples', { keyPath: ['runId', 'step', 'prompt'] }).createIndex('byRun', 'runId');
  d.createObjectStore('checkpoints', { keyPath: 'runId' });
  d.createObjectStore('adapters', { keyPath: 'id' }).createIndex('byRun', 'runId');
}

export function newId(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
