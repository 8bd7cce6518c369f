// Storage quota: a download that cannot fit is refused before any model byte is fetched, with the numbers and what
// to delete; persistence is requested; running out mid-download keeps what was stored and resumes later.
import 'fake-indexeddb/auto';
import { createStore, type UseStore } from 'idb-keyval';
import { describe, expect, it } from 'vitest';
import { ensureCached } from '../../src/store/ensure-cached';
import { OBJECT_STORE, openWeightStore } from '../../src/store/idb-weight-store';
import type { StorageLike } from '../../src/store/quota';
import { CHUNK, FP32_FILES, expectNothingCorrupt, freshStore, modelFolder } from './helpers/store-fixtures';
import { folderRef, serversClosedAfterEach } from './helpers/store-server';

const startServer = serversClosedAfterEach();

function fakeStorage(quota: number, usage: number): StorageLike & { persistCalls: number } {
  const storage = {
    persistCalls: 0,
    estimate: () => Promise.resolve({ quota, usage }),
    persisted: () => Promise.resolve(false),
    persist: () => {
      storage.persistCalls++;
      return Promise.resolve(true);
    },
  };
  return storage;
}

describe('quota', () => {
  it('refuses a download that cannot fit before fetching any model byte, naming the numbers and what to delete', async () => {
    const files = modelFolder();
    const server = await startServer(files);
    const store = freshStore();
    // Another model is stored: the message must offer it for deletion.
    await store.putModel({
      id: 'big-old-model',
      ref: { kind: 'hub', repo: 'x/y' },
      dtype: null,
      files: [],
      createdAt: 1,
      updatedAt: 1,
    });
    await store.putChunk(
      {
        modelId: 'big-old-model',
        path: 'a.onnx',
        size: 3000,
        hashSource: 'none',
        chunkSize: 3000,
        chunkCount: 1,
        storedBytes: 3000,
        complete: true,
        verified: false,
        updatedAt: 1,
      },
      0,
      new Uint8Array(3000),
    );

    const storage = fakeStorage(50_000, 20_000);
    const error = await ensureCached(folderRef(server), { store, storage, chunkSize: CHUNK }).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({
      code: 'quota-exceeded',
      message: expect.stringContaining('big-old-model'),
    });
    expect((error as { details: Record<string, unknown> }).details).toMatchObject({
      availableBytes: 30_000,
      usageBytes: 20_000,
      quotaBytes: 50_000,
    });
    expect(server.bytesSent()).toBe(0);
    expect(server.requests).toHaveLength(0);
    expect(storage.persistCalls).toBe(0);
  });

  it('refuses the chosen dtype that cannot fit with no request beyond the file list, even if a smaller one would', async () => {
    const files = modelFolder();
    const server = await startServer(files);
    const store = freshStore();
    const fp32 = FP32_FILES.reduce((n, p) => n + (files.get(p)?.byteLength ?? 0), 0);
    // Room for the q4 decoder's choice (the smallest) but not for fp32.
    const storage = fakeStorage(fp32 - 10_000, 0);
    const error = await ensureCached(folderRef(server), {
      store,
      storage,
      chunkSize: CHUNK,
      dtype: 'fp32',
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'quota-exceeded' });
    expect(server.seen.map((r) => r.path)).toEqual(['/models/tiny/manifest.json']);
    expect(await store.listFiles('tiny')).toEqual([]);
    expect(storage.persistCalls).toBe(0);
  });

  it('with no dtype chosen and no room for the largest choice: config.json is not read first, a choice that fits is taken', async () => {
    const files = modelFolder();
    const server = await startServer(files);
    const store = freshStore();
    const fp32 = FP32_FILES.reduce((n, p) => n + (files.get(p)?.byteLength ?? 0), 0);
    // config.json names fp32 (no room for it); the q4 decoder fits.
    const storage = fakeStorage(fp32 - 10_000, 0);
    const cached = await ensureCached(folderRef(server), { store, storage, chunkSize: CHUNK });
    expect(cached.dtype).toMatchObject({ decoder_model_merged: 'q4' });
    // Nothing but the file list came before the quota was settled: config.json is fetched once, as a stored file.
    const paths = server.seen.map((r) => r.path);
    expect(paths[0]).toBe('/models/tiny/manifest.json');
    expect(paths.filter((p) => p === '/models/tiny/config.json')).toHaveLength(1);
    expect(paths).not.toContain('/models/tiny/onnx/decoder_model_merged.onnx_data');
    expect(await store.getFile('tiny', 'config.json')).toMatchObject({ complete: true });
  });

  it('with no dtype chosen, a refusal comes with no request beyond the file list (server log) and nothing stored', async () => {
    const files = modelFolder();
    const server = await startServer(files);
    const store = freshStore();
    const q4 = FP32_FILES.filter((p) => !p.startsWith('onnx/decoder_model_merged'))
      .map((p) => files.get(p)?.byteLength ?? 0)
      .reduce((a, b) => a + b, files.get('onnx/decoder_model_merged_q4.onnx')?.byteLength ?? 0);
    // Not even the smallest choice fits.
    const storage = fakeStorage(q4 - 1, 0);
    const error = await ensureCached(folderRef(server), { store, storage, chunkSize: CHUNK }).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'quota-exceeded' });
    expect(server.seen.map((r) => r.path)).toEqual(['/models/tiny/manifest.json']);
    expect(await store.listFiles('tiny')).toEqual([]);
    expect(await store.getModel('tiny')).toBeUndefined();
  });

  it('with room for every choice, config.json decides the dtype (read once, into memory, before the quota check)', async () => {
    const files = modelFolder();
    const server = await startServer(files);
    const store = freshStore();
    const cached = await ensureCached(folderRef(server), {
      store,
      storage: fakeStorage(10_000_000, 0),
      chunkSize: CHUNK,
    });
    expect(cached.dtype).toMatchObject({ decoder_model_merged: 'fp32' });
    expect(server.seen.filter((r) => r.path === '/models/tiny/config.json')).toHaveLength(1);
  });

  it('downloads when it fits, and asks for persistent storage first', async () => {
    const files = modelFolder();
    const server = await startServer(files);
    const storage = fakeStorage(10_000_000, 0);
    await ensureCached(folderRef(server), { store: freshStore(), storage, chunkSize: CHUNK });
    expect(storage.persistCalls).toBe(1);
  });

  it('counts only the bytes still missing when resuming', async () => {
    const files = modelFolder();
    const server = await startServer(files);
    server.faults.push({
      path: 'onnx/decoder_model_merged.onnx_data',
      fault: { kind: 'drop', at: 25_000 },
      times: 1,
    });
    const store = freshStore();
    const ref = folderRef(server);
    await expect(
      ensureCached(ref, { store, storage: null, chunkSize: CHUNK, retries: 0, concurrency: 1 }),
    ).rejects.toMatchObject({ code: 'download-failed' });
    const total = FP32_FILES.reduce((n, p) => n + (files.get(p)?.byteLength ?? 0), 0);
    const stored = (await store.listFiles('tiny')).reduce((n, f) => n + f.storedBytes, 0);
    // Room for what is missing, not for the whole model again.
    await ensureCached(ref, { store, storage: fakeStorage(total - stored + 100, 0), chunkSize: CHUNK });
  });

  it('QuotaExceededError mid-download: quota-exceeded, stored chunks kept, resumable once there is room', async () => {
    const files = modelFolder();
    const server = await startServer(files);
    const dbName = `quota-mid-${Math.random()}`;
    const real = createStore(dbName, OBJECT_STORE);
    let budget = 40_000;
    // Browsers fail the IndexedDB write with QuotaExceededError when the origin is full; simulate that at 40 kB.
    const limited: UseStore = (mode, callback) =>
      real(mode, (store) => {
        const put = store.put.bind(store);
        store.put = (value: unknown, key?: IDBValidKey) => {
          if (value instanceof Uint8Array) {
            budget -= value.byteLength;
            if (budget < 0) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
          }
          return put(value, key);
        };
        return callback(store);
      });
    const store = openWeightStore({ dbName, useStore: limited });
    const ref = folderRef(server);
    const error = await ensureCached(ref, { store, storage: null, chunkSize: CHUNK, concurrency: 1 }).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'quota-exceeded', message: expect.stringContaining('kept') });
    const stored = await store.listFiles('tiny');
    expect(stored.reduce((n, f) => n + f.storedBytes, 0)).toBeGreaterThan(30_000);
    await expectNothingCorrupt(store, 'tiny', files);

    budget = Infinity;
    const sentBefore = server.bytesSent();
    await ensureCached(ref, { store, storage: null, chunkSize: CHUNK });
    await expectNothingCorrupt(store, 'tiny', files);
    const total = FP32_FILES.reduce((n, p) => n + (files.get(p)?.byteLength ?? 0), 0);
    expect(server.bytesSent()).toBeLessThanOrEqual(total + FP32_FILES.length * CHUNK);
    expect(server.bytesSent()).toBeGreaterThan(sentBefore);
  });
});
