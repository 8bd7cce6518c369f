// Owns reading stored models: the engine's ModelSource over the weight store, and the cache object that hands
// transformers.js its tokenizer/processor files from the same store. It never fetches anything.
import { throwIfAborted } from '../shared/abort';
import { EngineError } from '../shared/errors';
import type { ModelRef } from '../shared/protocol';
import type { ModelSource } from '../shared/model-source';
import { getDefaultWeightStore, type FileRecord, type WeightStore } from './idb-weight-store';
import { modelIdOf } from './model-ref';

function missing(modelId: string, path: string, why: string): EngineError {
  return new EngineError(
    'bad-model',
    `${path} of ${modelId} ${why}. Download the model again (or re-import its folder).`,
    {
      details: { modelId, path },
    },
  );
}

async function completeRecord(store: WeightStore, modelId: string, path: string): Promise<FileRecord> {
  const record = await store.getFile(modelId, path);
  if (!record) throw missing(modelId, path, 'is not on this device');
  if (!record.complete || record.size === null) throw missing(modelId, path, 'is only partly downloaded');
  return record;
}

/**
 * Streams a complete stored file chunk by chunk (no whole-file buffer), for readers that can take pieces.
 * Throws bad-model when the file is missing, partial or its chunks are damaged.
 */
export async function* readStoredChunks(
  store: WeightStore,
  modelId: string,
  path: string,
  signal?: AbortSignal,
): AsyncGenerator<Uint8Array> {
  const record = await completeRecord(store, modelId, path);
  let seen = 0;
  for (let i = 0; i < record.chunkCount; i++) {
    throwIfAborted(signal);
    const chunk = await store.readChunk(modelId, path, i);
    if (!chunk || seen + chunk.byteLength > (record.size ?? 0))
      throw missing(modelId, path, 'is damaged in storage');
    seen += chunk.byteLength;
    yield chunk;
  }
  if (seen !== record.size) throw missing(modelId, path, 'is damaged in storage');
}

/**
 * The whole file in one buffer, allocated once at its final size (no concatenation). Throws bad-model when the
 * file is missing, partial or damaged, AbortError when `signal` fires between chunks.
 */
export async function readStoredFile(
  store: WeightStore,
  modelId: string,
  path: string,
  signal?: AbortSignal,
): Promise<Uint8Array<ArrayBuffer>> {
  const record = await completeRecord(store, modelId, path);
  const out = new Uint8Array(record.size ?? 0);
  let offset = 0;
  for await (const chunk of readStoredChunks(store, modelId, path, signal)) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/** A ModelSource plus what the engine may want besides whole files. */
export interface StoreSource extends ModelSource {
  /** Paths of the files stored complete for this model. */
  list(): Promise<string[]>;
  /** Size in bytes of a complete file, or null when it is not there. */
  size(path: string): Promise<number | null>;
  /** The file in stored chunks, for readers that stream (e.g. large external data). */
  chunks(path: string, options?: { signal?: AbortSignal }): AsyncIterable<Uint8Array>;
  /** Parsed JSON file; throws bad-model when missing or not JSON. */
  json(path: string): Promise<unknown>;
}

/** The engine's view of a stored model (by ref or by stored id). It reads IndexedDB only; never the network. */
export function openStoreSource(
  model: ModelRef | string,
  options: { store?: WeightStore } = {},
): StoreSource {
  const store = options.store ?? getDefaultWeightStore();
  const id = typeof model === 'string' ? model : modelIdOf(model);
  return {
    id,
    read: (path, opts) => readStoredFile(store, id, path, opts?.signal),
    has: async (path) => (await store.getFile(id, path))?.complete === true,
    list: async () => (await store.listFiles(id)).filter((f) => f.complete).map((f) => f.path),
    size: async (path) => {
      const record = await store.getFile(id, path);
      return record?.complete ? record.size : null;
    },
    chunks: (path, opts) => readStoredChunks(store, id, path, opts?.signal),
    json: async (path) => {
      const bytes = await readStoredFile(store, id, path);
      try {
        return JSON.parse(new TextDecoder().decode(bytes)) as unknown;
      } catch (error) {
        throw new EngineError('bad-model', `${path} of ${id} is not valid JSON. Pick another model.`, {
          cause: error,
        });
      }
    },
  };
}

/** The `env.customCache` shape transformers.js accepts (the Web Cache API's match/put). */
export interface TransformersCache {
  match(request: string): Promise<Response | undefined>;
  put(request: string, response: Response): Promise<void>;
}

/**
 * The path of a model file inside a transformers.js cache key. transformers.js asks for
 * `{localModelPath}{modelName}/{file}` and then `{remoteHost}/{modelName}/resolve/{revision}/{file}`.
 */
export function pathFromCacheKey(key: string, modelName: string): string | null {
  const marker = `${modelName.replace(/^\/+|\/+$/g, '')}/`;
  const at = key.lastIndexOf(marker);
  if (at < 0 || (at > 0 && key[at - 1] !== '/')) return null;
  let rest = key.slice(at + marker.length).split(/[?#]/)[0] ?? '';
  const resolve = /^resolve\/[^/]+\//.exec(rest);
  if (resolve) rest = rest.slice(resolve[0].length);
  try {
    return rest.split('/').map(decodeURIComponent).join('/');
  } catch {
    return null;
  }
}

/**
 * An `env.customCache` for transformers.js that serves `modelName`'s files from the store, so the tokenizer and
 * processor load with no network (set `env.useCustomCache = true`, `env.customCache = …`, and load
 * `from_pretrained(modelName)`). `put` stores nothing: only ensureCached/import fill the store.
 */
export function createTransformersCache(source: ModelSource, modelName: string): TransformersCache {
  return {
    async match(request) {
      const path = pathFromCacheKey(request, modelName);
      if (path === null || !(await source.has(path))) return undefined;
      const bytes = await source.read(path);
      const type = path.endsWith('.json') ? 'application/json' : 'application/octet-stream';
      return new Response(bytes as Uint8Array<ArrayBuffer>, {
        status: 200,
        headers: { 'content-type': type, 'content-length': String(bytes.byteLength) },
      });
    },
    async put() {},
  };
}
