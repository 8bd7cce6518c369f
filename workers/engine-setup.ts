// Owns assembling the engine inside the worker: ORT settings, backend selector, weight-store source, image decoder, host.
// It must not expose anything itself (the worker entry files do) and holds no test hooks (debug-engine.worker.ts adds them).
import { createEngine } from '../src/engine/engine';
import type { ModelSource } from '../src/engine/model-source';
import type { OrtRuntime } from '../src/engine/runtime';
import type { DtypeChoice, EngineApi, ModelRef } from '../src/shared/protocol';
import { openCachedSource } from '../src/store';
import type { EnsureCachedOptions } from '../src/store';
import { registerTransferHandlers } from '../src/shared/transfer-handlers';
import { createBackendSelector } from './backend';
import type { BackendSelector } from './backend';
import { decodeImage } from './decode-image';
import { createEngineHost } from './engine-host';
import { configureOrt } from './ort-env';
import { yieldingRuntime } from './yielding-runtime';

export interface WorkerEngineOptions {
  /** Wraps the ORT runtime handed to the engine (test builds count sessions with it). */
  wrapRuntime?: (ort: OrtRuntime) => OrtRuntime;
  /** Wraps each model source the engine opens (test builds count reads with it). */
  wrapSource?: (source: ModelSource) => ModelSource;
  /** Weight-store settings for every download (test builds use small chunks and short retries). */
  storeOptions?: Omit<EnsureCachedOptions, 'dtype' | 'signal' | 'onProgress'>;
}

export interface WorkerEngine {
  /** What the worker exposes: the engine behind its device-loss host. */
  api: EngineApi;
  backend: BackendSelector;
}

/** Builds the worker's engine. Call once, at the worker's start. */
export function createWorkerEngine(options: WorkerEngineOptions = {}): WorkerEngine {
  registerTransferHandlers();
  const ort = configureOrt();
  const backend = createBackendSelector();
  const wrapSource = options.wrapSource ?? ((source: ModelSource) => source);
  const runtime = yieldingRuntime(ort);
  // The engine opens the source before it picks files, and the store needs the dtype to know which files to fetch.
  // The engine hands openSource the very ModelRef object load() got, so that object carries its load's dtype.
  const dtypeOf = new WeakMap<ModelRef, DtypeChoice>();
  const engine = createEngine({
    ort: options.wrapRuntime ? options.wrapRuntime(runtime) : runtime,
    openSource: async (model, op) => {
      const dtype = dtypeOf.get(model);
      const settings = { ...options.storeOptions, ...op };
      return wrapSource(
        await openCachedSource(model, dtype === undefined ? settings : { ...settings, dtype }),
      );
    },
    decodeImage,
    selectBackend: (requested) => backend.select(requested),
  });
  const dtypeAware: EngineApi = {
    ...engine,
    load: (model, loadOptions, op) => {
      if (loadOptions?.dtype !== undefined) dtypeOf.set(model, loadOptions.dtype);
      return engine.load(model, loadOptions, op);
    },
  };
  return { api: createEngineHost(dtypeAware, backend), backend };
}
