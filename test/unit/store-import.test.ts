// Local import (folder input, directory handle, dropped entries) stores the folder hashed, works with no network,
// checks manifest.json; re-verify finds a corrupted stored chunk and deletes that file so it is fetched again.
import 'fake-indexeddb/auto';
import { createStore, set } from 'idb-keyval';
import { describe, expect, it } from 'vitest';
import { ensureCached } from '../../src/store/ensure-cached';
import {
  listCachedModels,
  verifyCachedModel,
  deleteCachedModel,
  deleteAllCachedModels,
  renameCachedModel,
} from '../../src/store/cache-admin';
import { chunkKey, OBJECT_STORE } from '../../src/store/idb-weight-store';
import {
  filesFromDirectoryHandle,
  filesFromEntries,
  filesFromFileList,
  importLocalFiles,
  importedModelName,
  type EntryLike,
  type FileLike,
} from '../../src/store/local-import';
import { openStoreSource } from '../../src/store/store-source';
import { folderRef, serversClosedAfterEach, sha256Hex } from './helpers/store-server';
import {
  CHUNK,
  FP32_FILES,
  expectNothingCorrupt,
  freshStore,
  modelFolder,
  progressRecorder,
} from './helpers/store-fixtures';

const startServer = serversClosedAfterEach();

/** A File as an `<input webkitdirectory>` gives it (Node's File lacks webkitRelativePath). */
function inputFile(folder: string, path: string, bytes: Uint8Array): FileLike {
  const file = new File([bytes as Uint8Array<ArrayBuffer>], path.split('/').pop() ?? path);
  return Object.assign(file, { webkitRelativePath: `${folder}/${path}` }) as unknown as FileLike;
}

function asInputFiles(files: Map<string, Uint8Array>, folder = 'my-model'): FileLike[] {
  return [...files.entries()].map(([path, bytes]) => inputFile(folder, path, bytes));
}

/** A FileSystemDirectoryHandle look-alike over a map of paths. */
function directoryHandle(name: string, files: Map<string, Uint8Array>): { kind: 'directory'; name: string } {
  const make = (
    dirName: string,
    prefix: string,
  ): { kind: 'directory'; name: string; values(): AsyncIterable<unknown> } => ({
    kind: 'directory',
    name: dirName,
    async *values() {
      const seen = new Set<string>();
      for (const [path, bytes] of files) {
        if (!path.startsWith(prefix)) continue;
        const rest = path.slice(prefix.length);
        const slash = rest.indexOf('/');
        if (slash < 0)
          yield {
            kind: 'file',
            name: rest,
            getFile: () => Promise.resolve(new File([bytes as Uint8Array<ArrayBuffer>], rest)),
          };
        else {
          const sub = rest.slice(0, slash);
          if (!seen.has(sub)) {
            seen.add(sub);
            yield make(sub, `${prefix}${sub}/`);
          }
        }
      }
    },
  });
  return make(name, '');
}

/** Dropped FileSystemEntry look-alikes; readEntries hands out batches of 2 to exercise the loop. */
function droppedFolder(name: string, files: Map<string, Uint8Array>): EntryLike {
  const dir = (dirName: string, prefix: string): EntryLike & { createReader(): unknown } => ({
    isFile: false,
    isDirectory: true,
    name: dirName,
    createReader() {
      const children: EntryLike[] = [];
      const subs = new Set<string>();
      for (const [path, bytes] of files) {
        if (!path.startsWith(prefix)) continue;
        const rest = path.slice(prefix.length);
        const slash = rest.indexOf('/');
        if (slash < 0)
          children.push({
            isFile: true,
            isDirectory: false,
            name: rest,
            file: (ok: (f: File) => void) => ok(new File([bytes as Uint8Array<ArrayBuffer>], rest)),
          } as EntryLike);
        else if (!subs.has(rest.slice(0, slash))) {
          subs.add(rest.slice(0, slash));
          children.push(dir(rest.slice(0, slash), `${prefix}${rest.slice(0, slash)}/`));
        }
      }
      let at = 0;
      return {
        readEntries(ok: (e: EntryLike[]) => void) {
          const batch = children.slice(at, at + 2);
          at += batch.length;
          setTimeout(() => ok(batch), 0);
        },
      };
    },
  });
  return dir(name, '');
}

describe('local import', () => {
  it('round trip from an <input webkitdirectory> FileList: stored, hashed, readable, no network needed', async () => {
    const files = modelFolder();
    const store = freshStore();
    const progress = progressRecorder();
    const model = await importLocalFiles(filesFromFileList(asInputFiles(files)), {
      store,
      chunkSize: CHUNK,
      storage: null,
      onProgress: progress.onProgress,
    });
    expect(model.ref).toEqual({ kind: 'local', id: 'my-model' });
    expect(model.id).toBe('local:my-model');
    expect(model.files.map((f) => f.path).sort()).toEqual([...FP32_FILES].sort());
    await expectNothingCorrupt(store, model.id, files);
    progress.expectMonotonic();
    for (const record of await store.listFiles(model.id)) {
      expect(record.sha256).toBe(sha256Hex(files.get(record.path) ?? new Uint8Array()));
      expect(record.hashSource).toBe('computed');
    }
    // Loading the imported ref needs no fetch at all.
    const cached = await ensureCached(model.ref, {
      store,
      storage: null,
      fetch: () => Promise.reject(new Error('no network')),
    });
    expect(cached.files).toHaveLength(FP32_FILES.length);
    const source = openStoreSource(model.ref, { store });
    expect(
      Buffer.from(await source.read('onnx/decoder_model_merged.onnx_data')).equals(
        Buffer.from(files.get('onnx/decoder_model_merged.onnx_data') ?? []),
      ),
    ).toBe(true);
  });

  it('reads a directory handle and dropped entries the same way (model folder one level down is found)', async () => {
    const files = modelFolder();
    const nested = new Map([...files].map(([p, b]) => [`tiny-llava/${p}`, b] as const));
    const fromHandle = await filesFromDirectoryHandle(directoryHandle('downloads', nested));
    const fromDrop = await filesFromEntries([droppedFolder('tiny-llava', files)]);
    expect(fromDrop.map((f) => f.path).sort()).toEqual([...files.keys()].sort());
    const store = freshStore();
    const a = await importLocalFiles(fromHandle, {
      store,
      id: 'from-handle',
      chunkSize: CHUNK,
      storage: null,
    });
    const b = await importLocalFiles(fromDrop, { store, id: 'from-drop', chunkSize: CHUNK, storage: null });
    await expectNothingCorrupt(store, a.id, files);
    await expectNothingCorrupt(store, b.id, files);
    expect((await listCachedModels({ store })).map((m) => m.id).sort()).toEqual([
      'local:from-drop',
      'local:from-handle',
    ]);
  });

  it('checks files against the folder manifest.json and refuses a damaged copy', async () => {
    const files = modelFolder();
    const manifest = {
      files: [...files].map(([path, b]) => ({ path, size: b.byteLength, sha256: sha256Hex(b) })),
    };
    const damaged = new Map(files);
    const bad = (files.get('onnx/embed_tokens.onnx') ?? new Uint8Array()).slice();
    bad[100] = (bad[100] ?? 0) ^ 1;
    damaged.set('onnx/embed_tokens.onnx', bad);
    damaged.set('manifest.json', new TextEncoder().encode(JSON.stringify(manifest)));
    const store = freshStore();
    await expect(
      importLocalFiles(filesFromFileList(asInputFiles(damaged)), { store, chunkSize: CHUNK, storage: null }),
    ).rejects.toMatchObject({
      code: 'integrity',
      message: expect.stringContaining('onnx/embed_tokens.onnx'),
    });
    expect(await store.getFile('local:my-model', 'onnx/embed_tokens.onnx')).toBeUndefined();

    const good = new Map(files).set('manifest.json', new TextEncoder().encode(JSON.stringify(manifest)));
    const model = await importLocalFiles(filesFromFileList(asInputFiles(good)), {
      store,
      chunkSize: CHUNK,
      storage: null,
    });
    const [summary] = await listCachedModels({ store });
    expect(summary).toMatchObject({ id: model.id, complete: true, verified: true });
  });

  it('refuses a folder without config.json', async () => {
    const files = modelFolder();
    files.delete('config.json');
    await expect(
      importLocalFiles(filesFromFileList(asInputFiles(files)), { store: freshStore(), storage: null }),
    ).rejects.toMatchObject({ code: 'bad-model' });
  });
});

describe('cache management', () => {
  it('re-verify detects a corrupted stored chunk, deletes that file, and the next download fetches only it', async () => {
    const files = modelFolder();
    const server = await startServer(files);
    const dbName = `verify-${Math.random()}`;
    const { openWeightStore } = await import('../../src/store/idb-weight-store');
    const store = openWeightStore({ dbName });
    const ref = folderRef(server);
    await ensureCached(ref, { store, storage: null, chunkSize: CHUNK });
    expect((await verifyCachedModel('tiny', { store })).ok).toBe(true);

    // Flip one byte inside chunk 1 of the vision encoder, behind the store's back (as disk corruption would).
    const raw = createStore(dbName, OBJECT_STORE);
    const chunk = (await store.readChunk('tiny', 'onnx/vision_encoder.onnx', 1))?.slice();
    expect(chunk).toBeDefined();
    if (!chunk) return;
    chunk[7] = (chunk[7] ?? 0) ^ 0x55;
    await set(chunkKey('tiny', 'onnx/vision_encoder.onnx', 1), chunk, raw);

    const progress = progressRecorder();
    const report = await verifyCachedModel('tiny', { store, onProgress: progress.onProgress });
    expect(report.ok).toBe(false);
    expect(report.files.filter((f) => !f.ok)).toEqual([
      { path: 'onnx/vision_encoder.onnx', ok: false, problem: 'damaged' },
    ]);
    expect(await store.getFile('tiny', 'onnx/vision_encoder.onnx')).toBeUndefined();
    expect(progress.events.filter((e) => e.kind === 'verified')).toHaveLength(FP32_FILES.length - 1);
    const [summary] = await listCachedModels({ store });
    expect(summary?.complete).toBe(false);

    server.resetCounts();
    await ensureCached(ref, { store, storage: null, chunkSize: CHUNK });
    expect(server.bytesSent()).toBe(20_000);
    expect(server.bytesSent('onnx/vision_encoder.onnx')).toBe(20_000);
    expect((await verifyCachedModel('tiny', { store })).ok).toBe(true);
  });

  it('deletes one model or all of them', async () => {
    const files = modelFolder();
    const store = freshStore();
    await importLocalFiles(filesFromFileList(asInputFiles(files, 'a')), {
      store,
      chunkSize: CHUNK,
      storage: null,
    });
    await importLocalFiles(filesFromFileList(asInputFiles(files, 'b')), {
      store,
      chunkSize: CHUNK,
      storage: null,
    });
    await deleteCachedModel('local:a', { store });
    expect((await listCachedModels({ store })).map((m) => m.id)).toEqual(['local:b']);
    expect(await store.readChunk('local:a', 'onnx/vision_encoder.onnx', 0)).toBeUndefined();
    expect(await store.readChunk('local:b', 'onnx/vision_encoder.onnx', 0)).toBeDefined();
    await deleteAllCachedModels({ store });
    expect(await listCachedModels({ store })).toEqual([]);
    expect(await store.listFiles('local:b')).toEqual([]);
  });
});

describe('names of imported models', () => {
  it('takes the name the config gives, else the folder, else the architecture', () => {
    expect(importedModelName({ _name_or_path: 'llava-hf/llava-1.5-7b-hf' }, 'out')).toBe('llava-1.5-7b-hf');
    expect(importedModelName({ model_type: 'llava' }, 'llava-1.5-7b-q4')).toBe('llava-1.5-7b-q4');
    expect(importedModelName({ model_type: 'llava' }, undefined)).toBe('Imported llava model');
  });

  it('renames a stored model, keeping its id', async () => {
    const store = freshStore();
    await store.putModel({
      id: 'local:x',
      ref: { kind: 'local', id: 'x' },
      dtype: null,
      files: [],
      label: 'x',
      createdAt: 1,
      updatedAt: 1,
    });
    await renameCachedModel('local:x', '  My model ', { store });
    expect((await listCachedModels({ store })).map((m) => [m.id, m.label])).toEqual([
      ['local:x', 'My model'],
    ]);
  });
});
