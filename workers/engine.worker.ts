// The engine's module worker: builds the engine and exposes it to the UI's engine client through comlink. Nothing else.
import { expose } from 'comlink';
import type { EngineApi } from '../src/shared/protocol';
import { createWorkerEngine } from './engine-setup';

expose(createWorkerEngine().api satisfies EngineApi);
