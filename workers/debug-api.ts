// Owns the shape of the test-only debug hooks that debug-engine.worker.ts adds beside the EngineApi.
// Types only; the product worker (engine.worker.ts) exposes none of this.
import type { BufferLimits } from '../src/engine/runtime';

/** What the instrumented worker counted since it started. */
export interface DebugCounters {
  /** Model sources opened (one per load, from the engine's point of view). */
  sourcesOpened: number;
  /** Files read through those sources. */
  filesRead: number;
  /** ONNX sessions created. */
  sessionsCreated: number;
}

/** A tensor as a run saw it: where it lives and its shape. */
export interface TensorRecord {
  name: string;
  location: string;
  dims: number[];
}

/** One session.run(), as recorded while recording is on. */
export interface RunRecord {
  /** Which component ran: the decoder (has logits), the vision encoder, or embed_tokens. */
  session: 'decoder' | 'vision' | 'embed';
  /** The past_key_values.* inputs of a decoder run. */
  past: TensorRecord[];
  /** Every output the run returned. */
  outputs: TensorRecord[];
}

/** A GPU fault to cause while a load creates sessions: before the `atSession`-th session from now. */
export interface ArmedFault {
  kind: 'lose-device' | 'gpu-error';
  atSession: number;
}

/** Reachable only in test builds, beside the EngineApi methods of the debug worker. */
export interface DebugApi {
  debugCounters(): DebugCounters;
  /** Destroys the GPU device in use (as a driver reset would); false when none is in use. */
  debugLoseDevice(): boolean;
  /**
   * Makes the device in use raise a validation error; false when none is in use. 'now' raises it at once (ORT may
   * catch it in an error scope of a run in progress); 'after-run' raises it when the next session run has finished,
   * outside any scope, so that it is an uncaptured error.
   */
  debugGpuError(when: 'now' | 'after-run'): boolean;
  /** Causes `fault` during the next session creations (a load in progress). */
  debugArmFault(fault: ArmedFault): void;
  /** Kills the worker the way a fatal error would: an uncaught error, then the worker closes. */
  debugCrash(): void;
  /** The ORT runtime file URLs the worker was configured with. */
  debugOrtFiles(): { mjs: string; wasm: string };
  /** Starts (clearing) or stops recording session runs; returns what was recorded. */
  debugRecordRuns(on: boolean): RunRecord[];
  /** The buffer limits of the last backend handed to the engine (null on WASM or before any load). */
  debugBufferLimits(): BufferLimits | null;
  /** From the next load on, pretends the GPU's buffer limits are `bytes` (null: the device's own). */
  debugShrinkBufferLimits(bytes: number | null): void;
}
