// Probe for test/bench/store-throughput.ts: writes transferred chunks to an OPFS file with a sync access handle,
// hashing them first when asked, to measure what OPFS would cost next to IndexedDB. Not part of the app.
import { createFileHasher, type FileHasher } from '../../../src/store/file-hasher';

interface Msg {
  op: 'open' | 'write' | 'close';
  name?: string;
  buffer?: ArrayBuffer;
  at?: number;
  hash?: boolean;
}
let handle: FileSystemSyncAccessHandle | null = null;
let hasher: FileHasher | null = null;
const scope = self as unknown as {
  onmessage: (e: MessageEvent<Msg>) => void;
  postMessage(m: unknown, t?: Transferable[]): void;
};
let chain: Promise<unknown> = Promise.resolve();
scope.onmessage = (event) => {
  const m = event.data;
  chain = chain.then(async () => {
    if (m.op === 'open') {
      const root = await navigator.storage.getDirectory();
      const file = await root.getFileHandle(m.name ?? 'probe', { create: true });
      handle = await (
        file as unknown as { createSyncAccessHandle(): Promise<FileSystemSyncAccessHandle> }
      ).createSyncAccessHandle();
      handle.truncate(0);
      hasher = m.hash ? await createFileHasher() : null;
      scope.postMessage({ ok: true });
    } else if (m.op === 'write') {
      const bytes = new Uint8Array(m.buffer!);
      hasher?.update(bytes);
      if (hasher) hasher.save();
      handle!.write(bytes, { at: m.at ?? 0 });
      handle!.flush();
      scope.postMessage({ ok: true, buffer: m.buffer }, [m.buffer!]);
    } else {
      handle?.close();
      handle = null;
      const root = await navigator.storage.getDirectory();
      await root.removeEntry(m.name ?? 'probe').catch(() => undefined);
      scope.postMessage({ ok: true });
    }
  });
};
