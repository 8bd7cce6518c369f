// Owns knowing which downloads run in this JS context and stopping them when their model is deleted, here or in
// another tab or worker (a BroadcastChannel carries the delete). It never touches storage: the write tokens in
// idb-weight-store.ts make the delete win even when this message arrives late or not at all.
import { ModelDeletedError } from './idb-weight-store';

interface Deleted {
  /** The weight store's database: a delete in one never stops a download into another. */
  db: string;
  /** Null: every model. */
  modelId: string | null;
}

/** Running downloads by database, then model id. */
const running = new Map<string, Map<string, Set<AbortController>>>();
const CHANNEL = 'llava-weights-deletes';
let channel: { postMessage(message: unknown): void } | null | undefined;

function stopHere({ db, modelId }: Deleted): void {
  for (const [id, controllers] of running.get(db) ?? []) {
    if (modelId !== null && id !== modelId) continue;
    for (const controller of controllers) controller.abort(new ModelDeletedError(id));
  }
}

/** The channel to other contexts, opened on first use; null where BroadcastChannel is missing. */
function deletesChannel(): typeof channel {
  if (channel !== undefined) return channel;
  const Ctor = (globalThis as { BroadcastChannel?: typeof BroadcastChannel }).BroadcastChannel;
  if (typeof Ctor !== 'function') return (channel = null);
  const opened = new Ctor(CHANNEL);
  opened.onmessage = (event: MessageEvent<Partial<Deleted>>) => {
    const { db, modelId } = event.data ?? {};
    if (typeof db === 'string' && (typeof modelId === 'string' || modelId === null))
      stopHere({ db, modelId });
  };
  // Node keeps a process alive while a channel is open; nothing here should.
  (opened as { unref?: () => void }).unref?.();
  return (channel = opened);
}

/**
 * Registers a download of `modelId` into database `db`: `controller` is aborted (reason: ModelDeletedError) when the model is deleted.
 * Returns the function that unregisters it.
 */
export function trackDownload(db: string, modelId: string, controller: AbortController): () => void {
  deletesChannel();
  let models = running.get(db);
  if (!models) running.set(db, (models = new Map()));
  let set = models.get(modelId);
  if (!set) models.set(modelId, (set = new Set()));
  set.add(controller);
  return () => {
    set.delete(controller);
    if (set.size === 0) models.delete(modelId);
    if (models.size === 0) running.delete(db);
  };
}

/** Stops every download of `modelId` (null: of every model) into database `db`, here and in other contexts. */
export function cancelDownloads(db: string, modelId: string | null): void {
  stopHere({ db, modelId });
  deletesChannel()?.postMessage({ db, modelId } satisfies Deleted);
}
