// The library's engine worker: the app's engine (engine-setup.ts), with ORT's runtime files taken from where the
// page said (src/lib/worker-options.ts) when it overrides them. Nothing else.
import { expose } from 'comlink';
import { workerOptionsOf } from '../src/lib/worker-options';
import type { EngineApi } from '../src/shared/protocol';
import { createWorkerEngine } from './engine-setup';

const { ortFiles } = workerOptionsOf(self.name);
expose(createWorkerEngine(ortFiles ? { ortFiles } : {}).api satisfies EngineApi);
