// Owns the storage-quota check before a download and the request for persistent storage. No fetching, no IndexedDB.
import { EngineError } from '../shared/errors';
import { formatBytes } from '../shared/format-bytes';

/** The part of `navigator.storage` the store uses; tests pass their own. */
export interface StorageLike {
  estimate(): Promise<{ quota?: number; usage?: number }>;
  persist?(): Promise<boolean>;
  persisted?(): Promise<boolean>;
}

/** `navigator.storage` where it exists (pages and workers), else null (Node: no quota to check). */
export function defaultStorage(): StorageLike | null {
  const nav = (globalThis as { navigator?: { storage?: StorageLike } }).navigator;
  return nav?.storage && typeof nav.storage.estimate === 'function' ? nav.storage : null;
}

/**
 * Throws EngineError('quota-exceeded') when `neededBytes` more will not fit in what the browser grants this site,
 * naming the numbers and the stored models that could be deleted (largest first). Does nothing when the storage
 * API is missing or does not report a quota.
 */
export async function checkQuota(
  storage: StorageLike | null,
  neededBytes: number,
  cachedModels: () => Promise<{ id: string; bytes: number }[]>,
): Promise<void> {
  if (!storage || neededBytes <= 0) return;
  let estimate: { quota?: number; usage?: number };
  try {
    estimate = await storage.estimate();
  } catch {
    return;
  }
  if (typeof estimate.quota !== 'number') return;
  const usage = estimate.usage ?? 0;
  const available = Math.max(0, estimate.quota - usage);
  if (neededBytes <= available) return;
  const others = (await cachedModels()).filter((m) => m.bytes > 0).sort((a, b) => b.bytes - a.bytes);
  const hint =
    others.length > 0
      ? ` Delete stored models to make room: ${others.map((m) => `${m.id} (${formatBytes(m.bytes)})`).join(', ')}.`
      : ' Free disk space or allow this site more storage in the browser settings.';
  throw new EngineError(
    'quota-exceeded',
    `This model needs ${formatBytes(neededBytes)} more storage but the browser grants only ${formatBytes(available)} ` +
      `(${formatBytes(usage)} of ${formatBytes(estimate.quota)} used).${hint}`,
    {
      details: {
        neededBytes,
        availableBytes: available,
        usageBytes: usage,
        quotaBytes: estimate.quota,
        deletable: others,
      },
    },
  );
}

/** True when `neededBytes` more fit in what the browser grants (or it does not say); never throws. */
export async function quotaAllows(storage: StorageLike | null, neededBytes: number): Promise<boolean> {
  try {
    await checkQuota(storage, neededBytes, () => Promise.resolve([]));
    return true;
  } catch {
    return false;
  }
}

/**
 * Asks the browser to keep this site's storage under pressure (so GBs of weights are not evicted silently).
 * Returns whether storage is persistent; never throws.
 */
export async function requestPersistence(storage: StorageLike | null): Promise<boolean> {
  if (!storage?.persist) return false;
  try {
    if (storage.persisted && (await storage.persisted())) return true;
    return await storage.persist();
  } catch {
    return false;
  }
}
