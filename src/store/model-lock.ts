// Owns making one download (or import) of a model run at a time: across tabs and workers with the Web Locks API,
// within one JS context with a queue where that API is missing (Node). It does no I/O of its own.
import { abortError, throwIfAborted } from '../shared/abort';

interface LockManagerLike {
  request<T>(name: string, options: { signal?: AbortSignal }, callback: () => Promise<T>): Promise<T>;
}

const queues = new Map<string, Promise<unknown>>();

/**
 * Runs `work` holding the lock for model `id`. Waiting for the lock ends with AbortError when `signal` fires.
 * Two tabs asking for the same model thus download it once: the second finds it stored when its turn comes.
 */
export async function withModelLock<T>(
  id: string,
  signal: AbortSignal | undefined,
  work: () => Promise<T>,
): Promise<T> {
  throwIfAborted(signal);
  const name = `llava-weights:${id}`;
  const locks = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks;
  if (locks && typeof locks.request === 'function') {
    try {
      return await locks.request(name, signal ? { signal } : {}, work);
    } catch (error) {
      if (signal?.aborted) throw abortError(signal.reason);
      throw error;
    }
  }
  const previous = queues.get(name) ?? Promise.resolve();
  let release = (): void => undefined;
  const mine = new Promise<void>((resolve) => (release = resolve));
  const tail = previous.then(() => mine);
  queues.set(name, tail);
  try {
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(abortError(signal?.reason));
      signal?.addEventListener('abort', onAbort, { once: true });
      void previous.then(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
    });
    return await work();
  } finally {
    release();
    if (queues.get(name) === tail) queues.delete(name);
  }
}
