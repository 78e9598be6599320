// Cancellable worker jobs: the UI names a job id when it starts work and may cancel it by id
// (AbortSignal inside the worker, so parsing/tokenizing stops between chunks).
const running = new Map<string, AbortController>();

export function startJob(id: string): AbortSignal {
  running.get(id)?.abort();
  const c = new AbortController();
  running.set(id, c);
  return c.signal;
}

export function cancelJob(id: string): boolean {
  const c = running.get(id);
  if (!c) return false;
  c.abort();
  running.delete(id);
  return true;
}

export function endJob(id: string, signal: AbortSignal): void {
  if (running.get(id)?.signal === signal) running.delete(id);
}

export class CancelledError extends Error {
  override name = 'CancelledError';
  constructor() {
    super('Cancelled');
  }
}
