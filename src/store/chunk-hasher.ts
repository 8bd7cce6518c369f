// Owns hashing a download chunk by chunk without blocking the thread that reads the network: in a worker where the
// runtime has them (browsers), in this thread otherwise (Node tests). The hash itself lives in file-hasher.ts.
import { createFileHasher, type FileHasher, type HashStates } from './file-hasher';

/** A file's hash as chunks arrive; each update answers with the states to store beside that chunk. */
export interface ChunkHasher {
  /**
   * Hashes `bytes` from `from` on. The bytes may travel to another thread and back: use the returned view
   * afterwards, never the one passed in.
   */
  update(bytes: Uint8Array, from?: number): Promise<{ states: HashStates; bytes: Uint8Array }>;
  digest(): Promise<{ sha256: string; gitSha1?: string }>;
  /** Frees the worker's side; the hasher is unusable afterwards. */
  close(): void;
}

export interface ChunkHasherOptions {
  gitBlobSize?: number | undefined;
  saved?: Partial<HashStates> | undefined;
}

export type HashRequest =
  | { op: 'open'; id: number; session: number; gitBlobSize?: number | undefined; saved?: Partial<HashStates> }
  | { op: 'update'; id: number; session: number; buffer: ArrayBuffer; offset: number; length: number }
  | { op: 'digest'; id: number; session: number }
  | { op: 'close'; id: number; session: number };

export type HashReply =
  | {
      id: number;
      ok: true;
      states?: HashStates;
      buffer?: ArrayBuffer;
      digest?: { sha256: string; gitSha1?: string };
    }
  | { id: number; ok: false; error: string; buffer?: ArrayBuffer };

function inThread(hasher: FileHasher): ChunkHasher {
  return {
    update: (bytes, from = 0) => {
      hasher.update(from === 0 ? bytes : bytes.subarray(from));
      return Promise.resolve({ states: hasher.save(), bytes });
    },
    digest: () => Promise.resolve(hasher.digest()),
    close: () => undefined,
  };
}

interface WorkerLike {
  postMessage(message: HashRequest, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<HashReply>) => void): void;
  addEventListener(type: 'error', listener: (event: Event) => void): void;
}

let shared: { worker: WorkerLike; waiting: Map<number, (reply: HashReply) => void> } | null | undefined;
let nextId = 1;

/** The one hash worker of this thread, started on first use; null where workers cannot be started. */
function hashWorker(): typeof shared {
  if (shared !== undefined) return shared;
  if (typeof Worker !== 'function') return (shared = null);
  try {
    // Written out literally: this is the form the bundler recognises and bundles as a worker of its own.
    const worker: WorkerLike = new Worker(new URL('./hash.worker.ts', import.meta.url), {
      type: 'module',
      name: 'llava-hash',
    });
    const waiting = new Map<number, (reply: HashReply) => void>();
    worker.addEventListener('message', (event) => {
      const done = waiting.get(event.data.id);
      waiting.delete(event.data.id);
      done?.(event.data);
    });
    worker.addEventListener('error', () => {
      // A worker that cannot run (blocked script, no wasm): every open falls back to this thread from now on.
      for (const done of waiting.values()) done({ id: 0, ok: false, error: 'the hash worker failed' });
      waiting.clear();
      shared = null;
    });
    shared = { worker, waiting };
  } catch {
    shared = null;
  }
  return shared;
}

/** Where downloads are hashed in this thread: 'worker', 'here' (no worker could start), or null before the first. */
export function hashingThread(): 'worker' | 'here' | null {
  return shared === undefined ? null : shared === null ? 'here' : 'worker';
}

function ask(
  target: NonNullable<typeof shared>,
  request: HashRequest,
  transfer: Transferable[] = [],
): Promise<HashReply> {
  return new Promise((resolve) => {
    target.waiting.set(request.id, resolve);
    target.worker.postMessage(request, transfer);
  });
}

/**
 * A hasher for one file (see createFileHasher for `gitBlobSize` and `saved`). Null when saved states cannot be
 * loaded, so the caller re-hashes what is stored.
 */
export async function openChunkHasher(options: ChunkHasherOptions = {}): Promise<ChunkHasher | null> {
  const target = hashWorker();
  if (target) {
    const session = nextId++;
    const opened = await ask(target, {
      op: 'open',
      id: nextId++,
      session,
      gitBlobSize: options.gitBlobSize,
      ...(options.saved ? { saved: options.saved } : {}),
    });
    if (opened.ok) return workerHasher(target, session);
    if (opened.id !== 0) return null; // the states did not load; a worker failure (id 0) falls through
  }
  const local = await createFileHasher(options);
  return local ? inThread(local) : null;
}

function workerHasher(target: NonNullable<typeof shared>, session: number): ChunkHasher {
  return {
    update: async (bytes, from = 0) => {
      // Transfer, not copy: the worker hands the same buffer back. A view into a larger buffer is copied first.
      const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
      const own = whole ? bytes : bytes.slice();
      const buffer = own.buffer as ArrayBuffer;
      const reply = await ask(
        target,
        { op: 'update', id: nextId++, session, buffer, offset: from, length: own.byteLength - from },
        [buffer],
      );
      if (!reply.ok || !reply.states || !reply.buffer)
        throw new Error(`hashing failed: ${reply.ok ? 'no state' : reply.error}`);
      return { states: reply.states, bytes: new Uint8Array(reply.buffer) };
    },
    digest: async () => {
      const reply = await ask(target, { op: 'digest', id: nextId++, session });
      if (!reply.ok || !reply.digest)
        throw new Error(`hashing failed: ${reply.ok ? 'no digest' : reply.error}`);
      return reply.digest;
    },
    close: () => target.worker.postMessage({ op: 'close', id: nextId++, session }),
  };
}
