// Owns the hub access token the person pasted in Settings: kept in this browser's IndexedDB only (a database of its
// own, so deleting models keeps it), readable by the page and the engine worker. It never sends, logs or exports it;
// http.ts decides the one host it goes to.
import { createStore, del, get, set, type UseStore } from 'idb-keyval';

const KEY = 'hub-token';
let database: UseStore | undefined;

function tokenStore(): UseStore {
  database ??= createStore('llava-settings', 'kv');
  return database;
}

/** What a pasted token looks like once trimmed; an empty string means "no token". */
export function normalizeHubToken(input: string): string {
  return input.trim().replace(/^Bearer\s+/i, '');
}

/** Saves the token (trimmed); an empty one removes it. */
export async function saveHubToken(token: string | null): Promise<void> {
  const value = token === null ? '' : normalizeHubToken(token);
  if (value === '') await del(KEY, tokenStore());
  else await set(KEY, value, tokenStore());
}

/** The saved token, or undefined (also where IndexedDB is unavailable). */
export async function readHubToken(): Promise<string | undefined> {
  try {
    const value = await get<unknown>(KEY, tokenStore());
    return typeof value === 'string' && value !== '' ? value : undefined;
  } catch {
    return undefined;
  }
}
