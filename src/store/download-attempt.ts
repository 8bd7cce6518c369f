// Owns one HTTP attempt at a file: the Range request, checking the answer, and streaming the body into stored chunks
// with the hash running alongside. It does not retry, restart or verify the whole file: file-download.ts does; the
// pipeline that hashes and stores chunks while the network is read lives in chunk-committer.ts.
import { abortError, throwIfAborted } from '../shared/abort';
import { EngineError } from '../shared/errors';
import { openChunkHasher, type ChunkHasher } from './chunk-hasher';
import { ChunkCommitter } from './chunk-committer';
import type { RemoteFile } from './file-select';
import {
  authHeaders,
  isRetryableStatus,
  requestInit,
  retryAfterMs,
  statusError,
  type FetchLike,
} from './http';
import {
  isModelDeleted,
  isQuotaError,
  StoreConflictError,
  type FileRecord,
  type HashSource,
  type WeightStore,
  type WriteToken,
} from './idb-weight-store';
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
  /** Longest `Retry-After` obeyed; a server asking for more is asked again after this long. */
  maxRetryAfterMs: number;
  /** Bytes waiting to be hashed and stored while the network is read on (memory: this, plus the chunk filling). */
  maxQueuedBytes: number;
  /** Hub access token; sent only to `hubHost`. */
  hubToken?: string | undefined;
  /** Host (host:port) of the hub endpoint: the only one that ever sees the token. */
  hubHost?: string | undefined;
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
  /** Carried by every write: a delete of the model after it was taken makes them fail (ModelDeletedError). */
  token?: WriteToken | undefined;
}

/** Thrown inside one attempt when the stream must be resumed from the last stored chunk. */
export class RetryAttempt extends Error {}
/** Thrown inside one attempt when the stored bytes cannot be continued and the file must start over. */
export class RestartFile extends Error {}
/** A status worth asking again (5xx, 429); `error` is what the caller gets when the retries run out. */
export class RetryableStatus extends Error {
  constructor(
    readonly error: EngineError,
    /** The server's Retry-After, when it sent one it can be read from. */
    readonly retryAfterMs: number | null = null,
  ) {
    super(error.message);
  }
}
/** A refusal (403) from the host a request was redirected to: a signed URL that expired. Resolve it again. */
export class ExpiredRedirect extends Error {
  constructor(readonly error: EngineError) {
    super(error.message);
  }
}

/** What one attempt has stored so far; the caller reads it back when the attempt fails. */
export interface AttemptState {
  record: FileRecord;
  hasher: ChunkHasher;
  /** Bytes received but not yet in a stored chunk (lost if the attempt fails). */
  buffered: number;
}

export function freshRecord(job: DownloadJob, chunkSize: number): FileRecord {
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

export async function hasherFor(job: DownloadJob, record: FileRecord): Promise<ChunkHasher> {
  const gitBlobSize = record.gitSha1 && record.size !== null ? record.size : undefined;
  if (record.storedBytes > 0) {
    const saved = record.sha256State
      ? { sha256State: record.sha256State, ...(record.sha1State ? { sha1State: record.sha1State } : {}) }
      : undefined;
    const resumed = saved ? await openChunkHasher({ gitBlobSize, saved }) : null;
    if (resumed) return resumed;
  }
  const hasher = await openChunkHasher({ gitBlobSize });
  if (!hasher) throw new Error('hash-wasm could not start a hasher');
  // Saved states unusable (another hash-wasm build wrote them): re-hash what is stored; it costs reads, no network.
  for (let i = 0; i < record.chunkCount; i++) {
    if (job.signal?.aborted) hasher.close();
    throwIfAborted(job.signal);
    const chunk = await job.store.readChunk(job.modelId, job.file.path, i);
    if (!chunk) {
      hasher.close();
      throw new RestartFile();
    }
    await hasher.update(chunk);
  }
  return hasher;
}

/**
 * One request: sends Range from the stored length, checks the answer, and streams the body into chunks.
 * Returns 'absent' for an optional file that is not there. Mutates `state` so the caller knows what was stored.
 */
export async function transfer(
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
  const response = await settings.fetch(
    url,
    requestInit(signal, { ...headers, ...authHeaders(url, settings.hubHost, settings.hubToken) }),
  );
  // Single-page-app servers answer unknown paths with their index.html: a web page is never a model file.
  const isPage = response.ok && (response.headers.get('content-type') ?? '').includes('text/html');
  if ((response.status === 404 || isPage) && job.file.optional) {
    await response.body?.cancel();
    return 'absent';
  }
  if (isPage) {
    await response.body?.cancel();
    throw new EngineError(
      'download-failed',
      `The server answered ${job.file.path} with a web page instead of the file. Check the model address.`,
      { details: { url } },
    );
  }
  if (response.status === 416) {
    await response.body?.cancel();
    throw new RestartFile('range not satisfiable');
  }
  if (!response.ok) {
    await response.body?.cancel();
    const error = statusError(response, url, path, { token: settings.hubToken !== undefined });
    if (response.status === 403 && response.redirected) throw new ExpiredRedirect(error);
    if (isRetryableStatus(response.status))
      throw new RetryableStatus(error, retryAfterMs(response.headers.get('retry-after')));
    throw error;
  }
  if (offset > 0 && response.status !== 206) {
    // The server ignored Range (or If-Range said the file changed): this body is the whole file, start over with it.
    progress.discard(path, offset);
    await store.deleteFile(job.modelId, path);
    state.record = freshRecord(job, settings.chunkSize);
    state.hasher.close();
    state.hasher = await hasherFor(job, state.record);
    return transferBody(job, settings, state, response, signal, onBytes);
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
  return transferBody(job, settings, state, response, signal, onBytes);
}

async function transferBody(
  job: DownloadJob,
  settings: DownloadSettings,
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
  const chunkSize = state.record.chunkSize;
  // The network is read on while earlier chunks are hashed and stored (the committer's queue), so bytes the browser
  // has received are taken in at once rather than left in its buffers, where a dropped connection would lose them.
  const committer = new ChunkCommitter(job, state, settings.maxQueuedBytes);
  let index = state.record.chunkCount;
  let buffer = new Uint8Array(chunkSize);
  let fill = 0;
  let hashFrom = 0;
  const partial = state.record.storedBytes - chunkSize * state.record.chunkCount + chunkSize;
  if (state.record.chunkCount > 0 && partial < chunkSize) {
    // The last stored chunk is partly filled (an earlier attempt kept what it had when it stopped): fill it on.
    index = state.record.chunkCount - 1;
    const tail = await store.readChunk(job.modelId, path, index);
    if (tail?.byteLength !== partial) throw new RestartFile('partial chunk missing');
    buffer.set(tail);
    fill = hashFrom = partial;
  }

  const reader = response.body.getReader();
  let failure: { error: unknown } | null = null;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      onBytes();
      progress.addReceived(path, value.byteLength);
      state.buffered += value.byteLength;
      const size = state.record.size;
      // More bytes than the file has: the server sends something else. Start the file over.
      if (size !== null && index * chunkSize + fill + value.byteLength > size)
        throw new RestartFile('too many bytes');
      let at = 0;
      while (at < value.byteLength) {
        const n = Math.min(chunkSize - fill, value.byteLength - at);
        buffer.set(value.subarray(at, at + n), fill);
        fill += n;
        at += n;
        if (fill === chunkSize) {
          await committer.push({ index, bytes: buffer, hashFrom });
          index++;
          buffer = new Uint8Array(chunkSize);
          fill = hashFrom = 0;
        }
      }
    }
    if (signal.aborted) throw abortError(signal.reason);
    if (fill > hashFrom) await committer.push({ index, bytes: buffer.slice(0, fill), hashFrom });
    fill = hashFrom = 0;
    await committer.drain();
  } catch (error) {
    failure = { error };
  } finally {
    reader.releaseLock();
  }
  if (failure) {
    // Keep what arrived: the queued chunks, then the partly filled one (unless the model is being deleted).
    try {
      const deleted = isModelDeleted(failure.error) || isModelDeleted(signal.reason);
      if (fill > hashFrom && !deleted && !committer.failed()) {
        await committer.push({ index, bytes: buffer.slice(0, fill), hashFrom });
      }
      await committer.drain();
    } catch (writeError) {
      // Storage trouble (full, the model deleted, another writer) says more than the network error did.
      if (isQuotaError(writeError) || isModelDeleted(writeError) || writeError instanceof StoreConflictError)
        throw writeError;
    }
    throw failure.error;
  }
  if (state.record.size === null) state.record = { ...state.record, size: state.record.storedBytes };
  if (state.record.storedBytes !== state.record.size) throw new RetryAttempt('body ended early');
  progress.setExpected(path, state.record.size);
  return 'done';
}
