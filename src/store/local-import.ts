// Owns importing a model folder from the user's disk (directory picker, <input webkitdirectory>, drag and drop)
// into the weight store, hashed on the way in, so the app runs with no network. It never touches the network.
import { throwIfAborted } from '../shared/abort';
import { EngineError } from '../shared/errors';
import type { Component, Dtype, DtypeChoice, LoadProgressEvent, ModelRef } from '../shared/protocol';
import type { CachedModel } from './ensure-cached';
import { DEFAULT_CHUNK_SIZE, reserveModel } from './ensure-cached';
import { downloadFile, type DownloadSettings } from './file-download';
import { readTransformersJsConfig, resolveDtypes, selectFiles, type RemoteFile } from './file-select';
import { getDefaultWeightStore, type WeightStore } from './idb-weight-store';
import { parseManifest } from './listing';
import { withModelLock } from './model-lock';
import { encodePath, isSafeRelativePath, modelIdOf } from './model-ref';
import { ProgressTracker } from './progress';
import { defaultStorage, type StorageLike } from './quota';

/** A file as pages and workers (File) and Node (File, Blob) give it; `webkitRelativePath` from a folder input. */
export interface FileLike {
  readonly name: string;
  readonly size: number;
  readonly webkitRelativePath?: string;
  stream(): ReadableStream<Uint8Array>;
  slice(start?: number, end?: number): { stream(): ReadableStream<Uint8Array> };
  text(): Promise<string>;
}

/** One file of the folder being imported, by its path inside the model folder. */
export interface LocalFile {
  path: string;
  file: FileLike;
}

/** A FileSystemDirectoryHandle (showDirectoryPicker, or a drop's getAsFileSystemHandle), typed loosely. */
export interface DirectoryHandleLike {
  readonly kind: 'directory';
  readonly name: string;
}

interface HandleEntry {
  readonly kind: 'file' | 'directory';
  readonly name: string;
  getFile?(): Promise<FileLike>;
}

/** A FileSystemEntry from DataTransferItem.webkitGetAsEntry(), typed loosely. */
export interface EntryLike {
  readonly isFile: boolean;
  readonly isDirectory: boolean;
  readonly name: string;
}

const IGNORED = /(^|\/)(\.|__MACOSX\/|Thumbs\.db$)/;

/** Every file under a directory handle, with paths relative to it. */
export async function filesFromDirectoryHandle(
  handle: DirectoryHandleLike,
  signal?: AbortSignal,
): Promise<LocalFile[]> {
  const out: LocalFile[] = [];
  const walk = async (dir: DirectoryHandleLike, prefix: string): Promise<void> => {
    const values = (dir as unknown as { values(): AsyncIterable<HandleEntry> }).values();
    for await (const entry of values) {
      throwIfAborted(signal);
      const path = `${prefix}${entry.name}`;
      if (entry.kind === 'directory') await walk(entry as unknown as DirectoryHandleLike, `${path}/`);
      else if (entry.getFile) out.push({ path, file: await entry.getFile() });
    }
  };
  await walk(handle, '');
  return out;
}

/** Files of an `<input type=file webkitdirectory>`: paths lose their first segment (the folder picked). */
export function filesFromFileList(list: ArrayLike<FileLike> | Iterable<FileLike>): LocalFile[] {
  return Array.from(list as ArrayLike<FileLike>).map((file) => {
    const rel = file.webkitRelativePath || file.name;
    const slash = rel.indexOf('/');
    return { path: slash >= 0 ? rel.slice(slash + 1) : rel, file };
  });
}

/** Files of dropped entries (DataTransferItem.webkitGetAsEntry()); one dropped folder becomes the root. */
export async function filesFromEntries(
  entries: readonly EntryLike[],
  signal?: AbortSignal,
): Promise<LocalFile[]> {
  const out: LocalFile[] = [];
  const fileOf = (entry: EntryLike): Promise<FileLike> =>
    new Promise((resolve, reject) =>
      (entry as unknown as { file(ok: (f: FileLike) => void, fail: (e: unknown) => void): void }).file(
        resolve,
        reject,
      ),
    );
  const readAll = async (dir: EntryLike): Promise<EntryLike[]> => {
    const reader = (
      dir as unknown as {
        createReader(): { readEntries(ok: (e: EntryLike[]) => void, fail: (e: unknown) => void): void };
      }
    ).createReader();
    const all: EntryLike[] = [];
    // readEntries returns batches (about 100 in Chromium) until it returns an empty one.
    for (;;) {
      const batch = await new Promise<EntryLike[]>((resolve, reject) => reader.readEntries(resolve, reject));
      if (batch.length === 0) return all;
      all.push(...batch);
    }
  };
  const walk = async (entry: EntryLike, prefix: string): Promise<void> => {
    throwIfAborted(signal);
    if (entry.isDirectory)
      for (const child of await readAll(entry)) await walk(child, `${prefix}${entry.name}/`);
    else if (entry.isFile) out.push({ path: `${prefix}${entry.name}`, file: await fileOf(entry) });
  };
  const only = entries.length === 1 ? entries[0] : undefined;
  if (only?.isDirectory) for (const child of await readAll(only)) await walk(child, '');
  else for (const entry of entries) await walk(entry, '');
  return out;
}

/** When the folder picked holds the model one level down (e.g. 'models/tiny/config.json'), use that subfolder. */
function modelRoot(files: LocalFile[]): LocalFile[] {
  if (files.some((f) => f.path === 'config.json')) return files;
  const roots = new Set(
    files.filter((f) => /^[^/]+\/config\.json$/.test(f.path)).map((f) => f.path.split('/')[0]),
  );
  if (roots.size !== 1) return files;
  const [root] = roots;
  return files
    .filter((f) => f.path.startsWith(`${root}/`))
    .map((f) => ({ path: f.path.slice(`${root}/`.length), file: f.file }));
}

/** A fetch that answers from the picked files (Range included), so imports reuse the download pipeline as is. */
function localFetch(byPath: Map<string, FileLike>): DownloadSettings['fetch'] {
  return async (url, init) => {
    const path = decodeURIComponent(new URL(url).pathname.replace(/^\/+/, ''));
    const file = byPath.get(path);
    if (!file) return new Response(null, { status: 404 });
    const range = /^bytes=(\d+)-$/.exec(new Headers(init?.headers).get('range') ?? '');
    if (range) {
      const start = Number(range[1]);
      return new Response(file.slice(start).stream(), {
        status: 206,
        headers: {
          'content-range': `bytes ${start}-${file.size - 1}/${file.size}`,
          'content-length': String(file.size - start),
        },
      });
    }
    return new Response(file.stream(), { status: 200, headers: { 'content-length': String(file.size) } });
  };
}

export interface ImportOptions {
  /** Name the model is stored under (default: the folder's name, else 'imported-model'). */
  id?: string;
  label?: string;
  dtype?: DtypeChoice;
  signal?: AbortSignal;
  onProgress?: (event: LoadProgressEvent) => void;
  store?: WeightStore;
  storage?: StorageLike | null;
  chunkSize?: number;
}

/**
 * A name for an imported folder a person recognises: the model the config says it came from (`_name_or_path`, as
 * transformers writes it), else the folder's name, else the architecture the config names.
 */
export function importedModelName(config: unknown, folderName: string | undefined): string {
  const c = (config ?? {}) as { _name_or_path?: unknown; model_type?: unknown };
  const origin = typeof c._name_or_path === 'string' ? c._name_or_path.split('/').filter(Boolean).pop() : '';
  if (origin) return origin;
  if (folderName) return folderName;
  return typeof c.model_type === 'string' ? `Imported ${c.model_type} model` : 'Imported model';
}

/**
 * Stores a model folder's files (the support files and the graphs of the chosen dtype) under `{kind:'local', id}`.
 * Every file is hashed; with a manifest.json each must match it. Returns the stored model and the ModelRef to load.
 * Throws bad-model (no config.json, missing graph), integrity (a file differs from manifest.json), quota-exceeded,
 * or AbortError.
 */
export async function importLocalFiles(
  input: readonly LocalFile[],
  options: ImportOptions = {},
): Promise<CachedModel & { ref: ModelRef & { kind: 'local' }; label: string }> {
  const store = options.store ?? getDefaultWeightStore();
  const files = modelRoot(input.filter((f) => isSafeRelativePath(f.path) && !IGNORED.test(f.path)));
  const byPath = new Map(files.map((f) => [f.path, f.file]));
  const configFile = byPath.get('config.json');
  if (!configFile) {
    throw new EngineError(
      'bad-model',
      'That folder has no config.json, so it is not a model folder in the transformers.js layout. Pick the folder that holds config.json and onnx/.',
    );
  }
  let config: unknown;
  let manifest: Map<string, RemoteFile> | null = null;
  try {
    config = JSON.parse(await configFile.text());
    const manifestFile = byPath.get('manifest.json');
    if (manifestFile)
      manifest = new Map(parseManifest(JSON.parse(await manifestFile.text())).map((f) => [f.path, f]));
  } catch (error) {
    if (error instanceof EngineError) throw error;
    throw new EngineError('bad-model', 'config.json or manifest.json in that folder is not valid JSON.', {
      cause: error,
    });
  }
  const listing: RemoteFile[] = files.map((f) => {
    const listed = manifest?.get(f.path);
    const entry: RemoteFile = { path: f.path, size: f.file.size };
    if (listed?.sha256) entry.sha256 = listed.sha256;
    if (listed && listed.size !== f.file.size) {
      throw new EngineError(
        'integrity',
        `${f.path} has ${f.file.size} bytes but manifest.json says ${listed.size}. The folder is damaged or incomplete: copy it again.`,
      );
    }
    return entry;
  });
  const dtypes: Record<Component, Dtype> = resolveDtypes(
    options.dtype,
    readTransformersJsConfig(config).dtype,
    new Set(byPath.keys()),
  );
  const chosen = selectFiles(listing, dtypes);

  const folderName = input[0]?.file.webkitRelativePath?.split('/')[0];
  const ref = { kind: 'local', id: options.id ?? (folderName || 'imported-model') } as const;
  const label = options.label ?? importedModelName(config, folderName);
  const id = modelIdOf(ref);
  // Never alongside a download or another import of the same id (other tabs included).
  await withModelLock(id, options.signal, async () => {
    await store.deleteModel(id);
    const storage = options.storage === undefined ? defaultStorage() : options.storage;
    await reserveModel(
      store,
      storage,
      chosen.reduce((n, f) => n + (f.size ?? 0), 0),
      async () => [],
      { id, ref, dtype: dtypes, files: chosen, label },
    );

    const settings: DownloadSettings = {
      fetch: localFetch(byPath),
      chunkSize: options.chunkSize ?? DEFAULT_CHUNK_SIZE,
      retries: 0,
      retryBaseMs: 0,
      stallTimeoutMs: 120_000,
      maxRetryAfterMs: 0,
      maxQueuedBytes: 3 * (options.chunkSize ?? DEFAULT_CHUNK_SIZE),
    };
    const progress = new ProgressTracker({ onProgress: options.onProgress });
    for (const f of chosen) progress.register(f.path, f.size, 0);
    for (const file of chosen) {
      throwIfAborted(options.signal);
      const job = {
        store,
        modelId: id,
        file,
        hashSource: file.sha256 ? 'manifest' : 'none',
        url: () => `http://local.invalid/${encodePath(file.path)}`,
        progress,
        signal: options.signal,
      } as const;
      try {
        await downloadFile(job, settings);
      } catch (error) {
        if (error instanceof EngineError && error.code === 'integrity') {
          throw new EngineError(
            'integrity',
            `${file.path} does not match the checksum in the folder's manifest.json: the copy on disk is damaged. Copy the folder again.`,
            {
              cause: error,
              details: { path: file.path },
            },
          );
        }
        throw error;
      }
    }
  });
  const sized = chosen.map((f) => ({ path: f.path, size: f.size ?? 0 }));
  return { id, ref, label, dtype: dtypes, files: sized, bytes: sized.reduce((n, f) => n + f.size, 0) };
}
