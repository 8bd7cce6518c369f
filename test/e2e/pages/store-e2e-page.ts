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
import { hashingThread } from '../../../src/store/chunk-hasher';
import { opfsDownload, stageTimes } from './store-bench-probes';
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
  /** The same read with a BYOB reader filling one buffer over and over (no new buffer per read). */
  plainFetchByob: async (url: string, bufferSize: number) => {
    const t0 = performance.now();
    const response = await fetch(url, { cache: 'no-store' });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader({ mode: 'byob' });
    let buffer = new ArrayBuffer(bufferSize);
    let bytes = 0;
    for (;;) {
      const { done, value } = await reader.read(new Uint8Array(buffer));
      if (done || !value) break;
      bytes += value.byteLength;
      buffer = value.buffer as ArrayBuffer;
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
