// Owns managing what is stored: listing models (complete or partial, bytes), deleting, and re-verifying hashes on
// demand. It never downloads; a file that fails re-verification is deleted so that the next download replaces it.
import { throwIfAborted } from '../shared/abort';
import { EngineError } from '../shared/errors';
import type { Component, Dtype, LoadProgressEvent, ModelRef } from '../shared/protocol';
import { cancelDownloads } from './download-registry';
import { createFileHasher } from './file-hasher';
import { getDefaultWeightStore, isModelDeleted, type FileRecord, type WeightStore } from './idb-weight-store';
import { ProgressTracker } from './progress';
import { readStoredChunks } from './store-source';

/** One stored model as a list shows it. */
export interface CachedModelSummary {
  id: string;
  label?: string;
  ref: ModelRef;
  dtype: Record<Component, Dtype> | null;
  /** Bytes stored for this id (partial files and files of other dtypes included). */
  bytes: number;
  /** Bytes of the files the model needs, when all their sizes are known. */
  totalBytes: number | null;
  /** Every needed file is stored complete. */
  complete: boolean;
  /** Every needed file matched a hash from its source (hub, manifest) rather than only one computed here. */
  verified: boolean;
  fileCount: number;
  updatedAt: number;
}

function summarize(
  model: {
    id: string;
    label?: string;
    ref: ModelRef;
    dtype: Record<Component, Dtype> | null;
    files: { path: string; size: number | null }[];
    updatedAt: number;
  },
  records: FileRecord[],
): CachedModelSummary {
  const byPath = new Map(records.map((r) => [r.path, r]));
  const needed = model.files.map((f) => byPath.get(f.path));
  const summary: CachedModelSummary = {
    id: model.id,
    ref: model.ref,
    dtype: model.dtype,
    bytes: records.reduce((n, r) => n + r.storedBytes, 0),
    totalBytes: model.files.every((f) => f.size !== null)
      ? model.files.reduce((n, f) => n + (f.size ?? 0), 0)
      : null,
    complete: needed.every((r) => r?.complete === true),
    verified: needed.every((r) => r?.verified === true),
    fileCount: model.files.length,
    updatedAt: model.updatedAt,
  };
  if (model.label !== undefined) summary.label = model.label;
  return summary;
}

/** Summaries of every stored model in `store`, newest first. */
export async function summarizeModels(store: WeightStore): Promise<CachedModelSummary[]> {
  const models = await store.listModels();
  const out: CachedModelSummary[] = [];
  for (const model of models) out.push(summarize(model, await store.listFiles(model.id)));
  return out.sort((a, b) => b.updatedAt - a.updatedAt);
}

/** Every stored model with its bytes and whether it is complete (usable offline). */
export function listCachedModels(options: { store?: WeightStore } = {}): Promise<CachedModelSummary[]> {
  return summarizeModels(options.store ?? getDefaultWeightStore());
}

/**
 * Deletes one stored model (all its files, partial ones included). A download of it, in this tab or another, stops
 * and rejects; nothing it had in flight is written after the delete.
 */
export async function deleteCachedModel(id: string, options: { store?: WeightStore } = {}): Promise<void> {
  const store = options.store ?? getDefaultWeightStore();
  cancelDownloads(store.dbName, id);
  await store.deleteModel(id);
}

/** Gives a stored model the name lists show for it; its files and id stay as they are. */
export async function renameCachedModel(
  id: string,
  label: string,
  options: { store?: WeightStore } = {},
): Promise<void> {
  const store = options.store ?? getDefaultWeightStore();
  const record = await store.getModel(id);
  const gone = (): EngineError =>
    new EngineError('bad-model', 'That model is no longer stored on this device.');
  if (!record) throw gone();
  // Only the label changes, in one transaction with reading the record: a download running meanwhile keeps it
  // (its record writes keep the stored label), and a delete that got there first is never undone.
  await store.relabelModel(id, label.trim() || record.label || id).catch((error: unknown) => {
    throw isModelDeleted(error) ? gone() : error;
  });
}

/** Deletes every stored model, stopping every download as {@link deleteCachedModel} does. */
export async function deleteAllCachedModels(options: { store?: WeightStore } = {}): Promise<void> {
  const store = options.store ?? getDefaultWeightStore();
  cancelDownloads(store.dbName, null);
  await store.deleteAll();
}

export interface VerifyFileResult {
  path: string;
  ok: boolean;
  /** Why a file failed: not stored, only partly stored, or bytes that no longer match their hash. */
  problem?: 'missing' | 'partial' | 'damaged';
}

export interface VerifyReport {
  id: string;
  ok: boolean;
  files: VerifyFileResult[];
}

/**
 * Re-reads and re-hashes every stored file of model `id` against the sha256 (or git sha1) recorded when it was
 * stored. Damaged files are deleted so that the next ensureCached fetches them again; the report says which.
 * Progress events are 'verified' per file (bytes re-hashed). Throws AbortError when `signal` fires.
 */
export async function verifyCachedModel(
  id: string,
  options: {
    store?: WeightStore;
    signal?: AbortSignal;
    onProgress?: (event: LoadProgressEvent) => void;
  } = {},
): Promise<VerifyReport> {
  const store = options.store ?? getDefaultWeightStore();
  const model = await store.getModel(id);
  const records = await store.listFiles(id);
  const byPath = new Map(records.map((r) => [r.path, r]));
  const paths = model ? model.files.map((f) => f.path) : records.map((r) => r.path);
  const progress = new ProgressTracker({ onProgress: options.onProgress });
  for (const path of paths) progress.register(path, byPath.get(path)?.storedBytes ?? 0, 0);
  const files: VerifyFileResult[] = [];
  for (const path of paths) {
    throwIfAborted(options.signal);
    const record = byPath.get(path);
    if (!record) {
      files.push({ path, ok: false, problem: 'missing' });
      continue;
    }
    if (!record.complete) {
      files.push({ path, ok: false, problem: 'partial' });
      continue;
    }
    const hasher = await createFileHasher({
      gitBlobSize: record.gitSha1 && record.size !== null ? record.size : undefined,
    });
    let damaged = hasher === null;
    try {
      for await (const chunk of readStoredChunks(store, id, path, options.signal)) {
        hasher?.update(chunk);
        progress.addReceived(path, chunk.byteLength);
      }
    } catch (error) {
      if (options.signal?.aborted) throw error;
      damaged = true;
    }
    if (!damaged && hasher) {
      const digest = hasher.digest();
      damaged =
        (record.sha256 !== undefined && digest.sha256 !== record.sha256) ||
        (record.gitSha1 !== undefined && digest.gitSha1 !== record.gitSha1);
    }
    if (damaged) {
      await store.deleteFile(id, path);
      files.push({ path, ok: false, problem: 'damaged' });
    } else {
      progress.emit('verified', path);
      files.push({ path, ok: true });
    }
  }
  return { id, ok: files.every((f) => f.ok), files };
}
