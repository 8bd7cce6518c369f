// Owns hashing a conversion's source files off the conversion thread: the converter's SourceHash over the store's
// hash worker (chunk-hasher.ts), so sha256 runs while the tensor it covers is being converted. The bytes travel in
// batches of a fixed size, copied into a small pool of buffers that are transferred and come back, so what the
// conversion thread holds for hashing stays a few MiB however large a tensor is. It does no I/O and decides nothing
// about what a mismatch means (the data pass does).
import type { OpenSourceHash, SourceHash } from '../modelgen/convert/data-pass';
import { openChunkHasher } from './chunk-hasher';

/** Bytes per batch sent to the hash worker. */
export const SOURCE_HASH_BATCH_BYTES = 4 << 20;
/** Batches sent and not yet answered before an update asks the data pass to wait. */
const MOST_IN_FLIGHT = 2;

/** A SourceHash in the hash worker (in this thread where no worker can start). */
export const hashInHashWorker: OpenSourceHash = async (saved): Promise<SourceHash> => {
  const hasher = await openChunkHasher(saved === null ? {} : { saved: { sha256State: saved } });
  if (hasher === null) throw new Error('the saved sha256 state of a source file could not be loaded');
  let last: Promise<Uint8Array | null> = Promise.resolve(saved);
  /** Batches on their way, oldest first (the worker answers in order). */
  const inFlight: Array<Promise<unknown>> = [];
  /** Batch buffers back from the worker, ready to fill again. */
  const free: Uint8Array[] = [];
  let batch: Uint8Array | null = null;
  let filled = 0;
  const send = (bytes: Uint8Array): void => {
    const sent = hasher.update(bytes).then((r) => {
      if (r.bytes.byteLength === SOURCE_HASH_BATCH_BYTES) free.push(r.bytes);
      return r.states.sha256State;
    });
    sent.catch(() => undefined); // awaited through `last` or `inFlight`
    last = last.then(() => sent);
    inFlight.push(sent);
  };
  /** Sends what the current batch holds (a partial batch goes as a copy: its buffer stays here). */
  const flush = (): void => {
    if (batch === null || filled === 0) return;
    if (filled === batch.byteLength) {
      send(batch);
      batch = null;
    } else send(batch.slice(0, filled));
    filled = 0;
  };
  return {
    update: async (bytes) => {
      for (let at = 0; at < bytes.byteLength;) {
        batch ??= free.pop() ?? new Uint8Array(SOURCE_HASH_BATCH_BYTES);
        const n = Math.min(bytes.byteLength - at, batch.byteLength - filled);
        batch.set(bytes.subarray(at, at + n), filled);
        filled += n;
        at += n;
        if (filled === batch.byteLength) flush();
      }
      while (inFlight.length > MOST_IN_FLIGHT) await inFlight.shift();
    },
    state: async () => {
      flush();
      inFlight.length = 0;
      const state = await last;
      if (state === null) throw new Error('no bytes were hashed yet');
      return state;
    },
    digest: async () => {
      flush();
      inFlight.length = 0;
      await last;
      const { sha256 } = await hasher.digest();
      hasher.close();
      return sha256;
    },
  };
};
