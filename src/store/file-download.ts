// Owns fetching one file into the weight store: streaming, chunking, resuming with Range, hashing as bytes arrive,
// and dropping a file whose hash does not match. It does not choose files, check quota or run files in parallel.
import { abortError, throwIfAborted } from '../shared/abort';
import { EngineError } from '../shared/errors';
import { createFileHasher, type FileHasher } from './file-hasher';
import type { RemoteFile } from './file-select';
import {
  backoffMs,
  isRetryableStatus,
  networkError,
  requestInit,
  sleep,
  statusError,
  type FetchLike,
} from './http';
import { isQuotaError, type FileRecord, type HashSource, type WeightStore } from './idb-weight-store';
import type { ProgressTracker } from './progress';

export interface DownloadSettings {
  fetch: FetchLike;
  /** Bytes per stored chunk; at most one chunk per file is fetched again after an interruption. */
  chunkSize: number;
  /** Attempts after a dropped connection, a stall or a 5xx/429, counted since the last stored chunk. */
  retries: number;
  retryBaseMs: number;
  /** No byte for this long → the attempt is dropped and resumed with Range. */
  stallTimeoutMs: number;
}

export interface DownloadJob {
  store: WeightStore;
  modelId: string;
  file: RemoteFile;
  hashSource: HashSource;
  /** Called for every request: resolve URLs afresh (signed CDN URLs expire). */
  url: () => string;
  progress: ProgressTracker;
  signal?: AbortSignal | undefined;
}

/** Thrown inside one attempt when the stream must be resumed from the last stored chunk. */
class RetryAttempt extends Error {}
/** Thrown inside one attempt when the stored bytes cannot be continued and the file must start over. */
class RestartFile extends Error {}
/** A status worth asking again (5xx, 429); `error` is what the caller gets when the retries run out. */
class RetryableStatus extends Error {
  constructor(readonly error: EngineError) {
    super(error.message);
  }
}

/** What one attempt has stored so far; the caller reads it back when the attempt fails. */
interface AttemptState {
  record: FileRecord;
  hasher: FileHasher;
  /** Bytes received but not yet in a stored chunk (lost if the attempt fails). */
  buffered: number;
}

function freshRecord(job: DownloadJob, chunkSize: number): FileRecord {
  const record: FileRecord = {
    modelId: job.modelId,
    path: job.file.path,
    size: job.file.size,
    hashSource: job.hashSource,
    chunkSize,
    chunkCount: 0,
    storedBytes: 0,
    complete: false,
    verified: false,
    updatedAt: Date.now(),
  };
  if (job.file.sha256) record.sha256 = job.file.sha256;
  if (job.file.gitSha1) record.gitSha1 = job.file.gitSha1;
  return record;
}

/** True when a stored (partial or complete) copy belongs to the file the listing describes now. */
export function matchesListing(record: FileRecord, file: RemoteFile): boolean {
  if (file.size !== null && record.size !== null && file.size !== record.size) return false;
  if (file.sha256 && record.sha256 && file.sha256 !== record.sha256) return false;
  if (file.gitSha1 && record.gitSha1 && file.gitSha1 !== record.gitSha1) return false;
  return true;
}

/** `bytes a-b/total` → its numbers (total null for '*'). */
export function parseContentRange(header: string | null): { start: number; total: number | null } | null {
  const match = header ? /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i.exec(header.trim()) : null;
  if (!match) return null;
  return { start: Number(match[1]), total: match[3] === '*' ? null : Number(match[3]) };
}

function validatorOf(response: Response): string | undefined {
  const etag = response.headers.get('etag');
  if (etag && !etag.startsWith('W/')) return etag;
  return response.headers.get('last-modified') ?? undefined;
}

async function hasherFor(job: DownloadJob, record: FileRecord): Promise<FileHasher> {
  const gitBlobSize = record.gitSha1 && record.size !== null ? record.size : undefined;
  if (record.storedBytes > 0) {
    const saved = record.sha256State
      ? { sha256State: record.sha256State, ...(record.sha1State ? { sha1State: record.sha1State } : {}) }
      : undefined;
    const resumed = saved ? await createFileHasher({ gitBlobSize, saved }) : null;
    if (resumed) return resumed;
  }
  const hasher = await createFileHasher({ gitBlobSize });
  if (!hasher) throw new Error('hash-wasm could not start a hasher');
  // Saved states unusable (another hash-wasm build wrote them): re-hash what is stored; it costs reads, no network.
  for (let i = 0; i < record.chunkCount; i++) {
    throwIfAborted(job.signal);
    const chunk = await job.store.readChunk(job.modelId, job.file.path, i);
    if (!chunk) throw new RestartFile();
    hasher.update(chunk);
  }
  return hasher;
}

function quotaError(job: DownloadJob, record: FileRecord, cause: unknown): EngineError {
  return new EngineError(
    'quota-exceeded',
    `The browser ran out of storage while saving ${job.file.path} (${record.storedBytes} bytes of it were saved and are kept). ` +
      'Delete other models to free space, then download again: it resumes where it stopped.',
    { cause, details: { path: job.file.path, storedBytes: record.storedBytes, size: record.size } },
  );
}

/**
 * Downloads `job.file` into the store, resuming a partial copy, and returns its complete record; null when an
 * optional file is absent (404). Throws download-failed (after retries), integrity (hash mismatch twice; the
 * file is deleted), quota-exceeded (storage full; stored chunks kept), or AbortError (stored chunks kept).
 */
export async function downloadFile(job: DownloadJob, settings: DownloadSettings): Promise<FileRecord | null> {
  const { store, modelId, progress } = job;
  const path = job.file.path;
  let record = await store.getFile(modelId, path);
  if (record && !matchesListing(record, job.file)) {
    // The server's file changed since this copy was stored: it can be neither resumed nor used.
    if (progress.has(path)) progress.discard(path, record.storedBytes);
    await store.deleteFile(modelId, path);
    record = undefined;
  }
  if (record?.complete) return record;
  record ??= freshRecord(job, settings.chunkSize);

  if (!progress.has(path)) progress.register(path, record.size, record.storedBytes);
  progress.emit('file-start', path);

  let failures = 0;
  let restarts = 0;
  let integrityRetries = 1;
  // Failures are forgiven only when an attempt stores bytes never stored before, so a server that drops every
  // connection at the same place cannot loop forever.
  let bestStored = record.storedBytes;
  const restart = async (stored: FileRecord): Promise<FileRecord> => {
    if (++restarts > 2) {
      throw new EngineError(
        'download-failed',
        `The server keeps answering inconsistently for ${path}. Try again later.`,
        { details: { path } },
      );
    }
    progress.discard(path, stored.storedBytes);
    await store.deleteFile(modelId, path);
    bestStored = 0;
    return freshRecord(job, settings.chunkSize);
  };

  for (;;) {
    throwIfAborted(job.signal);
    const current: FileRecord = record;
    const hasher = await hasherFor(job, current).catch(async (error: unknown) => {
      if (error instanceof RestartFile) return null;
      throw error;
    });
    if (!hasher) {
      record = await restart(current);
      continue;
    }
    if (current.size !== null && current.storedBytes === current.size && current.storedBytes > 0) {
      // Every byte is stored (an earlier run stopped between the last chunk and the final check).
      const done = await finish(job, current, hasher);
      if (done) return done;
      if (integrityRetries-- <= 0) throw integrityError(job);
      record = await restart(current);
      continue;
    }
    const attempt = new AbortController();
    const onOuterAbort = (): void => attempt.abort(job.signal?.reason);
    job.signal?.addEventListener('abort', onOuterAbort, { once: true });
    let stall: ReturnType<typeof setTimeout> | undefined;
    const armStall = (): void => {
      clearTimeout(stall);
      stall = setTimeout(() => attempt.abort(new RetryAttempt('stalled')), settings.stallTimeoutMs);
    };
    const state: AttemptState = { record: current, hasher, buffered: 0 };
    try {
      armStall();
      const result = await transfer(job, settings, state, attempt.signal, armStall);
      clearTimeout(stall);
      if (result === 'absent') return null;
      const done = await finish(job, state.record, state.hasher);
      if (done) return done;
      if (integrityRetries-- <= 0) throw integrityError(job);
      record = await restart(state.record);
    } catch (error) {
      record = state.record;
      progress.discard(path, state.buffered);
      if (job.signal?.aborted) throw abortError(job.signal.reason);
      if (error instanceof RestartFile) {
        record = await restart(record);
        continue;
      }
      if (isQuotaError(error)) throw quotaError(job, record, error);
      if (error instanceof EngineError) throw error;
      const stalled = attempt.signal.reason instanceof RetryAttempt;
      if (record.storedBytes > bestStored) {
        bestStored = record.storedBytes;
        failures = 0;
      }
      if (++failures > settings.retries) {
        if (error instanceof RetryableStatus) throw error.error;
        throw networkError(
          stalled || error instanceof RetryAttempt ? new Error('the server stopped sending data') : error,
          job.url(),
          path,
        );
      }
      await sleep(backoffMs(failures - 1, settings.retryBaseMs), job.signal);
    } finally {
      clearTimeout(stall);
      job.signal?.removeEventListener('abort', onOuterAbort);
    }
  }
}

function integrityError(job: DownloadJob): EngineError {
  return new EngineError(
    'integrity',
    `${job.file.path} arrived damaged twice (its checksum did not match) and was deleted. The server may hold a broken copy: try again later or pick another model.`,
    { details: { path: job.file.path, expectedSha256: job.file.sha256, expectedGitSha1: job.file.gitSha1 } },
  );
}

/**
 * One request: sends Range from the stored length, checks the answer, and streams the body into chunks.
 * Returns 'absent' for an optional file that is not there. Mutates `state` so the caller knows what was stored.
 */
async function transfer(
  job: DownloadJob,
  settings: DownloadSettings,
  state: AttemptState,
  signal: AbortSignal,
  onBytes: () => void,
): Promise<'done' | 'absent'> {
  const { store, progress } = job;
  const path = job.file.path;
  const offset = state.record.storedBytes;
  const headers: Record<string, string> = {};
  if (offset > 0) {
    headers['range'] = `bytes=${offset}-`;
    if (state.record.validator) headers['if-range'] = state.record.validator;
  }
  const url = job.url();
  const response = await settings.fetch(url, requestInit(signal, headers));
  if (response.status === 404 && job.file.optional) {
    await response.body?.cancel();
    return 'absent';
  }
  if (response.status === 416) {
    await response.body?.cancel();
    throw new RestartFile('range not satisfiable');
  }
  if (!response.ok) {
    await response.body?.cancel();
    const error = statusError(response, url, path);
    throw isRetryableStatus(response.status) ? new RetryableStatus(error) : error;
  }
  if (offset > 0 && response.status !== 206) {
    // The server ignored Range (or If-Range said the file changed): this body is the whole file, start over with it.
    progress.discard(path, offset);
    await store.deleteFile(job.modelId, path);
    state.record = freshRecord(job, settings.chunkSize);
    state.hasher = await hasherFor(job, state.record);
    return transferBody(job, state, response, signal, onBytes);
  }
  if (response.status === 206) {
    const range = parseContentRange(response.headers.get('content-range'));
    if (
      !range ||
      range.start !== offset ||
      (range.total !== null && state.record.size !== null && range.total !== state.record.size)
    ) {
      await response.body?.cancel();
      throw new RestartFile('unexpected Content-Range');
    }
    if (state.record.size === null && range.total !== null)
      state.record = { ...state.record, size: range.total };
  }
  return transferBody(job, state, response, signal, onBytes);
}

async function transferBody(
  job: DownloadJob,
  state: AttemptState,
  response: Response,
  signal: AbortSignal,
  onBytes: () => void,
): Promise<'done'> {
  const { store, progress } = job;
  const path = job.file.path;
  if (state.record.size !== null) progress.setExpected(path, state.record.size);
  else {
    // A size only for progress: with Content-Encoding the length is the compressed one, so it never decides anything.
    const length = Number(response.headers.get('content-length'));
    if (response.status === 200 && Number.isFinite(length) && length > 0) progress.setExpected(path, length);
  }
  if (state.record.storedBytes === 0 && !state.record.validator) {
    const validator = validatorOf(response);
    if (validator) state.record = { ...state.record, validator };
  }
  if (!response.body) throw new RetryAttempt('no body');
  const reader = response.body.getReader();
  const chunkSize = state.record.chunkSize;
  const buffer = new Uint8Array(chunkSize);

  const flush = async (bytes: Uint8Array): Promise<void> => {
    state.hasher.update(bytes);
    const next: FileRecord = {
      ...state.record,
      ...state.hasher.save(),
      chunkCount: state.record.chunkCount + 1,
      storedBytes: state.record.storedBytes + bytes.byteLength,
      updatedAt: Date.now(),
    };
    await store.putChunk(next, state.record.chunkCount, bytes);
    state.record = next;
    state.buffered = 0;
  };

  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      onBytes();
      const size = state.record.size;
      if (size !== null && state.record.storedBytes + state.buffered + value.byteLength > size) {
        // More bytes than the file has: the server sends something else. Count it as a hash failure.
        progress.addReceived(path, value.byteLength);
        state.buffered += value.byteLength;
        throw new RestartFile('too many bytes');
      }
      progress.addReceived(path, value.byteLength);
      let at = 0;
      while (at < value.byteLength) {
        const n = Math.min(chunkSize - state.buffered, value.byteLength - at);
        buffer.set(value.subarray(at, at + n), state.buffered);
        state.buffered += n;
        at += n;
        if (state.buffered === chunkSize) await flush(buffer);
      }
    }
  } finally {
    reader.releaseLock();
  }
  if (signal.aborted) throw abortError(signal.reason);
  if (state.buffered > 0) await flush(buffer.slice(0, state.buffered));
  if (state.record.size === null) state.record = { ...state.record, size: state.record.storedBytes };
  if (state.record.storedBytes !== state.record.size) throw new RetryAttempt('body ended early');
  progress.setExpected(path, state.record.size);
  return 'done';
}

/** Checks the digest; on success stores the record as complete and returns it, on mismatch deletes the file. */
async function finish(job: DownloadJob, record: FileRecord, hasher: FileHasher): Promise<FileRecord | null> {
  const digest = hasher.digest();
  const bad =
    (record.hashSource !== 'computed' && record.sha256 !== undefined && digest.sha256 !== record.sha256) ||
    (record.gitSha1 !== undefined && digest.gitSha1 !== record.gitSha1);
  if (bad) {
    await job.store.deleteFile(job.modelId, job.file.path);
    return null;
  }
  const checked = record.sha256 !== undefined || record.gitSha1 !== undefined;
  const complete: FileRecord = {
    modelId: record.modelId,
    path: record.path,
    size: record.storedBytes,
    sha256: digest.sha256,
    hashSource: checked ? record.hashSource : 'computed',
    chunkSize: record.chunkSize,
    chunkCount: record.chunkCount,
    storedBytes: record.storedBytes,
    complete: true,
    verified: checked,
    updatedAt: Date.now(),
  };
  if (record.gitSha1) complete.gitSha1 = record.gitSha1;
  if (record.validator) complete.validator = record.validator;
  await job.store.putFile(complete);
  job.progress.emit('file-done', job.file.path);
  if (checked) job.progress.emit('verified', job.file.path);
  return complete;
}
