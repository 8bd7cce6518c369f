// Owns the EngineApi object: load/unload/status/chat/forget over injected runtime, model source, image decoder and
// backend choice; serialises calls and throttles token events. No DOM, no node: imports, no concrete runtime.

import { abortError, isAbortError, throwIfAborted } from '../shared/abort';
import { EngineError, isEngineError } from '../shared/errors';
import type {
  BackendName,
  ChatRequest,
  ChatResult,
  EngineApi,
  EngineStatus,
  GenerationEvent,
  ImageInput,
  LoadOptions,
  LoadProgressEvent,
  ModelRef,
  OperationOptions,
  RawImage,
} from '../shared/protocol';
import { TextBatcher } from './event-batcher';
import { FeatureCache } from './feature-cache';
import { generateTurn } from './generate';
import { preprocessImage, type PixelValues } from './image-preprocess';
import { KvCacheStore } from './kv-cache';
import { loadModel, type LoadedModel } from './model-loader';
import type { ModelSource } from './model-source';
import type { BackendDescriptor, OrtRuntime } from './runtime';
import { Sampler, samplerSettings } from './sampler';
import { buildTurnInput } from './turn-input';

/** What the engine is built from; the worker passes browser implementations, Node tests local ones. */
export interface EngineDeps {
  ort: OrtRuntime;
  /** Finds (downloading and verifying if needed) the model's files. Reports download progress. */
  openSource(
    model: ModelRef,
    op: { signal?: AbortSignal; onProgress?: (e: LoadProgressEvent) => void },
  ): Promise<ModelSource>;
  /** Decodes a Blob / ImageBitmap / data URL into RGBA. Throw EngineError('bad-image') when it cannot. */
  decodeImage(input: ImageInput, signal?: AbortSignal): Promise<RawImage>;
  /** Picks the backend for a requested device ('auto' = WebGPU when available, else WASM). */
  selectBackend(requested: BackendName | 'auto'): Promise<BackendDescriptor>;
  /** Milliseconds clock (performance.now by default). */
  now?(): number;
  /** Conversations whose KV cache is kept at once (default 2). */
  maxCachedConversations?: number;
  /** Images whose features are kept (default 16). */
  maxCachedImages?: number;
  /** Minimum milliseconds between token events (default 16, about one animation frame). */
  tokenEventIntervalMs?: number;
}

/** Default answer length when the request gives none. */
export const DEFAULT_MAX_NEW_TOKENS = 512;
const ANONYMOUS = '\u0000anonymous';

function isRawImage(input: ImageInput): input is RawImage {
  if (typeof input !== 'object' || input === null || !('data' in input)) return false;
  const d = (input as RawImage).data;
  return d instanceof Uint8Array || d instanceof Uint8ClampedArray;
}

function wrapError(error: unknown, code: 'inference-failed' | 'bad-image', message: string): unknown {
  if (isAbortError(error) || isEngineError(error)) return error;
  return new EngineError(code, message, { cause: error });
}

/**
 * Creates the engine. Calls run one at a time in arrival order; an aborted chat rejects with an AbortError after
 * flushing its text and sending `{kind: 'done', finishReason: 'abort'}`, and keeps the model loaded.
 */
export function createEngine(deps: EngineDeps): EngineApi {
  const now = deps.now ?? (() => globalThis.performance.now());
  const features = new FeatureCache(deps.maxCachedImages ?? 16);
  const kvStore = new KvCacheStore(deps.maxCachedConversations ?? 2);
  let model: LoadedModel | null = null;
  let queue: Promise<unknown> = Promise.resolve();

  function serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = queue.then(fn, fn);
    queue = run.catch(() => undefined);
    return run;
  }

  async function dropModel(): Promise<void> {
    kvStore.forget();
    features.clear();
    const m = model;
    model = null;
    if (m) await m.release();
  }

  function status(): EngineStatus {
    const b = model?.backend ?? null;
    const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
    return {
      backend: b?.name ?? null,
      adapter: b?.adapter ?? null,
      shaderF16: b?.shaderF16 ?? false,
      crossOriginIsolated: b?.crossOriginIsolated ?? isolated,
      threads: b?.threads ?? 1,
      model: model && {
        id: model.id,
        dtype: { ...model.dtypes },
        maxImages: Math.max(
          1,
          Math.floor(
            (model.config.text.contextLength - 64) / Math.max(1, model.config.estimatedImageFeatures),
          ),
        ),
        contextLength: model.config.text.contextLength,
      },
      memoryEstimateBytes: model?.bytes ?? 0,
    };
  }

  async function toPixels(input: ImageInput, m: LoadedModel, signal?: AbortSignal): Promise<PixelValues> {
    let raw: RawImage;
    try {
      raw = isRawImage(input) ? input : await deps.decodeImage(input, signal);
    } catch (error) {
      throw wrapError(error, 'bad-image', 'The image could not be read. Try a JPEG or PNG file.');
    }
    return preprocessImage(raw, m.config.image);
  }

  async function chat(request: ChatRequest, op: OperationOptions<GenerationEvent> = {}): Promise<ChatResult> {
    const { signal, onEvent } = op;
    const startedAt = now();
    throwIfAborted(signal);
    const m = model;
    if (!m) throw new EngineError('model-not-loaded', 'No model is loaded. Load a model first.');
    if (!request.messages.some((msg) => msg.role === 'user')) {
      throw new EngineError('inference-failed', 'There is no question to answer. Type a message first.');
    }
    const pixels: PixelValues[] = [];
    for (const msg of request.messages) {
      if (typeof msg.content === 'string') continue;
      for (const part of msg.content)
        if (part.type === 'image') pixels.push(await toPixels(part.image, m, signal));
    }
    let input;
    try {
      input = await buildTurnInput(
        m,
        request.messages,
        request.template ?? 'model',
        pixels,
        features,
        signal,
      );
    } catch (error) {
      throw wrapError(error, 'inference-failed', 'Preparing the prompt failed. Try again.');
    }
    const s = request.sampling ?? {};
    const context = m.config.text.contextLength;
    const batcher = new TextBatcher(
      (text) => onEvent?.({ kind: 'token', text }),
      now,
      deps.tokenEventIntervalMs ?? 16,
    );
    const kv = kvStore.take(request.conversationId ?? ANONYMOUS);
    let result;
    try {
      result = await generateTurn(deps.ort, m.decoder, m.config.text.hiddenSize, kv, input, {
        sampler: new Sampler(samplerSettings(s)),
        maxNewTokens: Math.max(1, s.maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS),
        eosIds: new Set(m.config.eosTokenIds),
        stops: s.stop ?? [],
        contextLength: context,
        decode: m.tokenizer.decode,
        onText: (t) => batcher.push(t),
        now,
        startedAt,
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      batcher.flush();
      throw wrapError(
        error,
        'inference-failed',
        'Generating the answer failed. Try again or reload the model.',
      );
    }
    batcher.flush();
    onEvent?.({ kind: 'done', usage: result.usage, finishReason: result.finishReason });
    if (result.finishReason === 'abort') throw abortError(signal?.reason);
    return {
      message: { role: 'assistant', content: result.text },
      usage: result.usage,
      finishReason: result.finishReason,
    };
  }

  return {
    load: (ref: ModelRef, options: LoadOptions = {}, op: OperationOptions<LoadProgressEvent> = {}) =>
      serial(async () => {
        const { signal, onEvent } = op;
        throwIfAborted(signal);
        await dropModel();
        const progress = onEvent ? { onProgress: onEvent } : {};
        const source = await deps.openSource(ref, { ...(signal ? { signal } : {}), ...progress });
        const backend = await deps.selectBackend(options.device ?? 'auto');
        model = await loadModel({
          ort: deps.ort,
          source,
          backend,
          ...(options.dtype ? { dtype: options.dtype } : {}),
          ...(signal ? { signal } : {}),
          ...progress,
        });
        return status();
      }),
    unload: () => serial(dropModel),
    status: () => Promise.resolve(status()),
    chat: (request, op) => serial(() => chat(request, op)),
    forget: (conversationId?: string) =>
      serial(async () => {
        kvStore.forget(conversationId);
        if (conversationId === undefined) features.clear();
      }),
  };
}
