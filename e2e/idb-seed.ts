// Test helper (not a spec): puts records into the app's IndexedDB, as stored runs and datasets
// would be, for specs that start from a finished run. The app must have created its database.
import type { Page } from '@playwright/test';
import { DB_NAME, DB_VERSION } from '../src/persist/db';

/**
 * Writes `records` (store name → rows) in one transaction. A row's `bytes` given as a number array
 * is stored as an ArrayBuffer (a dataset's file), since page.evaluate passes plain JSON.
 */
export async function putRecords(page: Page, records: Record<string, unknown[]>): Promise<void> {
  await page.evaluate(
    ([name, version, records]) =>
      new Promise<void>((resolve, reject) => {
        const open = indexedDB.open(name, version);
        open.onerror = () => reject(open.error);
        open.onupgradeneeded = () => (open.transaction!.abort(), reject(new Error('the app had not created its database')));
        open.onsuccess = () => {
          try {
            const tx = open.result.transaction(Object.keys(records), 'readwrite');
            for (const [store, rows] of Object.entries(records)) {
              for (const row of rows as Record<string, unknown>[]) tx.objectStore(store).put(Array.isArray(row.bytes) ? { ...row, bytes: new Uint8Array(row.bytes as number[]).buffer } : row);
            }
            tx.oncomplete = () => (open.result.close(), resolve());
            tx.onerror = () => reject(tx.error);
          } catch (e) {
            reject(e);
          }
        };
      }),
    [DB_NAME, DB_VERSION, records] as const,
  );
}
