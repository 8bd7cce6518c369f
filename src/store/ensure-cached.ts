// Owns getting a whole model into the weight store: listing, dtype choice, quota, parallel resumable downloads and
// the model record. It never builds ONNX sessions; a model already stored completely needs no network at all.
import { abortError, isAbortError, throwIfAborted } from '../shared/abort';
import { EngineError } from '../shared/errors';
import type {
  BeforeWeights,
  Component,
  Dtype,
  DtypeChoice,
  LoadProgressEvent,
  ModelRef,
} from '../shared/protocol';
import { summarizeModels } from './cache-admin';
import { downloadFile, type DownloadSettings } from './file-download';
import { COMPONENTS, DTYPES, isExternalDataOf, onnxPath } from '../shared/model-layout';
import {
  choicesWithoutConfig,
  guessFiles,
  isSupportFile,
  readTransformersJsConfig,
  resolveDtypes,
  selectFiles,
  type RemoteFile,
} from './file-select';
import { trackDownload } from './download-registry';
import { fetchBytes, MAX_RETRY_AFTER_MS, type FetchLike } from './http';
import { readHubToken } from './hub-token';
import {
  getDefaultWeightStore,
  isModelDeleted,
  type FileRecord,
  type HashSource,
  type ModelRecord,
  type WeightStore,
  type WriteToken,
} from './idb-weight-store';
import { listHubFiles, listManifest } from './listing';
import { baseUrlOf, fileUrl, hubEndpoint, modelIdOf } from './model-ref';
import { withModelLock } from './model-lock';
import { ProgressTracker } from './progress';
import { checkQuota, defaultStorage, quotaAllows, requestPersistence, type StorageLike } from './quota';
import { openStoreSource, readStoredFile, type StoreSource } from './store-source';

export const DEFAULT_CHUNK_SIZE = 16 * 1024 * 1024;
/** Peak memory of a download's pipeline, above the chunk being filled: what may wait for hashing and storing. */
export const DEFAULT_MAX_QUEUED_BYTES = 64 * 1024 * 1024;

/** Options every store function takes: which weight store (tests and tools pass their own). */
export interface StoreOptions {
  store?: WeightStore;
}

export interface EnsureCachedOptions extends StoreOptions {
  /** Precision per component; default: what is stored, else config.json's transformers.js_config, else a small one. */
  dtype?: DtypeChoice;
  signal?: AbortSignal;
  onProgress?: (event: LoadProgressEvent) => void;
  /** A name for lists (e.g. the catalog label). */
  label?: string;
  fetch?: FetchLike;
  /** Bytes per stored chunk (default 16 MiB); tests use small ones. */
  chunkSize?: number;
  /** Files downloaded at once (default 2). */
  concurrency?: number;
  /** Retries per file after a drop, stall, 5xx or 429, counted since the last new stored chunk (default 4). */
  retries?: number;
  retryBaseMs?: number;
  stallTimeoutMs?: number;
  /** Longest Retry-After obeyed (default 60 s). */
  maxRetryAfterMs?: number;
  /**
   * Bytes that may wait to be hashed and stored while the network is read on (default 64 MiB, at least one chunk).
   * The reader only stops when this much is waiting; bytes the browser holds unread are lost if the connection drops.
   */
  maxQueuedBytes?: number;
  /**
   * Hub access token for gated and private repositories, sent only to the hub endpoint's host. Default: the one
   * saved in Settings (hub-token.ts); null: none.
   */
  hubToken?: string | null;
  /** `navigator.storage` by default; null skips the quota check. */
  storage?: StorageLike | null;
  /**
   * Run on a download once the small (support) files are stored, before any weight byte is fetched; what it throws
   * stops the download (the engine passes its preflight, src/engine/preflight.ts). Not run for a model already stored.
   */
  beforeWeights?: BeforeWeights;
  progressIntervalMs?: number;
}

/** A model whose files are all in the store, ready for `openStoreSource`. */
export interface CachedModel {
  id: string;
  ref: ModelRef;
  dtype: Record<Component, Dtype> | null;
  files: { path: string; size: number }[];
  bytes: number;
}

function sameDtype(a: Record<Component, Dtype> | null, b: Record<Component, Dtype> | null): boolean {
  return a !== null && b !== null && COMPONENTS.every((c) => a[c] === b[c]);
}

function fullyChosen(choice: DtypeChoice | undefined): boolean {
  if (choice === undefined) return false;
  return typeof choice === 'string' || COMPONENTS.every((c) => choice[c] !== undefined);
}

function hashSourceOf(ref: ModelRef, file: RemoteFile): HashSource {
  if (ref.kind === 'hub') return file.sha256 ? 'hub-lfs' : file.gitSha1 ? 'hub-git' : 'none';
  return file.sha256 ? 'manifest' : 'none';
}

/** The model's record if every file it lists is stored complete; used to answer without the network. */
async function completeCopy(store: WeightStore, record: ModelRecord): Promise<CachedModel | null> {
  const stored = new Map((await store.listFiles(record.id)).map((f) => [f.path, f]));
  const files: { path: string; size: number }[] = [];
  for (const { path } of record.files) {
    const f = stored.get(path);
    if (!f?.complete || f.size === null) return null;
    files.push({ path, size: f.size });
  }
  return {
    id: record.id,
    ref: record.ref,
    dtype: record.dtype,
    files,
    bytes: files.reduce((n, f) => n + f.size, 0),
  };
}

/** Bytes the smallest possible choice of graphs needs: enough to refuse a download that cannot fit whatever happens. */
/** Bytes of the support files plus, per component, the smallest (or largest) dtype the listing has. */
function choiceBytesBound(listing: readonly RemoteFile[], pick: (...sizes: number[]) => number): number {
  let bytes = listing.filter((f) => isSupportFile(f.path)).reduce((n, f) => n + (f.size ?? 0), 0);
  for (const component of COMPONENTS) {
    const sizes = DTYPES.map((d) => onnxPath(component, d))
      .filter((graph) => listing.some((f) => f.path === graph))
      .map((graph) =>
        listing
          .filter((f) => f.path === graph || isExternalDataOf(f.path, graph))
          .reduce((n, f) => n + (f.size ?? 0), 0),
      );
    if (sizes.length > 0) bytes += pick(...sizes);
  }
  return bytes;
}

function bytesStillNeeded(files: readonly RemoteFile[], stored: ReadonlyMap<string, FileRecord>): number {
  return files.reduce((n, f) => {
    const s = stored.get(f.path);
    const have = s && (f.size === null || s.size === null || s.size === f.size) ? s.storedBytes : 0;
    return n + Math.max(0, (f.size ?? 0) - have);
  }, 0);
}

/** Runs `work` over `items`, `limit` at a time; the first failure stops the rest (their stored chunks stay). */
async function runPool<T>(
  items: readonly T[],
  limit: number,
  signal: AbortSignal | undefined,
  work: (item: T, signal: AbortSignal) => Promise<void>,
): Promise<void> {
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  let next = 0;
  let failed = false;
  let firstError: unknown;
  const lane = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const item = items[next++] as T;
      try {
        await work(item, controller.signal);
      } catch (error) {
        if (!failed) {
          failed = true;
          firstError = error;
          controller.abort(error);
        }
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (signal?.aborted) throw abortError(signal.reason);
  if (failed) throw firstError;
}

/** A model about to be stored: recorded before its first byte, so that a stopped download or import resumes. */
export interface PlannedModel {
  id: string;
  ref: ModelRef;
  dtype: Record<Component, Dtype>;
  files: readonly RemoteFile[];
  /** When it was first stored (kept across resumed downloads); now when absent. */
  createdAt?: number | undefined;
  label?: string | undefined;
}

/**
 * Makes room for a model and records it: refuses when `neededBytes` more do not fit, asks for persistent storage,
 * then writes the model's record with the files it will hold, and returns that record.
 * @throws EngineError 'quota-exceeded' (naming `cachedModels` that could be deleted).
 */
export async function reserveModel(
  store: WeightStore,
  storage: StorageLike | null,
  neededBytes: number,
  cachedModels: () => Promise<{ id: string; bytes: number }[]>,
  planned: PlannedModel,
  token?: WriteToken,
  /** Keep a label given to the stored record meanwhile (true unless the caller names a label of its own). */
  keepStoredLabel = false,
): Promise<ModelRecord> {
  await checkQuota(storage, neededBytes, cachedModels);
  await requestPersistence(storage);
  const now = Date.now();
  const record: ModelRecord = {
    id: planned.id,
    ref: planned.ref,
    dtype: planned.dtype,
    files: planned.files.map((f) => ({ path: f.path, size: f.size })),
    createdAt: planned.createdAt ?? now,
    updatedAt: now,
  };
  if (planned.label !== undefined) record.label = planned.label;
  await store.putModel(record, { token, keepStoredLabel });
  return record;
}

/**
 * Makes sure every file of `ref` (in the chosen dtype) is stored and verified, downloading only what is missing and
 * resuming partial files. A model already stored completely returns at once without touching the network.
 * Throws download-failed, integrity, quota-exceeded (before any model byte when the sizes are known), bad-model
 * (no such graph/dtype, not a model folder, an imported model that is incomplete), or AbortError (stored chunks kept).
 */
export async function ensureCached(ref: ModelRef, options: EnsureCachedOptions = {}): Promise<CachedModel> {
  const store = options.store ?? getDefaultWeightStore();
  throwIfAborted(options.signal);
  const id = modelIdOf(ref);
  const ready = await storedCopy(store, id, ref, options.dtype);
  if (ready) return ready;
  if (ref.kind === 'local') {
    throw new EngineError(
      'bad-model',
      `The imported model "${ref.id}" is missing or incomplete on this device. Import its folder again.`,
    );
  }
  // One download per model at a time (tabs, workers): whoever waited finds the model stored when its turn comes.
  try {
    return await withModelLock(
      id,
      options.signal,
      async () => (await storedCopy(store, id, ref, options.dtype)) ?? download(ref, id, store, options),
    );
  } catch (error) {
    if (isModelDeleted(error)) throw deletedError(options.label ?? id);
    if (options.signal?.aborted && isAbortError(error)) throw await cancelledError(store, id);
    throw error;
  }
}

/** What a download stopped by a delete rejects with. */
function deletedError(name: string): EngineError {
  return new EngineError(
    'aborted',
    `${name} was deleted while it was downloading: the download stopped and nothing more was stored.`,
  );
}

/** The AbortError a cancelled download rejects with, saying how much stays stored for the next try. */
async function cancelledError(store: WeightStore, id: string): Promise<DOMException> {
  const kept = await store
    .listFiles(id)
    .then((files) => files.reduce((n, f) => n + f.storedBytes, 0))
    .catch(() => 0);
  const mb = kept / 1e6;
  const shown = mb < 1 ? mb.toFixed(2) : mb < 10 ? mb.toFixed(1) : String(Math.round(mb));
  return abortError(
    kept === 0
      ? 'Download cancelled; nothing was stored yet.'
      : `Download cancelled; ${shown} MB kept for later.`,
  );
}

/** The stored model when it is complete in the dtype asked for (or in any dtype when none is asked for). */
async function storedCopy(
  store: WeightStore,
  id: string,
  ref: ModelRef,
  dtype: DtypeChoice | undefined,
): Promise<CachedModel | null> {
  const existing = await store.getModel(id);
  if (!existing) return null;
  const wanted = dtype === undefined ? existing.dtype : resolveDtypes(dtype, existing.dtype ?? undefined);
  if (ref.kind !== 'local' && existing.dtype !== null && !sameDtype(wanted, existing.dtype)) return null;
  return completeCopy(store, existing);
}

/** Runs a download that a delete of the model (in any tab) stops: its signal fires and its writes are refused. */
async function download(
  ref: ModelRef & { kind: 'hub' | 'url' },
  id: string,
  store: WeightStore,
  options: EnsureCachedOptions,
): Promise<CachedModel> {
  // Taken before anything is read: a delete from now on makes every write of this download fail.
  const token = await store.writeToken(id);
  const controller = new AbortController();
  const outer = options.signal;
  const onAbort = (): void => controller.abort(outer?.reason);
  if (outer?.aborted) onAbort();
  outer?.addEventListener('abort', onAbort, { once: true });
  const untrack = trackDownload(store.dbName, id, controller);
  try {
    return await downloadModel(ref, id, store, { ...options, signal: controller.signal }, token);
  } catch (error) {
    if (isModelDeleted(controller.signal.reason)) throw controller.signal.reason;
    throw error;
  } finally {
    untrack();
    outer?.removeEventListener('abort', onAbort);
  }
}

async function downloadModel(
  ref: ModelRef & { kind: 'hub' | 'url' },
  id: string,
  store: WeightStore,
  options: EnsureCachedOptions,
  token: WriteToken,
): Promise<CachedModel> {
  const signal = options.signal;
  const existing = await store.getModel(id);
  const fetchFn: FetchLike = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const storage = options.storage === undefined ? defaultStorage() : options.storage;
  const hubToken =
    ref.kind !== 'hub'
      ? undefined
      : options.hubToken === undefined
        ? await readHubToken()
        : (options.hubToken ?? undefined);
  const settings: DownloadSettings = {
    fetch: fetchFn,
    chunkSize: options.chunkSize ?? DEFAULT_CHUNK_SIZE,
    retries: options.retries ?? 4,
    retryBaseMs: options.retryBaseMs ?? 500,
    stallTimeoutMs: options.stallTimeoutMs ?? 30_000,
    maxRetryAfterMs: options.maxRetryAfterMs ?? MAX_RETRY_AFTER_MS,
    maxQueuedBytes: options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES,
    hubToken,
    hubHost: ref.kind === 'hub' ? new URL(hubEndpoint(ref)).host : undefined,
  };
  const listOptions = {
    fetch: fetchFn,
    signal,
    retryBaseMs: settings.retryBaseMs,
    maxRetryAfterMs: settings.maxRetryAfterMs,
  };
  const listing =
    ref.kind === 'hub'
      ? await listHubFiles(ref, { ...listOptions, hubToken })
      : await listManifest(baseUrlOf(ref), listOptions);
  const cachedModels = (): Promise<{ id: string; bytes: number }[]> =>
    summarizeModels(store).then((models) =>
      models.filter((m) => m.id !== id).map((m) => ({ id: m.id, bytes: m.bytes })),
    );
  const storedNow = async (): Promise<Map<string, FileRecord>> =>
    new Map((await store.listFiles(id)).map((f) => [f.path, f]));

  const progress = new ProgressTracker({
    onProgress: options.onProgress,
    ...(options.progressIntervalMs === undefined ? {} : { intervalMs: options.progressIntervalMs }),
  });
  const job = (file: RemoteFile, jobSignal: AbortSignal | undefined, fetchSettings = settings) => ({
    job: {
      store,
      modelId: id,
      file,
      hashSource: hashSourceOf(ref, file),
      url: () => fileUrl(ref, file.path),
      progress,
      signal: jobSignal,
      token,
    },
    settings: fetchSettings,
  });
  const fetchInto = (file: RemoteFile, jobSignal: AbortSignal | undefined, fetchSettings = settings) => {
    const run = job(file, jobSignal, fetchSettings);
    return downloadFile(run.job, run.settings);
  };

  // Refuse early, before any model byte moves, when even the smallest choice cannot fit.
  const storedBytes = [...(await storedNow()).values()].reduce((n, f) => n + f.storedBytes, 0);
  if (listing) await checkQuota(storage, choiceBytesBound(listing, Math.min) - storedBytes, cachedModels);

  const choice = options.dtype ?? existing?.dtype ?? undefined;
  const available = listing ? new Set(listing.map((f) => f.path)) : undefined;
  // config.json's default may name any dtype the listing has. When even the largest would not fit, config.json is
  // not read at all (no request before the quota is settled): the first choice without it that fits is taken, and
  // reserveModel below refuses before any request when none does.
  const tight =
    listing !== null &&
    !fullyChosen(choice) &&
    !(await quotaAllows(storage, choiceBytesBound(listing, Math.max) - storedBytes));
  let tightChoice: Record<Component, Dtype> | null = null;
  if (tight && listing && available) {
    const stored = await storedNow();
    const candidates = choicesWithoutConfig(choice, available);
    for (const candidate of candidates) {
      if (await quotaAllows(storage, bytesStillNeeded(selectFiles(listing, candidate), stored))) {
        tightChoice = candidate;
        break;
      }
    }
    tightChoice ??= candidates[0] ?? null;
  }

  // config.json decides the default dtype and, without a listing, which external data files exist. With a listing it
  // is read into memory only, so that the quota for the chosen files is checked before anything is stored.
  let config: unknown = null;
  let configBytes: Uint8Array<ArrayBuffer> | null = null;
  const configEntry = listing?.find((f) => f.path === 'config.json') ?? { path: 'config.json', size: null };
  if (!tightChoice && (!listing || !fullyChosen(choice))) {
    const storedConfig = await store.getFile(id, 'config.json');
    if (listing && !storedConfig?.complete) {
      configBytes = await fetchBytes(fetchFn, fileUrl(ref, 'config.json'), 'config.json', {
        ...listOptions,
        retries: settings.retries,
        hubHost: settings.hubHost,
        hubToken,
      });
    } else {
      await fetchInto(configEntry, signal);
    }
    try {
      const text = configBytes ?? (await readStoredFile(store, id, 'config.json', signal));
      config = JSON.parse(new TextDecoder().decode(text));
    } catch (error) {
      if (error instanceof EngineError) throw error;
      throw new EngineError('bad-model', "The model's config.json is not valid JSON. Pick another model.", {
        cause: error,
      });
    }
  }
  const dtypes = tightChoice ?? resolveDtypes(choice, readTransformersJsConfig(config).dtype, available);
  const files = listing ? selectFiles(listing, dtypes) : [configEntry, ...guessFiles(config, dtypes)];

  const stored = await storedNow();
  const record = await reserveModel(
    store,
    storage,
    bytesStillNeeded(files, stored),
    cachedModels,
    {
      id,
      ref,
      dtype: dtypes,
      files,
      createdAt: existing?.createdAt,
      label: options.label ?? existing?.label,
    },
    token,
    options.label === undefined,
  );

  for (const f of files) {
    const s = stored.get(f.path);
    progress.register(f.path, f.size ?? s?.size ?? null, s?.storedBytes ?? 0);
  }
  if (configBytes) {
    // Stored (and checked against the listing's hash) from the copy already read: no second request.
    const bytes = configBytes;
    await fetchInto(configEntry, signal, {
      ...settings,
      fetch: () => Promise.resolve(new Response(bytes, { status: 200 })),
    });
  }
  const results = new Map<string, FileRecord | null>();
  const fetchAll = (list: readonly RemoteFile[]): Promise<void> =>
    runPool(list, options.concurrency ?? 2, signal, async (file, laneSignal) => {
      results.set(file.path, await fetchInto(file, laneSignal));
    });
  if (options.beforeWeights) {
    // The small files first: the check judges them before a single weight byte moves.
    await fetchAll(files.filter((f) => isSupportFile(f.path)));
    try {
      await options.beforeWeights(
        async (path) => (results.get(path) ? readStoredFile(store, id, path, signal) : null),
        { dtype: dtypes, ...(signal ? { signal } : {}) },
      );
    } catch (error) {
      // A model refused on its first download leaves nothing behind; one stored before keeps what it had.
      if (!existing) await store.deleteModel(id);
      throw error;
    }
    await fetchAll(files.filter((f) => !isSupportFile(f.path)));
  } else {
    await fetchAll(files);
  }

  const present = files.filter((f) => results.get(f.path) !== null);
  const final: ModelRecord = {
    ...record,
    files: present.map((f) => ({ path: f.path, size: results.get(f.path)?.size ?? f.size })),
    updatedAt: Date.now(),
  };
  // A rename while the files came in is newer than this copy of the record: the stored label stays.
  await store.putModel(final, { token, keepStoredLabel: true });
  const sized = final.files.map((f) => ({ path: f.path, size: f.size ?? 0 }));
  return { id, ref, dtype: dtypes, files: sized, bytes: sized.reduce((n, f) => n + f.size, 0) };
}

/**
 * What the engine worker's `openSource` should be: makes sure the model is stored (downloading what is missing, with
 * progress) and returns its ModelSource over the store, so every byte the engine reads comes from IndexedDB.
 * Throws what {@link ensureCached} throws.
 */
export async function openCachedSource(
  model: ModelRef,
  options: EnsureCachedOptions = {},
): Promise<StoreSource> {
  const cached = await ensureCached(model, options);
  return openStoreSource(cached.id, options.store ? { store: options.store } : {});
}
