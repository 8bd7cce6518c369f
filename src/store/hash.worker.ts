// Owns hashing downloads in a thread of its own, so that sha256 never holds up reading the network. One worker serves
// every file being downloaded (sessions by id). It does no I/O: chunks come in transferred and go back the same way.
import { createFileHasher, type FileHasher } from './file-hasher';
import type { HashReply, HashRequest } from './chunk-hasher';

const sessions = new Map<number, Promise<FileHasher | null>>();
/** Messages of a session run in order even though opening one is asynchronous. */
const queues = new Map<number, Promise<unknown>>();

const scope = self as unknown as {
  onmessage: ((event: MessageEvent<HashRequest>) => void) | null;
  postMessage(message: HashReply, transfer?: Transferable[]): void;
};

function handle(request: HashRequest): Promise<void> {
  switch (request.op) {
    case 'open':
      sessions.set(
        request.session,
        createFileHasher({ gitBlobSize: request.gitBlobSize, saved: request.saved }),
      );
      return (sessions.get(request.session) as Promise<FileHasher | null>).then((hasher) =>
        scope.postMessage(
          hasher
            ? { id: request.id, ok: true }
            : { id: request.id, ok: false, error: 'saved states did not load' },
        ),
      );
    case 'update':
      return (sessions.get(request.session) ?? Promise.resolve(null)).then((hasher) => {
        if (!hasher) throw new Error('no hasher for this session');
        hasher.update(new Uint8Array(request.buffer, request.offset, request.length));
        scope.postMessage({ id: request.id, ok: true, states: hasher.save(), buffer: request.buffer }, [
          request.buffer,
        ]);
      });
    case 'digest':
      return (sessions.get(request.session) ?? Promise.resolve(null)).then((hasher) => {
        if (!hasher) throw new Error('no hasher for this session');
        scope.postMessage({ id: request.id, ok: true, digest: hasher.digest() });
      });
    case 'close':
      sessions.delete(request.session);
      queues.delete(request.session);
      return Promise.resolve();
  }
}

scope.onmessage = (event) => {
  const request = event.data;
  const previous = queues.get(request.session) ?? Promise.resolve();
  const next = previous.then(() =>
    handle(request).catch((error: unknown) => {
      const buffer = request.op === 'update' ? request.buffer : undefined;
      const message = error instanceof Error ? error.message : String(error);
      if (buffer) scope.postMessage({ id: request.id, ok: false, error: message, buffer }, [buffer]);
      else scope.postMessage({ id: request.id, ok: false, error: message });
    }),
  );
  if (request.op !== 'close') queues.set(request.session, next);
};
