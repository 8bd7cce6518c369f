// Owns the injected-runtime contracts: the ONNX Runtime surface the engine uses and the backend descriptor.
// Types only: it must not import a concrete runtime (the worker passes onnxruntime-web, Node tests onnxruntime-node).

import type {
  InferenceSession,
  InferenceSessionFactory,
  Tensor,
  TensorConstructor,
} from 'onnxruntime-common';
import type { AdapterInfo, BackendName } from '../shared/protocol';

/** The part of `typeof import('onnxruntime-common')` the engine needs; onnxruntime-node and onnxruntime-web both fit. */
export interface OrtRuntime {
  readonly InferenceSession: InferenceSessionFactory;
  readonly Tensor: TensorConstructor;
}

export type OrtSession = InferenceSession;
export type OrtTensor = Tensor;
export type SessionOptions = InferenceSession.SessionOptions;
export type ExecutionProviderConfig = InferenceSession.ExecutionProviderConfig;

/**
 * How to run sessions on the chosen backend. The worker builds one for WebGPU/WASM, Node tests one for the CPU EP.
 * `keepKvOnDevice` asks for `present.*` outputs as GPU buffers that are fed straight back as `past_key_values.*`.
 */
export interface BackendDescriptor {
  name: BackendName;
  executionProviders: readonly ExecutionProviderConfig[];
  keepKvOnDevice: boolean;
  adapter: AdapterInfo | null;
  shaderF16: boolean;
  /** WASM threads in use (1 when not cross-origin isolated); reported in the status. */
  threads?: number;
  crossOriginIsolated?: boolean;
  /** Extra session options merged into every session (e.g. graphOptimizationLevel, logSeverityLevel). */
  sessionOptions?: SessionOptions;
  /**
   * The GPU device's buffer limits (WebGPU). Every weight becomes one buffer bound as storage, so a tensor over
   * either limit cannot run; the loader refuses such a model before creating its session. Absent: no limit.
   */
  bufferLimits?: BufferLimits;
  /** Why this backend and not the other, when the choice was not the obvious one (shown with the backend). */
  note?: string;
}

/** WebGPU `device.limits` that bound one tensor's size, in bytes. */
export interface BufferLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}
