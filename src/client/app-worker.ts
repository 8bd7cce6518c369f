// Owns starting the app's engine worker, in a module of its own: Vite emits a worker chunk wherever it sees
// `new Worker(new URL(…))`, so only bundles that import this file (the app) carry the app's worker.

export const appEngineWorker = (): Worker =>
  new Worker(new URL('../../workers/engine.worker.ts', import.meta.url), {
    type: 'module',
    name: 'llava-engine',
  });
