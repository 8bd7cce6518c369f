// Owns a ModelSource over a local model folder (Node only: tests and command-line tools). Read-only.

import { readFile, stat } from 'node:fs/promises';
import { basename, resolve, sep } from 'node:path';
import { throwIfAborted } from '../shared/abort';
import { EngineError } from '../shared/errors';
import type { ModelSource } from '../shared/model-source';

/**
 * A model folder in the transformers.js layout on disk. Sessions are created from file paths so that
 * onnxruntime-node finds external data next to each model file.
 */
export function folderSource(dir: string, id = basename(resolve(dir))): ModelSource {
  const root = resolve(dir);
  const full = (path: string): string => {
    const p = resolve(root, path);
    // Paths come from the engine, but never let one escape the folder.
    if (p !== root && !p.startsWith(root + sep))
      throw new EngineError('bad-model', `Invalid model path: ${path}`);
    return p;
  };
  const size = async (path: string): Promise<number | null> => {
    try {
      const s = await stat(full(path));
      return s.isFile() ? s.size : null;
    } catch {
      return null;
    }
  };
  return {
    id,
    async read(path, options) {
      throwIfAborted(options?.signal);
      try {
        const buf = await readFile(full(path), options?.signal ? { signal: options.signal } : {});
        return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
      } catch (cause) {
        if (options?.signal?.aborted) throw cause;
        throw new EngineError('bad-model', `The model file ${path} is missing from ${root}.`, { cause });
      }
    },
    has: async (path) => (await size(path)) !== null,
    localPath: (path) => full(path),
    size,
  };
}
