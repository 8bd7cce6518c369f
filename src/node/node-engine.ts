// Owns running the engine core under Node: onnxruntime-node on its CPU execution provider over a model folder (or any
// ModelSource). It adds nothing to the engine; images are raw RGBA unless the caller hands a decoder. Node-only:
// tests, command-line tools and the library's Node entry build their engines here.
import * as ort from 'onnxruntime-node';
import { createEngine, type EngineDeps } from '../engine/engine';
import type { ModelSource } from '../engine/model-source';
import type { BackendDescriptor } from '../engine/runtime';
import { EngineError } from '../shared/errors';
import type { EngineApi, LoadOptions } from '../shared/protocol';
import { folderSource } from './folder-source';

/** onnxruntime-node's CPU EP: no device, no half-precision shaders, KV tensors kept in ordinary memory. */
export const NODE_CPU_BACKEND: BackendDescriptor = {
  name: 'cpu',
  executionProviders: ['cpu'],
  keepKvOnDevice: false,
  adapter: null,
  shaderF16: false,
};

/** Engine dependencies to replace (e.g. an instrumented runtime, a picture decoder); the source stays fixed. */
export type NodeEngineOptions = Partial<Omit<EngineDeps, 'openSource'>>;

/**
 * An engine over `source` (a folder path or a ModelSource) on the CPU; load it with any ref (the source is fixed).
 * Images other than raw RGBA are refused as `bad-image` unless `options.decodeImage` is given.
 */
export function createNodeEngine(source: string | ModelSource, options: NodeEngineOptions = {}): EngineApi {
  const src = typeof source === 'string' ? folderSource(source) : source;
  return createEngine({
    ort,
    openSource: async () => src,
    decodeImage: async () => {
      throw new EngineError('bad-image', 'This Node engine takes raw RGBA pixels only.');
    },
    selectBackend: async () => NODE_CPU_BACKEND,
    ...options,
  });
}

/** {@link createNodeEngine}, loaded (fp32 on the CPU unless `load` says otherwise). */
export async function nodeEngine(
  source: string | ModelSource,
  options: NodeEngineOptions & { load?: LoadOptions; signal?: AbortSignal } = {},
): Promise<EngineApi> {
  const { load, signal, ...deps } = options;
  const engine = createNodeEngine(source, deps);
  const id = typeof source === 'string' ? folderSource(source).id : source.id;
  await engine.load(
    { kind: 'local', id },
    load ?? { dtype: 'fp32', device: 'cpu' },
    signal ? { signal } : {},
  );
  return engine;
}
