// Test page script for test/e2e/store-*.test.ts: drives the engine client against store-engine.worker.ts (models
// through the weight store) and the store's own functions in the page, returning plain results to Playwright.
import { createEngineClient } from '../../../src/client/engine-client';
import { isEngineError } from '../../../src/shared/errors';
import type {
  ChatResult,
  GenerationEvent,
  LoadOptions,
  LoadProgressEvent,
  ModelRef,
} from '../../../src/shared/protocol';
import { hashingThread, openChunkHasher } from '../../../src/store/chunk-hasher';
import { createFileHasher } from '../../../src/store/file-hasher';
import { openWeightStore } from '../../../src/store/idb-weight-store';
import {
  deleteCachedModel,
  ensureCached,
  filesFromFileList,
  importLocalFiles,
  listCachedModels,
  openStoreSource,
  verifyCachedModel,
  type CachedModelSummary,
  type VerifyReport,
} from '../../../src/store';

export type Outcome<T> =
  { ok: true; value: T } | { ok: false; error: { name: string; code: string | null; message: string } };

async function outcome<T>(run: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await run() };
  } catch (error) {
    const name = (error as { name?: unknown })?.name;
    return {
      ok: false,
      error: {
        name: typeof name === 'string' ? name : typeof error,
        code: isEngineError(error) ? error.code : null,
        message: error instanceof Error || error instanceof DOMException ? error.message : String(error),
      },
    };
  }
}

const client = createEngineClient({
  createWorker: () =>
    new Worker(new URL('./store-engine.worker.ts', import.meta.url), {
      type: 'module',
      name: 'llava-store-engine',
    }),
});

/** Load progress of the load in flight, readable while it runs (the test reloads the page in the middle). */
const loadEvents: LoadProgressEvent[] = [];

const harness = {
  load: async (model: ModelRef, options?: LoadOptions) => {
    loadEvents.length = 0;
    const result = await outcome(() =>
      client.load(model, options, { onEvent: (event) => loadEvents.push(event) }),
    );
    return { outcome: result, events: [...loadEvents] };
  },
  loadEvents: () => [...loadEvents],
  chat: async (text: string, maxNewTokens: number) => {
    const events: GenerationEvent[] = [];
    const result = await outcome<ChatResult>(() =>
      client.chat(
        { messages: [{ role: 'user', content: text }], sampling: { maxNewTokens } },
        { onEvent: (e) => events.push(e) },
      ),
    );
    return { outcome: result, tokens: events.filter((e) => e.kind === 'token').length };
  },
  list: (): Promise<CachedModelSummary[]> => listCachedModels(),
  /** Imports the folder chosen in the page's `<input webkitdirectory>` (the test sets it with setInputFiles). */
  importFromInput: () =>
    outcome(async () => {
      const input = document.querySelector<HTMLInputElement>('#folder');
      if (!input?.files) throw new Error('no folder chosen');
      const imported = await importLocalFiles(filesFromFileList(input.files), { chunkSize: 64 * 1024 });
      return { id: imported.id, ref: imported.ref, files: imported.files.length };
    }),
  verify: (id: string): Promise<VerifyReport> => verifyCachedModel(id),
  /** A download in this page (not the worker), reporting how it ended. */
  download: (model: ModelRef, chunkSize: number, label?: string, hubToken?: string) =>
    outcome(async () => {
      const cached = await ensureCached(model, {
        chunkSize,
        retryBaseMs: 20,
        dtype: 'fp32',
        hubToken: hubToken ?? null,
        ...(label ? { label } : {}),
      });
      return cached.bytes;
    }),
  remove: (id: string) => deleteCachedModel(id),
  hashingThread: () => hashingThread(),
  storedBytes: async (id: string) => (await listCachedModels()).find((m) => m.id === id)?.bytes ?? null,
  storedFiles: async (id: string) => {
    const source = openStoreSource(id);
    const out: { path: string; size: number | null }[] = [];
    for (const path of await source.list()) out.push({ path, size: await source.size(path) });
    return out;
  },
};

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
async function opfsDownload(url: string, chunkSize: number, maxQueued = 64 * 1024 * 1024) {
  const t0 = performance.now();
  const probe = opfsProbe();
  await probe.ask({ op: 'open', name: 'download', hash: true });
  const response = await fetch(url, { cache: 'no-store' });
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const inFlight: Promise<unknown>[] = [];
  let queued = 0;
  let buffer = new Uint8Array(chunkSize);
  let fill = 0;
  let at = 0;
  const send = async (bytes: Uint8Array): Promise<void> => {
    const n = bytes.byteLength;
    queued += n;
    inFlight.push(
      probe.ask({ op: 'write', buffer: bytes.buffer, at }, [bytes.buffer]).then(() => (queued -= n)),
    );
    at += n;
    while (queued > Math.max(maxQueued, n)) await inFlight.shift();
  };
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
        await send(buffer);
        buffer = new Uint8Array(chunkSize);
        fill = 0;
      }
    }
  }
  if (fill) await send(buffer.slice(0, fill));
  await Promise.all(inFlight);
  const { digest } = await probe.ask({ op: 'close', name: 'download' });
  probe.worker.terminate();
  return { bytes: at, digest: digest ?? '', ms: performance.now() - t0 };
}

/** Times each stage of storing a download on its own: network + chunk copies, hashing, IndexedDB, OPFS. */
async function stageTimes(url: string, chunkSize: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  let t0 = performance.now();
  const response = await fetch(url, { cache: 'no-store' });
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let buffer = new Uint8Array(chunkSize);
  let fill = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    let at = 0;
    while (at < value.byteLength) {
      const n = Math.min(chunkSize - fill, value.byteLength - at);
      buffer.set(value.subarray(at, at + n), fill);
      fill += n;
      at += n;
      if (fill === chunkSize) {
        chunks.push(buffer);
        buffer = new Uint8Array(chunkSize);
        fill = 0;
      }
    }
  }
  if (fill) chunks.push(buffer.slice(0, fill));
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
  const store = openWeightStore({ dbName: 'stage-probe' });
  t0 = performance.now();
  let stored = 0;
  for (let i = 0; i < chunks.length; i++) {
    const c = chunks[i]!;
    const record = {
      modelId: 'p',
      path: 'f',
      size: null,
      hashSource: 'none' as const,
      chunkSize,
      chunkCount: i + 1,
      storedBytes: stored + c.byteLength,
      complete: false,
      verified: false,
      updatedAt: 0,
    };
    await store.putChunk(record, i, c);
    stored += c.byteLength;
  }
  out.idbSerial = performance.now() - t0;
  await store.deleteAll();
  t0 = performance.now();
  stored = 0;
  const puts: Promise<void>[] = [];
  for (let i = 0; i < chunks.length; i++) {
    const c = chunks[i]!;
    const record = {
      modelId: 'p',
      path: 'f',
      size: null,
      hashSource: 'none' as const,
      chunkSize,
      chunkCount: i + 1,
      storedBytes: stored + c.byteLength,
      complete: false,
      verified: false,
      updatedAt: 0,
    };
    puts.push(store.putChunk(record, i, c));
    stored += c.byteLength;
  }
  await Promise.all(puts);
  out.idbPipelined = performance.now() - t0;
  await store.deleteAll();
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

/** Timings for test/bench/store-throughput.ts (browser mode): real IndexedDB, real fetch. */
const bench = {
  plainFetch: async (url: string) => {
    const t0 = performance.now();
    const response = await fetch(url, { cache: 'no-store' });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let bytes = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
    }
    return { bytes, ms: performance.now() - t0 };
  },
  store: async (model: ModelRef, chunkSize: number, retries: number) => {
    const t0 = performance.now();
    const result = await outcome(() => ensureCached(model, { chunkSize, retries, dtype: 'fp32' }));
    return { ok: result.ok, ms: performance.now() - t0, error: result.ok ? null : result.error };
  },
  read: async (id: string, path: string) => {
    const t0 = performance.now();
    const bytes = await openStoreSource(id).read(path);
    return { bytes: bytes.byteLength, ms: performance.now() - t0 };
  },
  stages: async (url: string, chunkSize: number) => stageTimes(url, chunkSize),
  opfsDownload: (url: string, chunkSize: number) => opfsDownload(url, chunkSize),
  partialBytes: async (id: string) => (await listCachedModels()).find((m) => m.id === id)?.bytes ?? 0,
  remove: (id: string) => deleteCachedModel(id),
};
(globalThis as unknown as { storeBench: typeof bench }).storeBench = bench;

export type StoreHarness = typeof harness;
export type StoreBench = typeof bench;
(globalThis as unknown as { storeHarness: StoreHarness }).storeHarness = harness;
