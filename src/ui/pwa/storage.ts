// Persistent storage must be requested from a window (StorageManager.persist is not exposed to
// workers, where models are downloaded). Call this when the user starts a model download or
// import: the browser then will not evict the cached models under storage pressure.
// Chrome decides silently (granted for installed or often-used sites); Firefox asks the user,
// which is why this is tied to the user's action and not to page load.

/** Resolves to whether the origin's storage is persistent now. */
export async function requestPersistentStorage(): Promise<boolean> {
  const storage = navigator.storage;
  if (!storage?.persist) return false;
  if (await storage.persisted()) return true;
  return storage.persist().catch(() => false);
}
