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
  private tail: Promise<void> = Promise.resolve();
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
    this.tail = this.tail
      .then(() => this.commit(chunk))
      .catch((error: unknown) => void (this.error ??= { error }))
      .finally(() => void (this.queuedBytes -= bytes));
    this.waiting.push(this.tail);
    // Wait for the oldest chunks while too much waits; one chunk may always wait, so a small queue still moves.
    while (this.queuedBytes > Math.max(this.maxQueuedBytes, bytes)) await this.waiting.shift();
    this.rethrow();
  }

  /** Waits for every queued chunk; throws the first failure. */
  async drain(): Promise<void> {
    await this.tail;
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

  private async commit(chunk: PendingChunk): Promise<void> {
    this.rethrow();
    const { states, bytes } = await this.state.hasher.update(chunk.bytes, chunk.hashFrom);
    const from = this.issued.storedBytes;
    const next: FileRecord = {
      ...this.issued,
      ...states,
      chunkCount: chunk.index + 1,
      storedBytes: chunk.index * this.issued.chunkSize + bytes.byteLength,
      updatedAt: Date.now(),
    };
    this.issued = next;
    await this.job.store.putChunk(next, chunk.index, bytes, {
      token: this.job.token,
      expectStoredBytes: from,
    });
    this.state.record = next;
    this.state.buffered -= next.storedBytes - from;
  }
}
