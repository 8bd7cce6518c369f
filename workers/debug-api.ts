// Owns the shape of the test-only debug hooks that debug-engine.worker.ts adds beside the EngineApi.
// Types only; the product worker (engine.worker.ts) exposes none of this.

/** What the instrumented worker counted since it started. */
export interface DebugCounters {
  /** Model sources opened (one per load, from the engine's point of view). */
  sourcesOpened: number;
  /** Files read through those sources. */
  filesRead: number;
  /** ONNX sessions created. */
  sessionsCreated: number;
}

/** Reachable only in test builds, beside the EngineApi methods of the debug worker. */
export interface DebugApi {
  debugCounters(): DebugCounters;
  /** Destroys the GPU device in use (as a driver reset would); false when none is in use. */
  debugLoseDevice(): boolean;
  /** Kills the worker the way a fatal error would: an uncaught error, then the worker closes. */
  debugCrash(): void;
  /** The ORT runtime file URLs the worker was configured with. */
  debugOrtFiles(): { mjs: string; wasm: string };
}
