// Owns the Node reference for browser tests: the same engine core on onnxruntime-node over the model folder on disk.
// It must not decode images (tests hand it the raw pixels the browser decodes from PNG) or touch the browser.
import * as ortNode from 'onnxruntime-node';
import { createEngine } from '../../../src/engine/engine';
import { folderSource } from '../../../src/node/folder-source';
import { EngineError } from '../../../src/shared/errors';
import type { EngineApi } from '../../../src/shared/protocol';

/** An engine on onnxruntime-node's CPU EP reading `dir`; load it with any ref (the folder is fixed). */
export function createNodeEngine(dir: string): EngineApi {
  return createEngine({
    ort: ortNode,
    openSource: async () => folderSource(dir),
    decodeImage: async () => {
      throw new EngineError('bad-image', 'The Node reference takes raw RGBA pixels only.');
    },
    selectBackend: async () => ({
      name: 'cpu',
      executionProviders: ['cpu'],
      keepKvOnDevice: false,
      adapter: null,
      shaderF16: false,
    }),
  });
}
