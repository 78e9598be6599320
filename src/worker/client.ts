// The UI's only door to the engine: a typed Comlink proxy to the trainer worker.
import * as Comlink from 'comlink';
import type { TrainerApi } from './trainer.worker';

export type { GpuStatus } from './trainer.worker';
export type { SmokeResult } from '../engine/smoke';

let remote: Comlink.Remote<TrainerApi> | null = null;

export function trainer(): Comlink.Remote<TrainerApi> {
  if (!remote) {
    const worker = new Worker(new URL('./trainer.worker.ts', import.meta.url), { type: 'module', name: 'trainer' });
    remote = Comlink.wrap<TrainerApi>(worker);
  }
  return remote;
}
