// Owns incremental hashing of a file as it streams in (sha256, and git's blob sha1 when that is all the hub gives),
// with savable state so a resumed download never re-reads what it stored. No I/O.
import { createSHA1, createSHA256, type IHasher } from 'hash-wasm';

export interface HashStates {
  sha256State: Uint8Array;
  sha1State?: Uint8Array;
}

export interface FileHasher {
  update(bytes: Uint8Array): void;
  /** The states after every byte given so far (store them with the chunk they cover). */
  save(): HashStates;
  /** Ends hashing. `gitSha1` only when the hasher was made for a git blob. */
  digest(): { sha256: string; gitSha1?: string };
}

/**
 * A hasher for one file. `gitBlobSize` (the file's size) adds git's blob sha1, whose input starts with
 * "blob {size}\0". With `saved`, hashing resumes from those states; when they cannot be loaded (another build of
 * hash-wasm wrote them) this returns null and the caller re-hashes the stored bytes instead.
 */
export async function createFileHasher(
  options: { gitBlobSize?: number | undefined; saved?: Partial<HashStates> | undefined } = {},
): Promise<FileHasher | null> {
  const sha256 = await createSHA256();
  let sha1: IHasher | null = null;
  if (options.gitBlobSize !== undefined) sha1 = await createSHA1();
  const saved = options.saved;
  try {
    if (saved?.sha256State) sha256.load(saved.sha256State);
    else sha256.init();
    if (sha1) {
      if (saved?.sha1State) sha1.load(saved.sha1State);
      else if (saved?.sha256State) return null;
      else sha1.init().update(new TextEncoder().encode(`blob ${options.gitBlobSize}\0`));
    }
  } catch {
    return null;
  }
  return {
    update(bytes) {
      sha256.update(bytes);
      sha1?.update(bytes);
    },
    save() {
      const states: HashStates = { sha256State: sha256.save() };
      if (sha1) states.sha1State = sha1.save();
      return states;
    },
    digest() {
      const out: { sha256: string; gitSha1?: string } = { sha256: sha256.digest('hex') };
      if (sha1) out.gitSha1 = sha1.digest('hex');
      return out;
    },
  };
}
