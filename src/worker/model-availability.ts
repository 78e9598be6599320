// Whether the chosen base model is still in this browser's storage. Browsers evict the Origin
// Private File System of sites without persistent storage (private windows always; others under
// storage pressure), so a model imported earlier can vanish between two screens. Pure: the UI
// checks its list of cached models with it, the worker words its errors with it.
import type { ModelRef } from '../persist/records';

/** The error for a model that is not (or no longer) in the cache. */
export function modelMissingMessage(ref: ModelRef): string {
  if (ref.source === 'local') {
    return `The imported model “${ref.id}” was removed from this browser’s storage (browsers clear it in private windows and when storage is not kept persistently). Import its folder again on the Model screen.`;
  }
  return `${ref.id} is not on this device yet: download it (or import its folder) on the Model screen first.`;
}

/**
 * The notice to show on every screen when the chosen model was imported from a folder and is
 * gone from the cache; null when it is there. (A Hub model that is not cached simply has not
 * been downloaded yet: the Model screen offers the download.)
 */
export function lostModelNotice(ref: ModelRef, cached: readonly { id: string; source: 'hub' | 'local' }[]): string | null {
  if (ref.source !== 'local') return null;
  return cached.some((m) => m.id === ref.id && m.source === 'local') ? null : modelMissingMessage(ref);
}
