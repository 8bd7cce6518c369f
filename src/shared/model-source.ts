// Owns the ModelSource contract: how the engine gets the bytes of a model's files, and what the store (or a Node
// folder, or a test) must offer it. Shared so that the store implements it without importing the engine. No I/O.

/** A model folder in the transformers.js layout, addressed by relative paths such as 'onnx/vision_encoder_q4.onnx'. */
export interface ModelSource {
  /** Stable id used for caches and status (e.g. a hub repo id or a local folder name). */
  readonly id: string;
  /** The whole file. Throws EngineError('bad-model') when it is missing. */
  read(path: string, options?: { signal?: AbortSignal }): Promise<Uint8Array>;
  /** True when the file exists (used for optional files and external data). */
  has(path: string): Promise<boolean>;
  /**
   * Optional: a file-system path the runtime can open by itself (Node folders). Sessions are then created from the
   * path, so onnxruntime-node finds external data next to the model (it cannot take external data as buffers).
   */
  localPath?(path: string): string | null;
  /** Optional: the file's size in bytes without reading it (null when missing); used for memory estimates. */
  size?(path: string): Promise<number | null>;
}
