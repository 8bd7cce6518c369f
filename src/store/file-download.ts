// Owns fetching one file into the weight store: resuming a partial copy, retrying after drops and stalls, starting
// over when the server cannot continue, and dropping a file whose hash does not match. It does not choose files,
// check quota or run files in parallel; one request's streaming lives in download-attempt.ts.
import { abortError, throwIfAborted } from '../shared/abort';
import { EngineError } from '../shared/errors';
import {
  ExpiredRedirect,
  RestartFile,
  RetryableStatus,
  RetryAttempt,
  freshRecord,
  hasherFor,
  transfer,
  type AttemptState,
  type DownloadJob,
  type DownloadSettings,
} from './download-attempt';
import type { ChunkHasher } from './chunk-hasher';
import type { RemoteFile } from './file-select';
import { networkError, retryDelayMs, sleep } from './http';
import { isModelDeleted, isQuotaError, StoreConflictError, type FileRecord } from './idb-weight-store';

/** Fresh resolves after a redirect target refused (an expired signed URL) before giving up on a file. */
const MAX_RERESOLVES = 3;

export type { DownloadJob, DownloadSettings } from './download-attempt';
export { parseContentRange } from './download-attempt';

/** True when a stored (partial or complete) copy belongs to the file the listing describes now. */
export function matchesListing(record: FileRecord, file: RemoteFile): boolean {
  if (file.size !== null && record.size !== null && file.size !== record.size) return false;
  if (file.sha256 && record.sha256 && file.sha256 !== record.sha256) return false;
  if (file.gitSha1 && record.gitSha1 && file.gitSha1 !== record.gitSha1) return false;
  return true;
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
  let reresolves = 0;
  let restarts = 0;
  let integrityRetries = 1;
  // Failures are forgiven only when an attempt stores bytes never stored before, so a server that drops every
  // connection at the same place cannot loop forever.
  let bestStored = record.storedBytes;
  const firstStored = record.storedBytes;
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
      // Every byte may already be stored (an earlier run stopped between the last chunk and the final check).
      const allStored =
        current.size !== null && current.storedBytes === current.size && current.storedBytes > 0;
      if (!allStored) {
        armStall();
        const result = await transfer(job, settings, state, attempt.signal, armStall);
        clearTimeout(stall);
        if (result === 'absent') return null;
      }
      const done = await finish(job, state.record, state.hasher);
      state.hasher.close();
      if (done) return done;
      if (integrityRetries-- <= 0) throw integrityError(job);
      record = await restart(state.record);
    } catch (error) {
      state.hasher.close();
      record = state.record;
      progress.discard(path, state.buffered);
      if (isModelDeleted(error)) throw error;
      if (job.signal?.aborted) throw abortError(job.signal.reason);
      if (error instanceof ExpiredRedirect) {
        // job.url() is the hub's resolve URL: asking it again hands out a freshly signed CDN URL.
        if (++reresolves > MAX_RERESOLVES) throw error.error;
        continue;
      }
      if (error instanceof RestartFile) {
        record = await restart(record);
        continue;
      }
      if (isQuotaError(error)) throw quotaError(job, record, error);
      if (error instanceof StoreConflictError) {
        // A delete or another writer changed the file under us: go on from whatever is stored now.
        progress.discard(path, record.storedBytes);
        const now = await store.getFile(modelId, path);
        record = now && matchesListing(now, job.file) ? now : freshRecord(job, settings.chunkSize);
        progress.credit(path, record.storedBytes);
        if (record.complete) return record;
        if (++failures > settings.retries) {
          throw new EngineError(
            'download-failed',
            `${path} kept changing in storage while downloading (is another tab deleting it?). Try again.`,
            { details: { path } },
          );
        }
        continue;
      }
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
          // Connected at some point in this run: bytes arrived, or a transfer stalled after it began.
          stalled || error instanceof RetryAttempt || bestStored > firstStored,
        );
      }
      const retryAfter = error instanceof RetryableStatus ? error.retryAfterMs : null;
      await sleep(
        retryDelayMs(failures - 1, settings.retryBaseMs, retryAfter, settings.maxRetryAfterMs),
        job.signal,
      );
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

/** Checks the digest; on success stores the record as complete and returns it, on mismatch deletes the file. */
async function finish(job: DownloadJob, record: FileRecord, hasher: ChunkHasher): Promise<FileRecord | null> {
  const digest = await hasher.digest();
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
  await job.store.putFile(complete, { expectChunkCount: record.chunkCount, token: job.token });
  job.progress.emit('file-done', job.file.path);
  if (checked) job.progress.emit('verified', job.file.path);
  return complete;
}
