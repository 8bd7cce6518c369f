// The download pipeline behind the network reader: chunks are hashed and stored in order, with the hash of the next
// chunk and the IndexedDB put of the one before it overlapping (several puts in flight), and the first failure
// (not its consequences for later chunks) reported. Structural checks with a store whose writes the test releases.
import { describe, expect, it } from 'vitest';
import { ChunkCommitter } from '../../src/store/chunk-committer';
import type { ChunkHasher } from '../../src/store/chunk-hasher';
import type { AttemptState, DownloadJob } from '../../src/store/download-attempt';
import type { FileRecord, WeightStore } from '../../src/store/idb-weight-store';

const CHUNK = 8;

function record(): FileRecord {
  return {
    modelId: 'm',
    path: 'f.onnx',
    size: 3 * CHUNK,
    hashSource: 'none',
    chunkSize: CHUNK,
    chunkCount: 0,
    storedBytes: 0,
    complete: false,
    verified: false,
    updatedAt: 0,
  };
}

/** A hasher that counts bytes, and a store whose putChunk calls wait until the test settles them. */
function pipeline() {
  const hashed: number[] = [];
  const hasher: ChunkHasher = {
    update: (bytes, from = 0) => {
      hashed.push(bytes.byteLength - from);
      const total = hashed.reduce((a, b) => a + b, 0);
      return Promise.resolve({ states: { sha256State: new Uint8Array([total]) }, bytes });
    },
    digest: () => Promise.resolve({ sha256: '' }),
    close: () => undefined,
  };
  const puts: { index: number; record: FileRecord; settle: (error?: unknown) => void }[] = [];
  const store = {
    putChunk: (rec: FileRecord, index: number) =>
      new Promise<void>((resolve, reject) => {
        puts.push({ index, record: rec, settle: (error) => (error ? reject(error) : resolve()) });
      }),
  } as unknown as WeightStore;
  const state: AttemptState = { record: record(), hasher, buffered: 3 * CHUNK };
  const job = { store, token: undefined } as unknown as DownloadJob;
  return { hashed, puts, state, committer: new ChunkCommitter(job, state, 64 * CHUNK) };
}

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

describe('chunk committer', () => {
  it('hashes and issues the puts of later chunks before the first put completes, and records them in order', async () => {
    const { hashed, puts, state, committer } = pipeline();
    for (let index = 0; index < 3; index++)
      await committer.push({ index, bytes: new Uint8Array(CHUNK).fill(index), hashFrom: 0 });
    await tick();
    expect(hashed).toEqual([CHUNK, CHUNK, CHUNK]);
    // All three writes are in flight at once (IndexedDB runs them in this order), none finished yet.
    expect(puts.map((p) => p.index)).toEqual([0, 1, 2]);
    expect(puts.map((p) => p.record.storedBytes)).toEqual([CHUNK, 2 * CHUNK, 3 * CHUNK]);
    expect(puts.map((p) => p.record.sha256State?.[0])).toEqual([CHUNK, 2 * CHUNK, 3 * CHUNK]);
    expect(state.record.chunkCount).toBe(0);
    // Only what a completed write covers counts as stored.
    puts[0]?.settle();
    await tick();
    expect(state.record.chunkCount).toBe(1);
    expect(state.buffered).toBe(2 * CHUNK);
    puts[1]?.settle();
    puts[2]?.settle();
    await committer.drain();
    expect(state.record).toMatchObject({ chunkCount: 3, storedBytes: 3 * CHUNK });
    expect(state.buffered).toBe(0);
  });

  it('reports the first failure, not the refusals it causes later, and counts nothing after it as stored', async () => {
    const { puts, state, committer } = pipeline();
    for (let index = 0; index < 3; index++)
      await committer.push({ index, bytes: new Uint8Array(CHUNK), hashFrom: 0 });
    await tick();
    puts[0]?.settle();
    const quota = Object.assign(new Error('full'), { name: 'QuotaExceededError' });
    // The later writes find the stored record shorter than they expect, as putChunk's precondition does.
    puts[2]?.settle(new Error('f.onnx changed in storage while being written'));
    puts[1]?.settle(quota);
    await expect(committer.drain()).rejects.toBe(quota);
    expect(committer.failed()).toBe(true);
    expect(state.record).toMatchObject({ chunkCount: 1, storedBytes: CHUNK });
  });
});
