// Owns the one typed API between the UI and the engine worker, and the events it pushes.
// Pure types and constants: no DOM, no worker globals, no onnxruntime.

import type { Component, Dtype } from './model-layout';

// The model layout's names are part of the API (load options, load results); they live in model-layout.ts.
export type { Component, Dtype } from './model-layout';

export type DtypeChoice = Dtype | Partial<Record<Component, Dtype>>;

/** Reads one of a model's small files (JSON, tokenizer, template) already fetched; null when the model has none. */
export type SmallFileReader = (path: string) => Promise<Uint8Array | null>;

/**
 * A check a download runs once the model's small files are stored and before any weight byte is fetched (the
 * engine's preflight, src/engine/preflight.ts). It throws an EngineError naming why the model cannot run.
 */
export type BeforeWeights = (
  read: SmallFileReader,
  plan: { dtype: Record<Component, Dtype>; signal?: AbortSignal },
) => Promise<void>;

/** Where a model's files come from. All of them end in the weight store before the engine reads them. */
export type ModelRef =
  | { kind: 'hub'; repo: string; revision?: string; endpoint?: string }
  | { kind: 'url'; baseUrl: string; id?: string }
  | { kind: 'local'; id: string };

export type BackendName = 'webgpu' | 'wasm' | 'cpu';

export interface LoadOptions {
  dtype?: DtypeChoice;
  /** 'auto' picks WebGPU when an adapter exists, else WASM. */
  device?: BackendName | 'auto';
  /**
   * Bytes of KV cache kept between turns for recently used conversations (the settings' cache budget). 0 keeps
   * none: every turn prefills its whole prompt again. Default: the engine's own (512 MiB).
   */
  kvCacheBudgetBytes?: number;
}

/**
 * The whole download (every file of the model), in bytes. `total` grows when bytes must be fetched again (a lost
 * partial chunk, a file that failed its hash), so `loaded` never goes backwards and ends equal to `total`.
 */
export interface OverallProgress {
  loaded: number;
  total: number;
  bytesPerS?: number;
  etaS?: number;
}

/** Progress of downloading, verifying and instantiating a model, counted in bytes. */
export type LoadProgressEvent =
  | { kind: 'file-start'; file: string; loaded: number; total: number; overall: OverallProgress }
  | {
      kind: 'file-progress';
      file: string;
      loaded: number;
      total: number;
      bytesPerS?: number;
      etaS?: number;
      overall: OverallProgress;
    }
  | { kind: 'file-done'; file: string; loaded: number; total: number; overall: OverallProgress }
  | { kind: 'verified'; file: string; loaded: number; total: number; overall: OverallProgress }
  | { kind: 'session'; file: string; loaded: number; total: number }
  | { kind: 'ready'; file: ''; loaded: number; total: number };

export interface RawImage {
  width: number;
  height: number;
  /** RGBA, row-major, 4 bytes a pixel. */
  data: Uint8ClampedArray | Uint8Array;
}

/** An image as the UI hands it over: a file, a decoded bitmap, a data URL or raw RGBA pixels. */
export type ImageInput = Blob | ImageBitmap | string | RawImage;

export type ContentPart = { type: 'text'; text: string } | { type: 'image'; image: ImageInput };

/**
 * The ids a model generated for an answer (ChatResult.message.tokens). Kept with the answer and sent back with it, they
 * let a later prompt feed the model exactly what it wrote, instead of tokenising the text again (which usually gives
 * other, often many more, ids), also after a reload or on another branch of the chat.
 */
export interface AnswerTokens {
  /** The model (EngineStatus.model.id) whose tokenizer the ids belong to; other models tokenise the text. */
  model: string;
  ids: number[];
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string | ContentPart[];
  /** On an assistant message: the ids its model generated for this very text. */
  tokens?: AnswerTokens;
}

export interface SamplingOptions {
  /** 0 (the default) means greedy. */
  temperature?: number;
  topP?: number;
  topK?: number;
  repetitionPenalty?: number;
  seed?: number;
  maxNewTokens?: number;
  /** Generation stops when the text ends with one of these; the stop string is not returned. */
  stop?: string[];
}

/** Conversation templates: the model's own chat_template, or LLaVA's Vicuna v1 / LLaVA v1 formats. */
export type TemplateName = 'model' | 'vicuna_v1' | 'llava_v1';

/** What `prepare` left ready for the next `chat` of that conversation. */
export interface PrepareResult {
  /** Prompt tokens now held in the conversation's KV cache. */
  cachedTokens: number;
}

export interface ChatRequest {
  messages: ChatMessage[];
  sampling?: SamplingOptions;
  template?: TemplateName;
  /** Lets the engine keep this conversation's KV cache for the next turn. */
  conversationId?: string;
  /** Changes the KV cache budget (as LoadOptions.kvCacheBudgetBytes) from this request on. */
  kvCacheBudgetBytes?: number;
  /**
   * What to do when the conversation leaves too little room for an answer. 'error' (the default) answers while the
   * prompt leaves room for one token and otherwise throws context-overflow. 'drop-oldest-turns' leaves whole middle
   * turns (a question and its answer) out of the prompt, oldest first, until the answer has room
   * (min(maxNewTokens, max(64, context / 4)) tokens), and then some more, so the next turns keep the same prompt start
   * and reuse its KV cache. System messages, the first question and its answer, the last question and any message
   * with a picture are always kept, except that as a last resort, when nothing else is left to leave out, the answer
   * to the first question goes too (the question and its picture stay). It still throws context-overflow when even
   * that prompt fills the window. `prepare` shortens its draft's conversation the same way.
   */
  contextOverflow?: 'drop-oldest-turns' | 'error';
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  timeToFirstTokenMs: number;
  decodeTokensPerS: number;
  /** Prompt tokens whose KV cache was reused instead of prefilled again. */
  reusedPromptTokens?: number;
  /**
   * Messages of the conversation left out of this answer's prompt to fit the context window
   * (`contextOverflow: 'drop-oldest-turns'`); absent when none were.
   */
  droppedMessages?: number;
  /** The model's context window in tokens (prompt and answer together), set by `chat`. */
  contextLength?: number;
  /**
   * The most tokens this answer could have: the request's maxNewTokens, or the room the prompt left in the context
   * window when that was less. An answer that ended with 'length' reached it.
   */
  maxNewTokens?: number;
}

export type FinishReason = 'stop' | 'length' | 'abort';

/** Pushed during a chat, throttled to about one event per animation frame. */
export type GenerationEvent =
  | { kind: 'token'; text: string }
  | { kind: 'done'; usage: Usage; finishReason: FinishReason }
  | { kind: 'device-lost'; message: string };

export interface ChatResult {
  /** `tokens` is absent when the ids do not spell the text exactly (e.g. a stop string cut it). */
  message: { role: 'assistant'; content: string; tokens?: AnswerTokens };
  usage: Usage;
  finishReason: FinishReason;
}

export interface AdapterInfo {
  vendor: string;
  architecture: string;
  description: string;
  isFallbackAdapter: boolean;
}

export interface EngineStatus {
  backend: BackendName | null;
  adapter: AdapterInfo | null;
  shaderF16: boolean;
  crossOriginIsolated: boolean;
  threads: number;
  /** Why the backend in use was chosen, when Auto passed over an adapter (e.g. a software WebGPU one). */
  backendNote?: string;
  model: { id: string; dtype: Record<Component, Dtype>; maxImages: number; contextLength: number } | null;
  /** Bytes of weights held by the loaded sessions. */
  memoryEstimateBytes: number;
  /** What the reuse caches hold now. */
  cache?: CacheStatus;
}

/** The KV and image-feature caches that make follow-up turns fast. */
export interface CacheStatus {
  /** Bytes of KV tensors kept for recent conversations, and the budget they must fit between turns. */
  kvBytes: number;
  kvBudgetBytes: number;
  /** Conversations with cached KV. */
  conversations: number;
  /** Images whose features are cached, and their bytes. */
  images: number;
  imageBytes: number;
}

export interface OperationOptions<E> {
  signal?: AbortSignal;
  onEvent?: (event: E) => void;
}

/**
 * The engine as the UI sees it. The worker exposes an object that satisfies it; the UI wraps it with comlink.
 * Errors reject as EngineError (its `code` survives the boundary); aborts reject with DOMException('AbortError').
 */
export interface EngineApi {
  /**
   * Downloads (or finds in the weight store) and instantiates a model. Throws download-failed, integrity,
   * quota-exceeded, webgpu-unavailable, bad-model, unsupported (a weight over the GPU's buffer limits), device-lost or
   * inference-failed (a GPU fault while building). A failed load keeps the model loaded before it.
   */
  load(
    model: ModelRef,
    options?: LoadOptions,
    op?: OperationOptions<LoadProgressEvent>,
  ): Promise<EngineStatus>;
  unload(): Promise<void>;
  status(): Promise<EngineStatus>;
  /** Answers the last user message. Throws model-not-loaded, bad-image, context-overflow, inference-failed, device-lost. */
  chat(request: ChatRequest, op?: OperationOptions<GenerationEvent>): Promise<ChatResult>;
  /**
   * Works ahead on a message still being written (the draft as the last user message): encodes its pictures and runs
   * the prompt `chat` would build through the decoder, keeping the logits after it. A `chat` with the same messages
   * then answers without a prefill; one with more words typed runs only what changed. Never generates. Best effort: a
   * caller may ignore its errors (model-not-loaded, bad-image, context-overflow, inference-failed).
   */
  prepare(request: ChatRequest, op?: OperationOptions<never>): Promise<PrepareResult>;
  /** Drops cached KV state and image features (e.g. when a conversation is deleted). */
  forget(conversationId?: string): Promise<void>;
}
