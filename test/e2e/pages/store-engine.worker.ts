// Test builds only: the engine worker assembled as workers/engine-setup.ts does, except that models come through the
// weight store (src/store: download → IndexedDB → ModelSource) with 64 KiB chunks, so that a page reload in the middle
// of the tiny model's download leaves whole chunks to resume from. Only test/e2e/pages/store-e2e-page.ts starts it.
import { expose } from 'comlink';
import { createEngine } from '../../../src/engine/engine';
import type { EngineApi } from '../../../src/shared/protocol';
import { registerTransferHandlers } from '../../../src/shared/transfer-handlers';
import { openCachedSource } from '../../../src/store';
import { createBackendSelector } from '../../../workers/backend';
import { decodeImage } from '../../../workers/decode-image';
import { createEngineHost } from '../../../workers/engine-host';
import { configureOrt } from '../../../workers/ort-env';
import { yieldingRuntime } from '../../../workers/yielding-runtime';

registerTransferHandlers();
const backend = createBackendSelector();
const engine = createEngine({
  ort: yieldingRuntime(configureOrt()),
  openSource: (model, op) =>
    openCachedSource(model, {
      chunkSize: 64 * 1024,
      retryBaseMs: 50,
      ...(op.signal ? { signal: op.signal } : {}),
      ...(op.onProgress ? { onProgress: op.onProgress } : {}),
    }),
  decodeImage,
  selectBackend: (requested) => backend.select(requested),
});

expose(createEngineHost(engine, backend) satisfies EngineApi);
