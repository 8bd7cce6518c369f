// Owns "Use this model in the chat": the aligned model's folder, built by the training worker, stored through the
// weight store's local import (the path "Import folder" takes) under the name the chat lists it by. It never builds
// model files (the worker does) and never loads ORT.
import { ALIGNED_MICRO_ID_PREFIX } from '../store/catalog';
import { alignedModelLabel } from '../training/train/aligned-export';

export interface StoredModel {
  /** The store's id of the model (the chat's model panel lists it). */
  id: string;
  label: string;
}

/**
 * Stores `files` (paths inside the model folder) as a local model named after the run's step count. A new id per
 * run keeps earlier aligned models. Throws the store's EngineError (quota-exceeded, integrity, bad-model).
 */
export async function storeAlignedModel(
  steps: number,
  files: ReadonlyArray<{ path: string; bytes: Uint8Array }>,
  signal?: AbortSignal,
): Promise<StoredModel> {
  // The store (IndexedDB, hashing) loads only when asked for: most visits to this page never store a model.
  const { importLocalFiles } = await import('../store/local-import');
  const label = alignedModelLabel(steps);
  const stored = await importLocalFiles(
    files.map((f) => ({
      path: f.path,
      file: new File([f.bytes as Uint8Array<ArrayBuffer>], f.path.slice(f.path.lastIndexOf('/') + 1)),
    })),
    { id: `${ALIGNED_MICRO_ID_PREFIX}${Date.now().toString(36)}`, label, ...(signal ? { signal } : {}) },
  );
  return { id: stored.id, label: stored.label };
}
