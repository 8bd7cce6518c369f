// Owns the ModelSource contract: how the engine gets the bytes of a model's files. It never fetches by itself.

/** A model folder in the transformers.js layout, addressed by relative paths such as 'onnx/vision_encoder_q4.onnx'. */
export interface ModelSource {
  /** Stable id used for caches and status (e.g. a hub repo id or a local folder name). */
  readonly id: string;
  /** The whole file. Throws EngineError('bad-model') when it is missing. */
  read(path: string, options?: { signal?: AbortSignal }): Promise<Uint8Array>;
  /** True when the file exists (used for optional files and external data). */
  has(path: string): Promise<boolean>;
}
