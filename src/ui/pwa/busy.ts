// "Something must not be interrupted" (a training run, a download), so the update prompt can
// say why reloading now is a bad idea. Screens call markBusy('Training') and the returned
// function when done; several can be busy at once.
import { useSyncExternalStore } from 'react';

const reasons = new Map<number, string>();
const listeners = new Set<() => void>();
let nextId = 1;
let snapshot: string[] = [];

function changed() {
  snapshot = [...reasons.values()];
  for (const l of listeners) l();
}

/** Marks the app busy; call the returned function when the work ends. */
export function markBusy(reason: string): () => void {
  const id = nextId++;
  reasons.set(id, reason);
  changed();
  return () => {
    if (reasons.delete(id)) changed();
  };
}

export function busyReasons(): string[] {
  return snapshot;
}

export function useBusyReasons(): string[] {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    busyReasons,
    busyReasons,
  );
}
