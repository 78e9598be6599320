// One rule for "may this work use the GPU now?", for every service of the worker. A training
// run holds the GPU while it trains. Paused, it still holds its memory (weights, adapter,
// optimizer, activations), so work that loads a model and builds a training graph of its own
// (profiling a step, the kernel benchmark, starting another run) waits until it is stopped,
// while the playground and evaluation, which share one small inference model, may run beside
// a paused run. An evaluation holds the playground's model until it ends or is cancelled.

/** Who holds the GPU now. */
export interface GpuHolders {
  /** The run this worker trains, holds paused, or is rebuilding from its checkpoint. */
  training: { name: string; paused: boolean } | null;
  evaluating: boolean;
}

/** 'inference': runs beside a paused run; 'training-graph': needs the memory a paused run still holds. */
export type GpuUse = 'inference' | 'training-graph';

/** Why `toDo` cannot have the GPU now, or null. */
export function gpuBusyReason(holders: GpuHolders, toDo: string, use: GpuUse): string | null {
  if (holders.evaluating) return `An evaluation is running. Cancel it (or wait for it to finish) to ${toDo}.`;
  const run = holders.training;
  if (!run) return null;
  if (!run.paused) return `The GPU is training “${run.name}”. Pause the run (or wait for it to finish) to ${toDo}.`;
  if (use === 'training-graph') return `The paused run “${run.name}” still holds its GPU memory. Stop it (or resume it and let it finish) to ${toDo}.`;
  return null;
}
