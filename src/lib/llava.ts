// Owns the embeddable engine: `createLlava` starts the engine worker (bundled with the library), loads a model and
// returns an object that speaks OpenAI's chat API (`chat.completions.create`, `models.list`) plus the engine's own
// extras under their own names. It must not duplicate engine logic: it composes the engine client and src/openai.

import { createEngineClient, type EngineClient, type EngineNotice } from '../client/engine-client';
import {
  createChatCompletions,
  translateRequest,
  type ChatCompletions,
  type RequestOptions,
} from '../openai/completions';
import { OpenAIApiError } from '../openai/errors';
import { createOpenAIHttpHandler, type OpenAIHttpHandler } from '../openai/http';
import { modelList } from '../openai/models';
import { DEFAULT_BASE_PATH } from '../openai/relay-protocol';
import type { ChatCompletionCreateParams, ModelList } from '../openai/types';
import type {
  BackendName,
  DtypeChoice,
  EngineStatus,
  LoadOptions,
  LoadProgressEvent,
  ModelRef,
  PrepareResult,
} from '../shared/protocol';
import {
  CATALOG,
  deleteCachedModel,
  listCachedModels,
  verifyCachedModel,
  type CachedModelSummary,
  type VerifyReport,
} from '../store';
import { modelRefOf } from './model-spec';
import { serveRelayedRequests, type MessageSource } from './serve';
import { workerName, type LibraryWorkerOptions } from './worker-options';

export interface LoadModelOptions {
  dtype?: DtypeChoice;
  /** 'auto' (default) picks WebGPU when the browser has an adapter, else WASM. */
  device?: BackendName | 'auto';
  /** Bytes of KV cache kept for follow-up questions (default 512 MiB). */
  kvCacheBudgetBytes?: number;
  onProgress?: (event: LoadProgressEvent) => void;
  signal?: AbortSignal;
}

export interface CreateLlavaOptions extends LoadModelOptions {
  /**
   * The model: a hub repository ('llava-hf/llava-interleave-qwen-0.5b-hf'), the URL of a model folder (absolute or
   * relative to the page), or a ModelRef. Left out, no model is loaded until `load`.
   */
  model?: string | ModelRef;
  /** ORT's runtime files, when not served beside the library (URLs, relative to the page). */
  ortFiles?: { mjs?: string; wasm?: string };
  /** Starts the engine worker yourself (e.g. from your own bundle); overrides `ortFiles`. */
  createWorker?: () => Worker;
}

export interface ServeOptions {
  /** Where the service worker's route answers (default '/v1'). */
  basePath?: string;
  /** Default `navigator.serviceWorker`. */
  source?: MessageSource;
}

/** The engine as a library: OpenAI's chat API, and the engine's own operations. */
export interface Llava {
  chat: { completions: ChatCompletions };
  models: {
    /** The loaded model first, then the catalog's hub models and the models stored in this browser. */
    list(): Promise<ModelList>;
  };
  /** Loads (downloading and verifying once, then from IndexedDB) another model; the one before stays on failure. */
  load(model: string | ModelRef, options?: LoadModelOptions): Promise<EngineStatus>;
  unload(): Promise<void>;
  status(): Promise<EngineStatus>;
  /**
   * Works ahead on a request still being written (the draft as its last user message): pictures are encoded and the
   * prompt prefilled, so the `create` that follows starts answering at once. Never generates.
   */
  prepare(request: ChatCompletionCreateParams, options?: RequestOptions): Promise<PrepareResult>;
  /** Drops the KV cache of one conversation (`llava.conversation_id`), or every cache when left out. */
  forget(conversationId?: string): Promise<void>;
  /** The weights stored in this browser's IndexedDB. */
  cache: {
    list(): Promise<CachedModelSummary[]>;
    delete(id: string): Promise<void>;
    verify(id: string, options?: { signal?: AbortSignal }): Promise<VerifyReport>;
  };
  /** The OpenAI HTTP API over this engine, as a fetch-style handler (what the service-worker route calls). */
  handleRequest: OpenAIHttpHandler;
  /**
   * Answers `/v1/chat/completions` and `/v1/models` on this page's origin through a service worker that registered
   * the route (`registerOpenAIRoute`), so the official `openai` client works with `baseURL` changed. Returns stop.
   */
  serveOpenAI(options?: ServeOptions): () => void;
  onNotice(listener: (notice: EngineNotice) => void): () => void;
  /** Stops the worker. */
  dispose(): void;
}

function defaultWorker(options: LibraryWorkerOptions): Worker {
  return new Worker(new URL('../../workers/library.worker.ts', import.meta.url), {
    type: 'module',
    name: workerName(options),
  });
}

function absolute(url: string | undefined): string | undefined {
  const page = (globalThis as { location?: { href?: string } }).location?.href;
  return url === undefined || !page ? url : new URL(url, page).href;
}

function loadOptionsOf(options: LoadModelOptions): LoadOptions {
  const load: LoadOptions = {};
  if (options.dtype !== undefined) load.dtype = options.dtype;
  if (options.device !== undefined) load.device = options.device;
  if (options.kvCacheBudgetBytes !== undefined) load.kvCacheBudgetBytes = options.kvCacheBudgetBytes;
  return load;
}

/**
 * Starts the engine and, when `model` is given, loads it (reporting `onProgress`). Rejects with EngineError (branch
 * on `code`) when the model cannot be loaded, and with AbortError when `signal` fires.
 */
export async function createLlava(options: CreateLlavaOptions = {}): Promise<Llava> {
  const workerOptions: LibraryWorkerOptions = {};
  const mjs = absolute(options.ortFiles?.mjs);
  const wasm = absolute(options.ortFiles?.wasm);
  if (mjs !== undefined || wasm !== undefined)
    workerOptions.ortFiles = { ...(mjs ? { mjs } : {}), ...(wasm ? { wasm } : {}) };
  const client: EngineClient = createEngineClient({
    createWorker: options.createWorker ?? (() => defaultWorker(workerOptions)),
  });
  const completions = createChatCompletions({ engine: client });

  async function load(model: string | ModelRef, loadOptions: LoadModelOptions = {}): Promise<EngineStatus> {
    const op: { signal?: AbortSignal; onEvent?: (event: LoadProgressEvent) => void } = {};
    if (loadOptions.signal) op.signal = loadOptions.signal;
    if (loadOptions.onProgress) op.onEvent = loadOptions.onProgress;
    return client.load(modelRefOf(model), loadOptionsOf(loadOptions), op);
  }

  async function listModels(): Promise<ModelList> {
    const loaded = (await client.status()).model?.id ?? null;
    // Stored models come from IndexedDB; a page without it (or a private window that refuses it) still lists the rest.
    const cached = await listCachedModels().catch(() => [] as CachedModelSummary[]);
    const hub = CATALOG.filter((entry) => entry.ref.kind === 'hub' && !entry.randomWeights);
    return modelList(loaded, [
      ...cached.filter((m) => m.complete).map((m) => ({ id: m.id, created: Math.floor(m.updatedAt / 1000) })),
      ...hub.map((entry) => ({ id: (entry.ref as { repo: string }).repo })),
    ]);
  }

  const handleRequest = createOpenAIHttpHandler({ completions, listModels });

  const llava: Llava = {
    chat: { completions },
    models: { list: listModels },
    load,
    unload: () => client.unload(),
    status: () => client.status(),
    async prepare(request, requestOptions = {}) {
      const { signal } = requestOptions;
      const { request: engineRequest } = await translateRequest({ engine: client }, request, signal);
      return client.prepare(engineRequest, signal ? { signal } : {});
    },
    forget: (conversationId) => client.forget(conversationId),
    cache: {
      list: () => listCachedModels(),
      delete: (id) => deleteCachedModel(id),
      verify: (id, verifyOptions = {}) => verifyCachedModel(id, verifyOptions),
    },
    handleRequest,
    serveOpenAI(serveOptions = {}) {
      const source = serveOptions.source ?? navigator.serviceWorker;
      if (!source)
        throw new OpenAIApiError(503, {
          message: 'This page has no service worker container (serve it over HTTPS or from localhost).',
          type: 'server_error',
          param: null,
          code: 'no_service_worker',
        });
      const handler =
        serveOptions.basePath === undefined || serveOptions.basePath === DEFAULT_BASE_PATH
          ? handleRequest
          : createOpenAIHttpHandler({ completions, listModels }, serveOptions.basePath);
      return serveRelayedRequests(handler, source);
    },
    onNotice: (listener) => client.onNotice(listener),
    dispose: () => client.dispose(),
  };

  if (options.model !== undefined) {
    try {
      await load(options.model, options);
    } catch (error) {
      client.dispose();
      throw error;
    }
  }
  return llava;
}
