// Owns assembling the engine inside the worker: ORT settings, backend selector, weight-store source, image decoder, host.
// It must not expose anything itself (the worker entry files do) and holds no test hooks (debug-engine.worker.ts adds them).
import { createEngine } from '../src/engine/engine';
import type { ModelSource } from '../src/engine/model-source';
import type { BackendDescriptor, OrtRuntime } from '../src/engine/runtime';
import type { EngineApi } from '../src/shared/protocol';
import { openCachedSource } from '../src/store';
import type { EnsureCachedOptions } from '../src/store';
import { registerTransferHandlers } from '../src/shared/transfer-handlers';
import { createBackendSelector } from './backend';
import type { BackendSelector } from './backend';
import { decodeImage } from './decode-image';
import { createEngineHost } from './engine-host';
import { configureOrt, type OrtFiles } from './ort-env';
import { yieldingRuntime } from './yielding-runtime';

export interface WorkerEngineOptions {
  /** Wraps the ORT runtime handed to the engine (test builds count sessions with it). */
  wrapRuntime?: (ort: OrtRuntime) => OrtRuntime;
  /** Wraps each model source the engine opens (test builds count reads with it). */
  wrapSource?: (source: ModelSource) => ModelSource;
  /** Rewrites each backend the engine is handed (test builds shrink the GPU's buffer limits with it). */
  wrapBackend?: (backend: BackendDescriptor) => BackendDescriptor;
  /** Weight-store settings for every download (test builds use small chunks and short retries). */
  storeOptions?: Omit<EnsureCachedOptions, 'dtype' | 'signal' | 'onProgress'>;
  /** ORT runtime files other than the ones bundled beside the worker (the library's override). */
  ortFiles?: Partial<OrtFiles>;
}

export interface WorkerEngine {
  /** What the worker exposes: the engine behind its GPU-fault host. */
  api: EngineApi;
  backend: BackendSelector;
}

/** Builds the worker's engine. Call once, at the worker's start. */
export function createWorkerEngine(options: WorkerEngineOptions = {}): WorkerEngine {
  registerTransferHandlers();
  const ort = configureOrt(options.ortFiles);
  const backend = createBackendSelector();
  const wrapSource = options.wrapSource ?? ((source: ModelSource) => source);
  const wrapBackend = options.wrapBackend ?? ((descriptor: BackendDescriptor) => descriptor);
  const runtime = yieldingRuntime(ort);
  const engine = createEngine({
    ort: options.wrapRuntime ? options.wrapRuntime(runtime) : runtime,
    // The load's dtype tells the store which graphs to fetch.
    openSource: async (model, op) =>
      wrapSource(await openCachedSource(model, { ...options.storeOptions, ...op })),
    decodeImage,
    selectBackend: async (requested) => wrapBackend(await backend.select(requested)),
    // The host charges GPU faults to the operation it is running; a turn-closing run in the background after an
    // answer would take faults the host believes happened while idle. Follow-ups still reuse the whole cache and
    // prefill only the few closing ids plus their own words.
    prefeedNextTurn: false,
  });
  return { api: createEngineHost(engine, backend), backend };
}
