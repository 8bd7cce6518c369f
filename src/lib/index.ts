// The library's public face (`npm run build:lib` → dist-lib/llava.js + .d.ts): the embeddable engine with OpenAI's
// chat API, its types, and the error helpers. Re-exports only; everything lives in its own module.

export { createLlava } from './llava';
export type { CreateLlavaOptions, Llava, LoadModelOptions, ServeOptions } from './llava';
export type { ChatCompletions, RequestOptions } from '../openai/completions';
export { OpenAIApiError, isOpenAIApiError } from '../openai/errors';
export type * from '../openai/types';
export { EngineError, isEngineError } from '../shared/errors';
export type { EngineErrorCode } from '../shared/errors';
export { isAbortError } from '../shared/abort';
export type {
  BackendName,
  Dtype,
  DtypeChoice,
  EngineStatus,
  LoadProgressEvent,
  ModelRef,
  PrepareResult,
} from '../shared/protocol';
export type { EngineNotice } from '../client/engine-client';
export type { CachedModelSummary, VerifyReport } from '../store';
