// Owns a minimal ModelSource that reads a url-kind model folder straight over HTTP, reporting bytes as it goes.
// It is the seam until the weight store (src/store) serves the worker: it must not cache, verify or store anything.
import type { ModelSource } from '../src/engine/model-source';
import { throwIfAborted } from '../src/shared/abort';
import { EngineError } from '../src/shared/errors';
import type { LoadProgressEvent, ModelRef } from '../src/shared/protocol';
import { fileUrl, modelIdOf } from '../src/store/model-ref';

export interface OpenSourceOptions {
  signal?: AbortSignal;
  onProgress?: (event: LoadProgressEvent) => void;
}

/** Reads the body while counting bytes, so a big file reports progress instead of going quiet. */
async function readBody(
  response: Response,
  file: string,
  onProgress: ((event: LoadProgressEvent) => void) | undefined,
): Promise<Uint8Array> {
  const total = Number(response.headers.get('Content-Length') ?? 0);
  onProgress?.({ kind: 'file-start', file, loaded: 0, total });
  if (!response.body) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    onProgress?.({ kind: 'file-done', file, loaded: bytes.length, total: bytes.length });
    return bytes;
  }
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    onProgress?.({ kind: 'file-progress', file, loaded, total: Math.max(total, loaded) });
  }
  const bytes = new Uint8Array(loaded);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  onProgress?.({ kind: 'file-done', file, loaded, total: loaded });
  return bytes;
}

/**
 * Opens a url-kind ref as a ModelSource. Hub and local refs need the weight store and throw EngineError 'unsupported'.
 * `read` throws 'bad-model' for a missing file and 'download-failed' when the server cannot be reached.
 */
export function openUrlSource(ref: ModelRef, options: OpenSourceOptions = {}): ModelSource {
  if (ref.kind !== 'url') {
    throw new EngineError('unsupported', 'This build can only open models by URL. Give the address of a model folder.');
  }
  const { onProgress } = options;
  const request = async (path: string, method: 'GET' | 'HEAD', signal: AbortSignal | undefined) => {
    throwIfAborted(signal);
    const combined = signal && options.signal ? AbortSignal.any([signal, options.signal]) : (signal ?? options.signal);
    try {
      return await fetch(fileUrl(ref, path), combined ? { method, signal: combined } : { method });
    } catch (error) {
      throwIfAborted(combined);
      throw new EngineError('download-failed', `Could not fetch ${path}. Check your connection and try again.`, { cause: error });
    }
  };
  return {
    id: modelIdOf(ref),
    async read(path, readOptions) {
      const response = await request(path, 'GET', readOptions?.signal);
      if (response.status === 404) throw new EngineError('bad-model', `The model folder has no ${path}. Check the model address.`);
      if (!response.ok) {
        throw new EngineError('download-failed', `Fetching ${path} failed with HTTP ${response.status}. Try again later.`);
      }
      return readBody(response, path, onProgress);
    },
    async has(path) {
      const response = await request(path, 'HEAD', undefined);
      return response.ok;
    },
  };
}
