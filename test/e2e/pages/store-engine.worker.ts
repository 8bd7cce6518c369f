// Test builds only: the product's worker engine (workers/engine-setup.ts) with models coming through the weight store
// in 64 KiB chunks and short retries, so that a page reload in the middle of the tiny model's download leaves whole
// chunks to resume from. Only test/e2e/pages/store-e2e-page.ts starts it.
import { expose } from 'comlink';
import type { EngineApi } from '../../../src/shared/protocol';
import { createWorkerEngine } from '../../../workers/engine-setup';

expose(
  createWorkerEngine({ storeOptions: { chunkSize: 64 * 1024, retryBaseMs: 50 } }).api satisfies EngineApi,
);
