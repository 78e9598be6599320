// The UI's only door to the engine: a typed Comlink proxy to the trainer worker.
import * as Comlink from 'comlink';
import type { TrainerApi } from './trainer.worker';

export type { GpuStatus } from './trainer.worker';
export type { SmokeResult } from '../engine/smoke';
export type { StepProfileReport, KernelBenchReport, KernelBenchReportRow } from './profile-service';
export type { MemoryReport } from './memory';
export type { DatasetReport, ParseRequest, ParseProgress, DatasetFormat, FieldMapping, FileType, Example, RowError, DataWarning, FileError } from './dataset-service';
export type { RunEvent, StartRunRequest, GenerateRequest } from './run-types';
export type { NamedBytes } from './zip';
export type { MergedFormat, MergedExportPlan } from './adapter-service';
export type { CachedModel, DownloadProgress, HubGgufFile, HubGgufHeader, HubRepoKind } from './models-service';
export type { TokenReport, DatasetStats, PreviewSegment } from './token-service';
export type { EvaluateRequest, EvaluateProgress } from './evaluation-service';
export type { BaselinePrompt } from '../eval';

let remote: Comlink.Remote<TrainerApi> | null = null;

export function trainer(): Comlink.Remote<TrainerApi> {
  if (!remote) {
    const worker = new Worker(new URL('./trainer.worker.ts', import.meta.url), { type: 'module', name: 'trainer' });
    remote = Comlink.wrap<TrainerApi>(worker);
  }
  return remote;
}

/** Wraps a callback so the worker can call it back (progress, run events, tokens). */
export const callback = <T extends (...args: never[]) => unknown>(fn: T) => Comlink.proxy(fn);

/** Marks an ArrayBuffer to be moved to the worker rather than copied. */
export const transfer = <T>(value: T, buffers: Transferable[]) => Comlink.transfer(value, buffers);

/** The message of an error thrown in the worker (Comlink re-throws it here). */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
