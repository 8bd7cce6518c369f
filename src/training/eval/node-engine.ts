// Owns starting our engine under Node for evaluation: onnxruntime-node on the CPU EP over a model folder. It adds
// nothing to the engine; images are handed over as raw RGBA, so no decoder is needed. Node-only.

import * as ort from 'onnxruntime-node';
import { createEngine } from '../../engine/engine';
import type { ModelSource } from '../../engine/model-source';
import type { BackendDescriptor } from '../../engine/runtime';
import { folderSource } from '../../node/folder-source';
import { EngineError } from '../../shared/errors';
import type { EngineApi } from '../../shared/protocol';

const CPU: BackendDescriptor = {
  name: 'cpu',
  executionProviders: ['cpu'],
  keepKvOnDevice: false,
  adapter: null,
  shaderF16: false,
  sessionOptions: { intraOpNumThreads: 1, interOpNumThreads: 1 },
};

/** A loaded engine over `source` (a folder path or a ModelSource), fp32 weights on the CPU. */
export async function nodeEngine(source: string | ModelSource, signal?: AbortSignal): Promise<EngineApi> {
  const src = typeof source === 'string' ? folderSource(source) : source;
  const engine = createEngine({
    ort,
    openSource: async () => src,
    decodeImage: async () => {
      throw new EngineError('bad-image', 'The evaluation engine takes raw RGBA images only.');
    },
    selectBackend: async () => CPU,
    tokenEventIntervalMs: 1e9,
  });
  await engine.load(
    { kind: 'local', id: src.id },
    { dtype: 'fp32', device: 'cpu' },
    signal ? { signal } : {},
  );
  return engine;
}
