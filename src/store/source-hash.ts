// Owns hashing a conversion's source files off the conversion thread: the converter's SourceHash over the store's
// hash worker (chunk-hasher.ts), so sha256 runs while the tensor it covers is being converted. It does no I/O and
// decides nothing about what a mismatch means (the data pass does).
import type { OpenSourceHash, SourceHash } from '../modelgen/convert/data-pass';
import { openChunkHasher } from './chunk-hasher';

/** A SourceHash in the hash worker (in this thread where no worker can start). Each update sends a copy. */
export const hashInHashWorker: OpenSourceHash = async (saved): Promise<SourceHash> => {
  const hasher = await openChunkHasher(saved === null ? {} : { saved: { sha256State: saved } });
  if (hasher === null) throw new Error('the saved sha256 state of a source file could not be loaded');
  let last: Promise<Uint8Array | null> = Promise.resolve(saved);
  return {
    update: (bytes) => {
      // The converter keeps reading `bytes`: the worker gets its own copy, transferred (not copied again).
      const sent = hasher.update(bytes.slice()).then((r) => r.states.sha256State);
      sent.catch(() => undefined); // awaited through `last`
      last = last.then(() => sent);
    },
    state: async () => {
      const state = await last;
      if (state === null) throw new Error('no bytes were hashed yet');
      return state;
    },
    digest: async () => {
      await last;
      const { sha256 } = await hasher.digest();
      hasher.close();
      return sha256;
    },
  };
};
