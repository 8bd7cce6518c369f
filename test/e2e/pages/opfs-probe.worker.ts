// Probe for test/bench/store-throughput.ts: stores transferred chunks in an OPFS file through a sync access handle,
// hashing them first when asked (sha256, state saved per chunk as the weight store does), to measure OPFS against
// IndexedDB in the same run. Not part of the app: the weight store itself lives in IndexedDB.
import { createFileHasher, type FileHasher } from '../../../src/store/file-hasher';

interface ProbeRequest {
  id: number;
  op: 'open' | 'write' | 'close';
  name?: string;
  buffer?: ArrayBuffer;
  at?: number;
  hash?: boolean;
}
interface SyncHandle {
  write(bytes: Uint8Array, options: { at: number }): number;
  flush(): void;
  truncate(size: number): void;
  close(): void;
}
let handle: SyncHandle | null = null;
let hasher: FileHasher | null = null;
const scope = self as unknown as {
  onmessage: (e: MessageEvent<ProbeRequest>) => void;
  postMessage(m: unknown, t?: Transferable[]): void;
};
let chain: Promise<unknown> = Promise.resolve();

async function handle1(m: ProbeRequest): Promise<void> {
  const root = await navigator.storage.getDirectory();
  if (m.op === 'open') {
    const file = await root.getFileHandle(m.name ?? 'probe', { create: true });
    handle = await (
      file as unknown as { createSyncAccessHandle(): Promise<SyncHandle> }
    ).createSyncAccessHandle();
    handle.truncate(0);
    hasher = m.hash ? await createFileHasher() : null;
    scope.postMessage({ id: m.id });
  } else if (m.op === 'write' && m.buffer) {
    const bytes = new Uint8Array(m.buffer);
    hasher?.update(bytes);
    hasher?.save();
    handle?.write(bytes, { at: m.at ?? 0 });
    handle?.flush();
    scope.postMessage({ id: m.id, buffer: m.buffer }, [m.buffer]);
  } else {
    const digest = hasher?.digest().sha256;
    handle?.close();
    handle = null;
    await root.removeEntry(m.name ?? 'probe').catch(() => undefined);
    scope.postMessage({ id: m.id, digest });
  }
}

scope.onmessage = (event) => {
  chain = chain.then(() => handle1(event.data));
};
