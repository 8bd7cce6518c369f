// Owns the IndexedDB layout of stored weights (model records, file records, byte chunks) through idb-keyval.
// It must not fetch, hash or decide what is valid: callers do that. The UI never imports this module.
import { createStore, promisifyRequest, type UseStore } from 'idb-keyval';
import type { Component, Dtype, ModelRef } from '../shared/protocol';

/** Where a file's expected hash came from. 'computed' = hashed here on first arrival (no source to check against). */
export type HashSource = 'manifest' | 'hub-lfs' | 'hub-git' | 'computed' | 'none';

/** A file of a model as stored: complete, or partial with enough saved state to resume without re-hashing. */
export interface FileRecord {
  modelId: string;
  path: string;
  /** Expected size (null when unknown until the download ends). */
  size: number | null;
  /** sha256 expected (from a listing) or, once complete, the one computed here. */
  sha256?: string;
  /** Git blob sha1 the content must have (hub files without LFS). */
  gitSha1?: string;
  hashSource: HashSource;
  chunkSize: number;
  /** Chunks stored, numbered 0..chunkCount-1; all but the last are exactly chunkSize bytes. */
  chunkCount: number;
  storedBytes: number;
  /** hash-wasm sha256 (and git sha1) states after storedBytes, so a resume does not re-read stored chunks. */
  sha256State?: Uint8Array;
  sha1State?: Uint8Array;
  /** ETag (strong) or Last-Modified of the first response, sent as If-Range when resuming. */
  validator?: string;
  complete: boolean;
  /** True when the content matched a hash from the source (not just one computed here). */
  verified: boolean;
  updatedAt: number;
}

/** What a stored model needs: its files (the list fixed when it was first cached) and where it came from. */
export interface ModelRecord {
  id: string;
  ref: ModelRef;
  dtype: Record<Component, Dtype> | null;
  files: { path: string; size: number | null }[];
  label?: string;
  createdAt: number;
  updatedAt: number;
}

/**
 * How many times a model (and the whole store) had been deleted when a download began. A write that carries a
 * token fails with ModelDeletedError once either count moved on, so a delete always wins over a running download,
 * whichever tab or worker runs it.
 */
export interface WriteToken {
  model: number;
  all: number;
}

export interface WriteOptions {
  /** Refuse (ModelDeletedError) when the model was deleted since this token was taken. */
  token?: WriteToken | undefined;
}

export interface ModelWriteOptions extends WriteOptions {
  /**
   * Keep the label the stored record has (read in the same transaction): a rename made while a download ran is
   * newer than the download's copy of the record.
   */
  keepStoredLabel?: boolean;
}

export interface WeightStore {
  readonly dbName: string;
  getModel(id: string): Promise<ModelRecord | undefined>;
  putModel(record: ModelRecord, options?: ModelWriteOptions): Promise<void>;
  /**
   * Sets a stored model's label in one transaction (read, then write). Rejects with ModelDeletedError, writing
   * nothing, when the model is not stored (deleted meanwhile): a rename never brings a deleted model back.
   */
  relabelModel(id: string, label: string): Promise<void>;
  listModels(): Promise<ModelRecord[]>;
  getFile(modelId: string, path: string): Promise<FileRecord | undefined>;
  listFiles(modelId: string): Promise<FileRecord[]>;
  /**
   * Stores a file record. With `expectChunkCount`, only if the stored record still has that many chunks (else
   * rejects with StoreConflictError and writes nothing), so a file deleted or advanced meanwhile is not overwritten.
   */
  putFile(record: FileRecord, options?: WriteOptions & { expectChunkCount?: number }): Promise<void>;
  /**
   * Writes chunk `index` and the record describing it in one transaction, so neither exists without the other.
   * Rejects with StoreConflictError (writing nothing) unless the stored record has exactly `index` chunks, or,
   * with `expectStoredBytes` (rewriting a partly filled last chunk), exactly that many bytes: another writer (a
   * second tab) or a delete got there first.
   */
  putChunk(
    record: FileRecord,
    index: number,
    bytes: Uint8Array,
    options?: WriteOptions & { expectStoredBytes?: number },
  ): Promise<void>;
  readChunk(modelId: string, path: string, index: number): Promise<Uint8Array | undefined>;
  /** The deletion counts writes of a download of `modelId` must carry (see WriteToken). */
  writeToken(modelId: string): Promise<WriteToken>;
  /** Removes a file's chunks and its record. */
  deleteFile(modelId: string, path: string): Promise<void>;
  /** Removes everything stored under a model id; downloads of it holding an older token can write nothing more. */
  deleteModel(modelId: string): Promise<void>;
  deleteAll(): Promise<void>;
}

/** Key layout (exported for tests that tamper with stored bytes on purpose). */
export const modelKey = (id: string): IDBValidKey => ['m', id];
export const fileKey = (modelId: string, path: string): IDBValidKey => ['f', modelId, path];
export const chunkKey = (modelId: string, path: string, index: number): IDBValidKey => [
  'c',
  modelId,
  path,
  index,
];
/** Deletion counters (see WriteToken): per model, and one for "delete everything". */
const deletionsKey = (modelId: string): IDBValidKey => ['d', modelId];
const ALL_DELETIONS_KEY: IDBValidKey = ['d*'];

/** Object-store name inside the database (one store: chunks and records share transactions). */
export const OBJECT_STORE = 'kv';
export const DEFAULT_DB_NAME = 'llava-weights';

function keyRange(): typeof IDBKeyRange {
  return (globalThis as unknown as { IDBKeyRange: typeof IDBKeyRange }).IDBKeyRange;
}

/** Every key whose array starts with `prefix` (arrays sort after strings and numbers, so `[...prefix, []]` is an upper bound). */
function prefixRange(prefix: IDBValidKey[]): IDBKeyRange {
  return keyRange().bound(prefix, [...prefix, []]);
}

function tx<T>(useStore: UseStore, mode: IDBTransactionMode, body: (store: IDBObjectStore) => T): Promise<T> {
  return useStore(mode, async (store) => {
    const result = body(store);
    await promisifyRequest(store.transaction);
    return result;
  });
}

/** Another writer or a delete changed a file between reading its record and writing the next chunk. */
export class StoreConflictError extends Error {
  constructor(path: string) {
    super(`${path} changed in storage while being written`);
    this.name = 'StoreConflictError';
  }
}

/** A delete of the model (or of everything) happened after the writer took its WriteToken. */
export class ModelDeletedError extends Error {
  constructor(readonly modelId: string) {
    super(`${modelId} was deleted while being written`);
    this.name = 'ModelDeletedError';
  }
}

/** True for {@link ModelDeletedError} (by name: it may come back through a structured clone). */
export function isModelDeleted(error: unknown): boolean {
  return (
    typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'ModelDeletedError'
  );
}

interface Precondition {
  key: IDBValidKey;
  holds: (value: unknown) => boolean;
  error: () => Error;
}

function tokenChecks(modelId: string, token: WriteToken | undefined): Precondition[] {
  if (!token) return [];
  const error = (): Error => new ModelDeletedError(modelId);
  return [
    { key: deletionsKey(modelId), holds: (v) => ((v as number | undefined) ?? 0) === token.model, error },
    { key: ALL_DELETIONS_KEY, holds: (v) => ((v as number | undefined) ?? 0) === token.all, error },
  ];
}

/** In one transaction: reads every precondition's key, and runs `write` only when all of them hold. */
function guardedWrite(
  useStore: UseStore,
  checks: readonly Precondition[],
  write: (store: IDBObjectStore, values: readonly unknown[]) => void,
): Promise<void> {
  return useStore(
    'readwrite',
    (s) =>
      new Promise<void>((resolve, reject) => {
        let failure: unknown = null;
        let pending = checks.length;
        const values: unknown[] = [];
        const decide = (): void => {
          try {
            const broken = checks.find((c, i) => !c.holds(values[i]));
            if (broken) throw broken.error();
            write(s, values);
          } catch (error) {
            // A put can throw at once (e.g. QuotaExceededError, DataCloneError): keep that error, not the abort's.
            failure = error;
            s.transaction.abort();
          }
        };
        checks.forEach((check, i) => {
          const request = s.get(check.key);
          request.onsuccess = () => {
            values[i] = request.result;
            if (--pending === 0) decide();
          };
        });
        if (checks.length === 0) decide();
        s.transaction.oncomplete = () => resolve();
        s.transaction.onabort = () => reject(failure ?? s.transaction.error ?? new Error('write aborted'));
      }),
  );
}

function fileCheck(record: FileRecord, holds: (stored: FileRecord | undefined) => boolean): Precondition {
  return {
    key: fileKey(record.modelId, record.path),
    holds: (v) => holds(v as FileRecord | undefined),
    error: () => new StoreConflictError(record.path),
  };
}

/**
 * Opens (creating when needed) the weight store in IndexedDB database `dbName`.
 * `useStore` replaces idb-keyval's store opener (tests use it to simulate a browser running out of quota).
 */
export function openWeightStore(options: { dbName?: string; useStore?: UseStore } = {}): WeightStore {
  const dbName = options.dbName ?? DEFAULT_DB_NAME;
  const useStore = options.useStore ?? createStore(dbName, OBJECT_STORE);

  const getAllInRange = <T>(range: IDBKeyRange): Promise<T[]> =>
    useStore('readonly', (store) => promisifyRequest(store.getAll(range) as IDBRequest<T[]>));

  return {
    dbName,
    getModel: (id) =>
      useStore('readonly', (s) =>
        promisifyRequest(s.get(modelKey(id)) as IDBRequest<ModelRecord | undefined>),
      ),
    putModel: (record, options) => {
      const checks = tokenChecks(record.id, options?.token);
      // Not a condition: the stored record is only read in the same transaction, for its label.
      if (options?.keepStoredLabel)
        checks.push({ key: modelKey(record.id), holds: () => true, error: () => new Error('unreachable') });
      return guardedWrite(useStore, checks, (s, values) => {
        const stored = options?.keepStoredLabel ? (values.at(-1) as ModelRecord | undefined) : undefined;
        const label = stored?.label ?? record.label;
        s.put(label === undefined ? record : { ...record, label }, modelKey(record.id));
      });
    },
    relabelModel: (id, label) =>
      guardedWrite(
        useStore,
        [{ key: modelKey(id), holds: (v) => v !== undefined, error: () => new ModelDeletedError(id) }],
        (s, [stored]) =>
          void s.put({ ...(stored as ModelRecord), label, updatedAt: Date.now() }, modelKey(id)),
      ),
    listModels: () => getAllInRange<ModelRecord>(prefixRange(['m'])),
    getFile: (modelId, path) =>
      useStore('readonly', (s) =>
        promisifyRequest(s.get(fileKey(modelId, path)) as IDBRequest<FileRecord | undefined>),
      ),
    listFiles: (modelId) => getAllInRange<FileRecord>(prefixRange(['f', modelId])),
    putFile: (record, options) => {
      const expect = options?.expectChunkCount;
      const checks = tokenChecks(record.modelId, options?.token);
      if (expect !== undefined) checks.push(fileCheck(record, (f) => (f?.chunkCount ?? 0) === expect));
      return guardedWrite(useStore, checks, (s) => void s.put(record, fileKey(record.modelId, record.path)));
    },
    putChunk: (record, index, bytes, options) => {
      // A view into a larger buffer would be cloned with its whole buffer: store exact-size copies only.
      const exact =
        bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
      const from = options?.expectStoredBytes;
      const checks = [
        ...tokenChecks(record.modelId, options?.token),
        fileCheck(record, (f) =>
          from === undefined ? (f?.chunkCount ?? 0) === index : (f?.storedBytes ?? 0) === from,
        ),
      ];
      return guardedWrite(useStore, checks, (s) => {
        s.put(exact, chunkKey(record.modelId, record.path, index));
        s.put(record, fileKey(record.modelId, record.path));
      });
    },
    readChunk: (modelId, path, index) =>
      useStore('readonly', (s) =>
        promisifyRequest(s.get(chunkKey(modelId, path, index)) as IDBRequest<Uint8Array | undefined>),
      ),
    deleteFile: (modelId, path) =>
      tx(useStore, 'readwrite', (s) => {
        s.delete(prefixRange(['c', modelId, path]));
        s.delete(fileKey(modelId, path));
      }),
    writeToken: (modelId) =>
      useStore('readonly', async (s) => {
        const [model, all] = await Promise.all([
          promisifyRequest(s.get(deletionsKey(modelId)) as IDBRequest<number | undefined>),
          promisifyRequest(s.get(ALL_DELETIONS_KEY) as IDBRequest<number | undefined>),
        ]);
        return { model: model ?? 0, all: all ?? 0 };
      }),
    deleteModel: (modelId) =>
      useStore('readwrite', async (s) => {
        const count = await promisifyRequest(s.get(deletionsKey(modelId)) as IDBRequest<number | undefined>);
        s.delete(prefixRange(['c', modelId]));
        s.delete(prefixRange(['f', modelId]));
        s.delete(modelKey(modelId));
        s.put((count ?? 0) + 1, deletionsKey(modelId));
        await promisifyRequest(s.transaction);
      }),
    deleteAll: () =>
      useStore('readwrite', async (s) => {
        const count = await promisifyRequest(s.get(ALL_DELETIONS_KEY) as IDBRequest<number | undefined>);
        s.clear();
        s.put((count ?? 0) + 1, ALL_DELETIONS_KEY);
        await promisifyRequest(s.transaction);
      }),
  };
}

let defaultStore: WeightStore | undefined;

/** The app's weight store (database 'llava-weights'), opened on first use. */
export function getDefaultWeightStore(): WeightStore {
  defaultStore ??= openWeightStore();
  return defaultStore;
}

/** True for the error a browser raises when IndexedDB runs out of quota. */
export function isQuotaError(error: unknown): boolean {
  return (
    typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'QuotaExceededError'
  );
}
