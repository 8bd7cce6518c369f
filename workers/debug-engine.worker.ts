// Test builds only: the engine worker plus the debug hooks of debug-api.ts (counters, run records, buffer limits,
// forced GPU faults, crash). Only test/e2e/pages imports it, so the app's bundle never contains these hooks.
import { expose } from 'comlink';
import type { ModelSource } from '../src/shared/model-source';
import type {
  BackendDescriptor,
  BufferLimits,
  OrtRuntime,
  OrtSession,
  OrtTensor,
} from '../src/engine/runtime';
import type { EngineApi } from '../src/shared/protocol';
import type { ArmedFault, DebugApi, DebugCounters, RunRecord, TensorRecord } from './debug-api';
import { createWorkerEngine } from './engine-setup';
import { ortRuntimeFiles } from './ort-env';
import { withRun } from './yielding-runtime';

const counters: DebugCounters = { sourcesOpened: 0, filesRead: 0, sessionsCreated: 0 };
let runs: RunRecord[] | null = null;
let armed: ArmedFault | null = null;
let lastLimits: BufferLimits | null = null;
let shrunkLimit: number | null = null;
let errorAfterRun = false;

function tensorRecords(tensors: Record<string, unknown>, keep: (name: string) => boolean): TensorRecord[] {
  return Object.entries(tensors)
    .filter(([name]) => keep(name))
    .map(([name, t]) => ({
      name,
      location: (t as OrtTensor).location,
      dims: [...(t as OrtTensor).dims],
    }));
}

/** The session, with each run() recorded while recording is on. */
function recordingSession(session: OrtSession): OrtSession {
  const kind: RunRecord['session'] = session.outputNames.includes('logits')
    ? 'decoder'
    : session.inputNames.includes('pixel_values')
      ? 'vision'
      : 'embed';
  const run = (async (...args: Parameters<OrtSession['run']>) => {
    const outputs = await session.run(...args);
    if (errorAfterRun) {
      errorAfterRun = false;
      gpuError();
    }
    runs?.push({
      session: kind,
      past: tensorRecords(args[0], (name) => name.startsWith('past_key_values.')),
      outputs: tensorRecords(outputs, () => true),
    });
    return outputs;
  }) as OrtSession['run'];
  return withRun(session, run);
}

function loseDevice(): boolean {
  const device = backend.device();
  device?.destroy();
  return device !== null;
}

function gpuError(): boolean {
  const device = backend.device();
  // Both map usages at once are invalid: a validation error outside any error scope, i.e. an uncaptured one.
  device?.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.MAP_WRITE });
  return device !== null;
}

const instrumentedRuntime = (ort: OrtRuntime): OrtRuntime => ({
  Tensor: ort.Tensor,
  InferenceSession: {
    create: (async (...args: Parameters<typeof ort.InferenceSession.create>) => {
      counters.sessionsCreated += 1;
      if (armed && --armed.atSession <= 0) {
        const fault = armed.kind;
        armed = null;
        if (fault === 'lose-device') loseDevice();
        else gpuError();
      }
      return recordingSession(await ort.InferenceSession.create(...args));
    }) as typeof ort.InferenceSession.create,
  },
});

const countingSource = (source: ModelSource): ModelSource => {
  counters.sourcesOpened += 1;
  const counted: ModelSource = {
    id: source.id,
    has: (path) => source.has(path),
    read: (path, options) => {
      counters.filesRead += 1;
      return source.read(path, options);
    },
  };
  if (source.size) counted.size = source.size.bind(source);
  return counted;
};

const limitedBackend = (descriptor: BackendDescriptor): BackendDescriptor => {
  lastLimits = descriptor.bufferLimits ?? null;
  if (shrunkLimit === null || !descriptor.bufferLimits) return descriptor;
  return {
    ...descriptor,
    bufferLimits: { maxBufferSize: shrunkLimit, maxStorageBufferBindingSize: shrunkLimit },
  };
};

const { api, backend } = createWorkerEngine({
  wrapRuntime: instrumentedRuntime,
  wrapSource: countingSource,
  wrapBackend: limitedBackend,
});

const exposed: EngineApi & DebugApi = {
  load: api.load,
  unload: api.unload,
  status: api.status,
  chat: api.chat,
  prepare: api.prepare,
  forget: api.forget,
  debugCounters: () => ({ ...counters }),
  debugLoseDevice: loseDevice,
  debugGpuError(when) {
    if (when === 'now') return gpuError();
    errorAfterRun = backend.device() !== null;
    return errorAfterRun;
  },
  debugArmFault(fault) {
    armed = { ...fault };
  },
  debugCrash() {
    setTimeout(() => {
      self.close();
      throw new Error('simulated engine crash');
    });
  },
  debugOrtFiles: () => ({ ...ortRuntimeFiles }),
  debugRecordRuns(on) {
    const recorded = runs ?? [];
    runs = on ? [] : null;
    return recorded;
  },
  debugBufferLimits: () => lastLimits && { ...lastLimits },
  debugShrinkBufferLimits(bytes) {
    shrunkLimit = bytes;
  },
};

expose(exposed);
