// Secrets the user asked the studio to remember on this device (the Hugging Face access token),
// in their own small IndexedDB database: never in localStorage (readable by any script on the
// origin synchronously and easy to dump), never in the main database's exports or records.
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';

export const SECRETS_DB_NAME = 'lora-studio-secrets';

interface SecretsDB extends DBSchema {
  secrets: { key: string; value: string };
}

export const HUB_TOKEN_KEY = 'hf-token';

let dbPromise: Promise<IDBPDatabase<SecretsDB>> | null = null;

function secretsDb(): Promise<IDBPDatabase<SecretsDB>> {
  dbPromise ??= openDB<SecretsDB>(SECRETS_DB_NAME, 1, {
    upgrade(d) {
      d.createObjectStore('secrets');
    },
  });
  return dbPromise;
}

export async function getSecret(key: string): Promise<string | null> {
  return (await (await secretsDb()).get('secrets', key)) ?? null;
}

export async function setSecret(key: string, value: string): Promise<void> {
  await (await secretsDb()).put('secrets', value, key);
}

export async function deleteSecret(key: string): Promise<void> {
  await (await secretsDb()).delete('secrets', key);
}
