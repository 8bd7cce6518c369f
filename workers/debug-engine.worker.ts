// Test builds only: the engine worker plus the `debug` hooks of debug-api.ts (counters, forced device loss, crash).
// Only test/e2e/pages imports it, so the app's bundle never contains these hooks.
import { expose } from 'comlink';
import type { ModelSource } from '../src/engine/model-source';
import type { OrtRuntime } from '../src/engine/runtime';
import type { EngineApi } from '../src/shared/protocol';
import type { DebugApi, DebugCounters } from './debug-api';
import { createWorkerEngine } from './engine-setup';
import { ortRuntimeFiles } from './ort-env';

const counters: DebugCounters = { sourcesOpened: 0, filesRead: 0, sessionsCreated: 0 };

const countingRuntime = (ort: OrtRuntime): OrtRuntime => ({
  Tensor: ort.Tensor,
  InferenceSession: {
    create: ((...args: Parameters<typeof ort.InferenceSession.create>) => {
      counters.sessionsCreated += 1;
      return ort.InferenceSession.create(...args);
    }) as typeof ort.InferenceSession.create,
  },
});

const countingSource = (source: ModelSource): ModelSource => {
  counters.sourcesOpened += 1;
  return {
    id: source.id,
    has: (path) => source.has(path),
    read: (path, options) => {
      counters.filesRead += 1;
      return source.read(path, options);
    },
  };
};

const { api, backend } = createWorkerEngine({ wrapRuntime: countingRuntime, wrapSource: countingSource });

const exposed: EngineApi & DebugApi = {
  load: api.load,
  unload: api.unload,
  status: api.status,
  chat: api.chat,
  forget: api.forget,
  debugCounters: () => ({ ...counters }),
  debugLoseDevice() {
    const device = backend.device();
    device?.destroy();
    return device !== null;
  },
  debugCrash() {
    setTimeout(() => {
      self.close();
      throw new Error('simulated engine crash');
    });
  },
  debugOrtFiles: () => ({ ...ortRuntimeFiles }),
};

expose(exposed);
