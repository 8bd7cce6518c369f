// The weight store downloads a model folder (manifest.json or the hub look-alike), verifies it, stores it in chunks,
// serves it back through ModelSource and the transformers.js cache, and needs no network once complete.
import { describe, expect, it } from 'vitest';
import { ensureCached } from '../../src/store/ensure-cached';
import { listCachedModels } from '../../src/store/cache-admin';
import { createTransformersCache, openStoreSource } from '../../src/store/store-source';
import type { ModelRef } from '../../src/shared/protocol';
import {
  CHUNK,
  FP32_FILES,
  expectNothingCorrupt,
  freshStore,
  modelFolder,
  progressRecorder,
} from './helpers/store-fixtures';
import { folderRef, serversClosedAfterEach, type StoreTestServer } from './helpers/store-server';

const startServer = serversClosedAfterEach();

describe('ensureCached from a folder with manifest.json', () => {
  it('stores exactly the fp32 files, verified, and reads them back byte for byte', async () => {
    const files = modelFolder();
    const server = await startServer(files);
    const store = freshStore();
    const progress = progressRecorder();
    const model = await ensureCached(folderRef(server), {
      store,
      chunkSize: CHUNK,
      onProgress: progress.onProgress,
      storage: null,
      progressIntervalMs: 0,
    });

    expect(model.id).toBe('tiny');
    expect(model.dtype).toEqual({
      vision_encoder: 'fp32',
      embed_tokens: 'fp32',
      decoder_model_merged: 'fp32',
    });
    expect(model.files.map((f) => f.path).sort()).toEqual([...FP32_FILES].sort());
    // The q4 decoder and README are never fetched.
    expect(server.bytesSent('onnx/decoder_model_merged_q4.onnx')).toBe(0);
    expect(server.bytesSent('README.md')).toBe(0);
    // Each file's bytes went over the wire once.
    for (const path of FP32_FILES) expect(server.bytesSent(path)).toBe(files.get(path)?.byteLength);
    expect(server.requests.every((r) => !r.credentials)).toBe(true);

    const source = openStoreSource(folderRef(server), { store });
    for (const path of FP32_FILES) {
      const bytes = await source.read(path);
      expect(Buffer.from(bytes).equals(Buffer.from(files.get(path) ?? new Uint8Array()))).toBe(true);
      expect(await source.has(path)).toBe(true);
    }
    expect(await source.has('onnx/decoder_model_merged_q4.onnx')).toBe(false);
    await expect(source.read('onnx/decoder_model_merged_q4.onnx')).rejects.toMatchObject({
      code: 'bad-model',
    });
    await expectNothingCorrupt(store, 'tiny', files);

    progress.expectMonotonic();
    const last = progress.lastOverall();
    expect(last).toBeDefined();
    expect(last?.loaded).toBe(last?.total);
    expect(last?.total).toBe(FP32_FILES.reduce((n, p) => n + (files.get(p)?.byteLength ?? 0), 0));
    const verified = progress.events.filter((e) => e.kind === 'verified').map((e) => e.file);
    expect(verified.sort()).toEqual([...FP32_FILES].sort());

    const [summary] = await listCachedModels({ store });
    expect(summary).toMatchObject({ id: 'tiny', complete: true, verified: true, bytes: last?.total });
  });

  it('answers from the store with no network once the model is complete', async () => {
    const files = modelFolder();
    const server = await startServer(files);
    const store = freshStore();
    const ref = folderRef(server);
    await ensureCached(ref, { store, chunkSize: CHUNK, storage: null });
    await server.close();
    let fetches = 0;
    const model = await ensureCached(ref, {
      store,
      storage: null,
      fetch: () => {
        fetches++;
        return Promise.reject(new TypeError('offline'));
      },
    });
    expect(fetches).toBe(0);
    expect(model.files).toHaveLength(FP32_FILES.length);
    expect(await openStoreSource(ref, { store }).json('config.json')).toMatchObject({ model_type: 'llava' });
  });

  it('downloads the q4 decoder instead when asked, and keeps the rest', async () => {
    const files = modelFolder();
    const server = await startServer(files);
    const store = freshStore();
    const model = await ensureCached(folderRef(server), {
      store,
      chunkSize: CHUNK,
      storage: null,
      dtype: { decoder_model_merged: 'q4' },
    });
    expect(model.dtype?.decoder_model_merged).toBe('q4');
    expect(model.files.map((f) => f.path)).toContain('onnx/decoder_model_merged_q4.onnx');
    expect(model.files.map((f) => f.path)).not.toContain('onnx/decoder_model_merged.onnx_data');
    expect(server.bytesSent('onnx/decoder_model_merged.onnx_data')).toBe(0);
  });

  it('refuses a dtype the folder does not offer, naming the ones it does', async () => {
    const server = await startServer(modelFolder());
    await expect(
      ensureCached(folderRef(server), { store: freshStore(), storage: null, dtype: 'q4f16' }),
    ).rejects.toMatchObject({
      code: 'bad-model',
      message: expect.stringContaining('fp32'),
    });
  });

  it('works without manifest.json, guessing files from config.json (external data included)', async () => {
    const files = modelFolder();
    const server = await startServer(files, { manifest: false });
    const store = freshStore();
    const model = await ensureCached(folderRef(server), { store, chunkSize: CHUNK, storage: null });
    expect(model.files.map((f) => f.path).sort()).toEqual([...FP32_FILES].sort());
    await expectNothingCorrupt(store, 'tiny', files);
    const [summary] = await listCachedModels({ store });
    // Nothing to check against: complete, hashed here, but not verified against a source.
    expect(summary).toMatchObject({ complete: true, verified: false });
  });

  it('takes a single-page-app fallback page for "no such file", never for a model file', async () => {
    const files = modelFolder();
    const server = await startServer(files, { manifest: false, spaFallback: true });
    const store = freshStore();
    const model = await ensureCached(folderRef(server), { store, chunkSize: CHUNK, storage: null });
    // The guessed optional files (vocab.json, merges.txt, ...) answered with HTML are left out, not stored.
    expect(model.files.map((f) => f.path).sort()).toEqual([...FP32_FILES].sort());
    await expectNothingCorrupt(store, 'tiny', files);
    await expect(
      ensureCached(folderRef(server), {
        store: freshStore(),
        storage: null,
        dtype: { decoder_model_merged: 'q4f16' },
      }),
    ).rejects.toMatchObject({ code: 'download-failed', message: expect.stringContaining('web page') });
  });

  it('serves tokenizer files to transformers.js through env.customCache keys', async () => {
    const files = modelFolder();
    const server = await startServer(files);
    const store = freshStore();
    await ensureCached(folderRef(server), { store, chunkSize: CHUNK, storage: null });
    const cache = createTransformersCache(openStoreSource('tiny', { store }), 'tiny');
    const local = await cache.match('/models/tiny/tokenizer.json');
    expect(local?.status).toBe(200);
    expect(await local?.json()).toEqual(JSON.parse(new TextDecoder().decode(files.get('tokenizer.json'))));
    const remote = await cache.match('https://huggingface.co/tiny/resolve/main/tokenizer_config.json');
    expect(await remote?.json()).toEqual({ tokenizer_class: 'PreTrainedTokenizerFast' });
    expect(await cache.match('/models/tiny/merges.txt')).toBeUndefined();
    expect(await cache.match('/models/other/tokenizer.json')).toBeUndefined();
  });
});

describe('ensureCached from the hub look-alike', () => {
  const hubRef = (s: StoreTestServer): ModelRef => ({
    kind: 'hub',
    repo: 'test-org/tiny-llava',
    endpoint: s.hubEndpoint,
  });

  it('pages the tree API, verifies LFS files by sha256 and small files by git blob sha1', async () => {
    const files = modelFolder();
    const server = await startServer(files, { treePageSize: 2 });
    const store = freshStore();
    const progress = progressRecorder();
    const model = await ensureCached(hubRef(server), {
      store,
      chunkSize: CHUNK,
      storage: null,
      onProgress: progress.onProgress,
    });
    expect(model.id).toBe('test-org/tiny-llava');
    expect(model.files.map((f) => f.path).sort()).toEqual([...FP32_FILES].sort());
    const records = await store.listFiles(model.id);
    for (const r of records) {
      expect(r.verified).toBe(true);
      expect(r.hashSource).toBe(r.path.startsWith('onnx/') ? 'hub-lfs' : 'hub-git');
    }
    await expectNothingCorrupt(store, model.id, files);
    progress.expectMonotonic();
  });

  it('fails a small file whose git sha1 does not match, and keeps nothing of it', async () => {
    const files = modelFolder();
    const server = await startServer(files);
    server.faults.push({ path: 'tokenizer.json', fault: { kind: 'corrupt', offset: 10 } });
    const store = freshStore();
    await expect(
      ensureCached(hubRef(server), { store, chunkSize: CHUNK, storage: null, concurrency: 1 }),
    ).rejects.toMatchObject({ code: 'integrity' });
    expect(await store.getFile('test-org/tiny-llava', 'tokenizer.json')).toBeUndefined();
    await expectNothingCorrupt(store, 'test-org/tiny-llava', files);
  });

  it('re-resolves expired CDN URLs when resuming', async () => {
    const files = modelFolder();
    const server = await startServer(files);
    server.faults.push({ path: 'onnx/vision_encoder.onnx', fault: { kind: 'drop', at: 10_000 }, times: 1 });
    const s = server;
    const store = freshStore();
    // Expire every signed URL handed out before the drop: a client that reused the old one would get 403.
    const fetchFn = async (input: string, init?: RequestInit): Promise<Response> => {
      if (input.includes('vision_encoder') && s.requests.some((r) => r.path === 'onnx/vision_encoder.onnx'))
        s.expireCdnUrls();
      return fetch(input, init);
    };
    // One file at a time: a parallel download holding a redirect from before the expiry would get 403 too.
    await ensureCached(hubRef(s), {
      store,
      chunkSize: CHUNK,
      storage: null,
      retryBaseMs: 1,
      fetch: fetchFn,
      concurrency: 1,
    });
    const vision = s.requests.filter((r) => r.path === 'onnx/vision_encoder.onnx');
    expect(vision.map((r) => r.status)).toEqual([200, 206]);
    expect(vision[1]?.range).toBe('bytes=10000-');
    await expectNothingCorrupt(store, 'test-org/tiny-llava', files);
  });

  it('says when the repository does not exist (anonymous: 401, it might be private)', async () => {
    const server = await startServer(modelFolder());
    await expect(
      ensureCached(
        { kind: 'hub', repo: 'nobody/nothing', endpoint: server.hubEndpoint },
        { store: freshStore(), storage: null, hubToken: null },
      ),
    ).rejects.toMatchObject({
      code: 'download-failed',
      message: expect.stringContaining('misspelt'),
    });
  });
});
