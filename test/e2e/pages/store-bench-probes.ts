// Measurements for test/bench/store-throughput.ts that are not the weight store: each stage of storing a download
// timed on its own, and an OPFS alternative (hash + write in one worker) timed end to end. Not part of the app.
import { openChunkHasher } from '../../../src/store/chunk-hasher';
import { createFileHasher } from '../../../src/store/file-hasher';
import { openWeightStore, type FileRecord } from '../../../src/store/idb-weight-store';

/** Reads `url` and hands its bytes on in chunks of `chunkSize` (the last one shorter), as the store cuts them. */
async function fetchChunks(
  url: string,
  chunkSize: number,
  onChunk: (chunk: Uint8Array) => Promise<void> | void,
): Promise<void> {
  const response = await fetch(url, { cache: 'no-store' });
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  let buffer = new Uint8Array(chunkSize);
  let fill = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    let from = 0;
    while (from < value.byteLength) {
      const n = Math.min(chunkSize - fill, value.byteLength - from);
      buffer.set(value.subarray(from, from + n), fill);
      fill += n;
      from += n;
      if (fill === chunkSize) {
        await onChunk(buffer);
        buffer = new Uint8Array(chunkSize);
        fill = 0;
      }
    }
  }
  if (fill) await onChunk(buffer.slice(0, fill));
}

/** The OPFS probe worker, answering each request by id. */
function opfsProbe() {
  const worker = new Worker(new URL('./opfs-probe.worker.ts', import.meta.url), { type: 'module' });
  const waiting = new Map<number, (reply: { buffer?: ArrayBuffer; digest?: string }) => void>();
  let next = 1;
  worker.onmessage = (e: MessageEvent<{ id: number; buffer?: ArrayBuffer; digest?: string }>) => {
    waiting.get(e.data.id)?.(e.data);
    waiting.delete(e.data.id);
  };
  const ask = (m: Record<string, unknown>, t: Transferable[] = []) =>
    new Promise<{ buffer?: ArrayBuffer; digest?: string }>((resolve) => {
      const id = next++;
      waiting.set(id, resolve);
      worker.postMessage({ ...m, id }, t);
    });
  return { worker, ask };
}

/**
 * The alternative measured against the weight store: the same download with each chunk hashed and written to an
 * OPFS file in one worker (sync access handle), up to `maxQueued` bytes in flight.
 */
export async function opfsDownload(url: string, chunkSize: number, maxQueued = 64 * 1024 * 1024) {
  const t0 = performance.now();
  const probe = opfsProbe();
  await probe.ask({ op: 'open', name: 'download', hash: true });
  const inFlight: Promise<unknown>[] = [];
  let queued = 0;
  let at = 0;
  await fetchChunks(url, chunkSize, async (bytes) => {
    const n = bytes.byteLength;
    queued += n;
    inFlight.push(
      probe.ask({ op: 'write', buffer: bytes.buffer, at }, [bytes.buffer]).then(() => (queued -= n)),
    );
    at += n;
    while (queued > Math.max(maxQueued, n)) await inFlight.shift();
  });
  await Promise.all(inFlight);
  const { digest } = await probe.ask({ op: 'close', name: 'download' });
  probe.worker.terminate();
  return { bytes: at, digest: digest ?? '', ms: performance.now() - t0 };
}

/** Stores `chunks` through the weight store's putChunk, one transaction at a time or all issued at once. */
async function putAll(chunks: readonly Uint8Array[], chunkSize: number, pipelined: boolean): Promise<number> {
  const store = openWeightStore({ dbName: 'stage-probe' });
  const t0 = performance.now();
  let stored = 0;
  const puts: Promise<void>[] = [];
  for (const [i, c] of chunks.entries()) {
    stored += c.byteLength;
    const record: FileRecord = {
      modelId: 'p',
      path: 'f',
      size: null,
      hashSource: 'none',
      chunkSize,
      chunkCount: i + 1,
      storedBytes: stored,
      complete: false,
      verified: false,
      updatedAt: 0,
    };
    const put = store.putChunk(record, i, c);
    if (pipelined) puts.push(put);
    else await put;
  }
  await Promise.all(puts);
  const ms = performance.now() - t0;
  await store.deleteAll();
  return ms;
}

/** Times each stage of storing a download on its own: network + chunk copies, hashing, IndexedDB, OPFS. */
export async function stageTimes(url: string, chunkSize: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  let t0 = performance.now();
  const chunks: Uint8Array[] = [];
  await fetchChunks(url, chunkSize, (chunk) => void chunks.push(chunk));
  out.fetchCopy = performance.now() - t0;
  const hasher = await openChunkHasher();
  t0 = performance.now();
  for (let i = 0; i < chunks.length; i++) chunks[i] = (await hasher!.update(chunks[i]!)).bytes;
  out.hashWorker = performance.now() - t0;
  const local = await createFileHasher();
  t0 = performance.now();
  for (const c of chunks) {
    local!.update(c);
    local!.save();
  }
  out.hashHere = performance.now() - t0;
  out.idbSerial = await putAll(chunks, chunkSize, false);
  out.idbPipelined = await putAll(chunks, chunkSize, true);
  for (const hash of [false, true]) {
    const probe = opfsProbe();
    await probe.ask({ op: 'open', name: 'probe', hash });
    t0 = performance.now();
    let at = 0;
    for (let i = 0; i < chunks.length; i++) {
      const c = chunks[i]!;
      const reply = await probe.ask({ op: 'write', buffer: c.buffer, at }, [c.buffer]);
      chunks[i] = new Uint8Array(reply.buffer!);
      at += c.byteLength;
    }
    out[hash ? 'opfsHashWrite' : 'opfsWrite'] = performance.now() - t0;
    await probe.ask({ op: 'close', name: 'probe' });
    probe.worker.terminate();
  }
  return out;
}
