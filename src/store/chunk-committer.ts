// Owns the second half of a download attempt: hashing and storing the chunks the network reader hands over, in
// order, while the reader goes on reading. It bounds how many chunks may wait (memory) and never reads the network.
import type { AttemptState, DownloadJob } from './download-attempt';
import type { FileRecord } from './idb-weight-store';

/** A chunk to store: `bytes` from offset `index × chunkSize`; bytes before `hashFrom` were hashed already. */
export interface PendingChunk {
  index: number;
  bytes: Uint8Array;
  hashFrom: number;
}

export class ChunkCommitter {
  /** The record including every chunk handed over (state.record only counts stored ones). */
  private issued: FileRecord;
  /** Puts are issued in chunk order (IndexedDB runs them in that order) without waiting for the one before. */
  private issueTail: Promise<unknown> = Promise.resolve();
  /** Completions, in chunk order: what updates `state` and surfaces the first failure. */
  private doneTail: Promise<void> = Promise.resolve();
  private waiting: Promise<void>[] = [];
  private queuedBytes = 0;
  private error: { error: unknown } | null = null;

  constructor(
    private readonly job: DownloadJob,
    private readonly state: AttemptState,
    private readonly maxQueuedBytes: number,
  ) {
    this.issued = state.record;
  }

  /** Queues a chunk; resolves once there is room for the next one. Throws an earlier chunk's failure. */
  async push(chunk: PendingChunk): Promise<void> {
    this.rethrow();
    const bytes = chunk.bytes.byteLength;
    this.queuedBytes += bytes;
    const done = this.commit(chunk)
      .catch((error: unknown) => void (this.error ??= { error }))
      .finally(() => void (this.queuedBytes -= bytes));
    this.doneTail = done;
    this.waiting.push(done);
    // Wait for the oldest chunks while too much waits; one chunk may always wait, so a small queue still moves.
    while (this.queuedBytes > Math.max(this.maxQueuedBytes, bytes)) await this.waiting.shift();
    this.rethrow();
  }

  /** Waits for every queued chunk; throws the first failure. */
  async drain(): Promise<void> {
    await this.doneTail;
    this.waiting = [];
    this.rethrow();
  }

  /** True once a chunk failed to hash or store (nothing queued after it is written). */
  failed(): boolean {
    return this.error !== null;
  }

  private rethrow(): void {
    if (this.error) throw this.error.error;
  }

  /**
   * Three overlapping stages: hashing starts at once (the hash worker takes chunks in order), the put is issued as
   * soon as the chunk is hashed and the put before it issued, and the completion waits for the one before it. A
   * put that follows a failed one cannot land: each checks in its own transaction that the stored record ends
   * where it begins (putChunk's precondition).
   */
  private commit(chunk: PendingChunk): Promise<void> {
    const from = this.issued.storedBytes;
    const planned: FileRecord = {
      ...this.issued,
      chunkCount: chunk.index + 1,
      storedBytes: chunk.index * this.issued.chunkSize + chunk.bytes.byteLength,
    };
    // After this the chunk's buffer may belong to the hash worker (transferred): only `planned` knows its length.
    const hashed = this.state.hasher.update(chunk.bytes, chunk.hashFrom);
    hashed.catch(() => undefined); // surfaced by the issue step below, in order
    this.issued = planned;
    const issued = this.issueTail.then(async () => {
      const { states, bytes } = await hashed;
      this.rethrow();
      const record: FileRecord = { ...planned, ...states, updatedAt: Date.now() };
      // Wrapped so that awaiting this issue step does not wait for the put itself.
      const put = this.job.store.putChunk(record, chunk.index, bytes, {
        token: this.job.token,
        expectStoredBytes: from,
      });
      put.catch(() => undefined);
      return { record, put };
    });
    this.issueTail = issued.catch(() => undefined);
    const previous = this.doneTail;
    return (async () => {
      // The chunk before first: its failure, not this one's consequence of it, is the one reported.
      await previous;
      this.rethrow();
      const { record, put } = await issued;
      await put;
      this.state.record = record;
      this.state.buffered -= record.storedBytes - from;
    })();
  }
}
