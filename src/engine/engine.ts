// Owns the EngineApi object: load/unload/status/chat/forget over injected runtime, model source, image decoder and
// backend choice; serialises calls and throttles token events. No DOM, no node: imports, no concrete runtime.

import { abortError, throwIfAborted } from '../shared/abort';
import { asEngineError, EngineError } from '../shared/errors';
import type {
  BackendName,
  BeforeWeights,
  ChatRequest,
  ChatResult,
  Component,
  Dtype,
  DtypeChoice,
  EngineApi,
  EngineStatus,
  GenerationEvent,
  ImageInput,
  LoadOptions,
  LoadProgressEvent,
  ModelRef,
  OperationOptions,
  PrepareResult,
  RawImage,
  Usage,
} from '../shared/protocol';
import { chatInput, DEFAULT_MAX_NEW_TOKENS } from './chat-input';
import { ConversationState } from './conversation-state';
import { TextBatcher } from './event-batcher';
import { generateTurn, prefillPrompt } from './generate';
import { loadModel, type LoadedModel } from './model-loader';
import { preflightModel } from './preflight';
import type { ModelSource } from '../shared/model-source';
import type { BackendDescriptor, OrtRuntime } from './runtime';
import { Sampler, samplerSettings } from './sampler';
import type { RecordedAnswer } from './transcript';
import { nextTurnOpening, prefeed, type FinishedTurn } from './turn-close';

/** What the engine is built from; the worker passes browser implementations, Node tests local ones. */
export interface EngineDeps {
  ort: OrtRuntime;
  /**
   * Finds (downloading and verifying if needed) the model's files. Reports download progress. `dtype` is the load's
   * precision choice, so that a store fetches only the graphs the engine will open.
   */
  openSource(
    model: ModelRef,
    op: {
      signal?: AbortSignal;
      onProgress?: (e: LoadProgressEvent) => void;
      dtype?: DtypeChoice;
      /** The engine's preflight: a store that downloads runs it between the small files and the weights. */
      beforeWeights?: BeforeWeights;
    },
  ): Promise<ModelSource>;
  /** Decodes a Blob / ImageBitmap / data URL into RGBA. Throw EngineError('bad-image') when it cannot. */
  decodeImage(input: ImageInput, signal?: AbortSignal): Promise<RawImage>;
  /** Picks the backend for a requested device ('auto' = WebGPU when available, else WASM). */
  selectBackend(requested: BackendName | 'auto'): Promise<BackendDescriptor>;
  /** Milliseconds clock (performance.now by default). */
  now?(): number;
  /** Conversations whose KV cache is kept at once (default 8; the byte budget usually binds first). */
  maxCachedConversations?: number;
  /** Bytes of KV cache kept between turns (default {@link DEFAULT_KV_CACHE_BYTES}); LoadOptions and ChatRequest override it. */
  kvCacheBudgetBytes?: number;
  /** Images whose features are kept (default 16), and their most bytes (default 256 MiB). */
  maxCachedImages?: number;
  featureCacheBytes?: number;
  /**
   * After an answer, run the ids every follow-up starts with (end of turn, the opening of the next user message)
   * through the decoder before the next call, so follow-ups prefill only their own words (default true).
   */
  prefeedNextTurn?: boolean;
  /** Minimum milliseconds between token events (default 16, about one animation frame). */
  tokenEventIntervalMs?: number;
  /**
   * Tokenise prompts piece by piece, keeping each conversation's finished pieces (default true), so a turn costs
   * work for what changed. Off tokenises every prompt whole, as before: the long-chat benchmark compares the two.
   */
  incrementalPrompt?: boolean;
}

/** What a loaded model was built from: enough to build it again without downloading. */
interface LoadedFrom {
  source: ModelSource;
  backend: BackendDescriptor;
  dtype: Record<Component, Dtype>;
}

/** Default answer length when the request gives none. */
export { DEFAULT_MAX_NEW_TOKENS } from './chat-input';
/** KV cache kept between turns unless the caller sets a budget: a few long chats of a 7B model, many of a small one. */
export const DEFAULT_KV_CACHE_BYTES = 512 * 1024 * 1024;
const ANONYMOUS = '\u0000anonymous';

/**
 * The generated ids of an answer, when the next prompt may use them in place of re-tokenising its text: they must
 * spell exactly the text the caller got back (not so after a stop string cut it) and hold no image placeholder.
 */
function reusableAnswer(ids: readonly number[], text: string, m: LoadedModel): RecordedAnswer | null {
  if (ids.includes(m.config.imageTokenId)) return null;
  return m.tokenizer.decode(ids) === text ? { text, ids } : null;
}

/**
 * Creates the engine. Calls run one at a time in arrival order; an aborted chat rejects with an AbortError after
 * flushing its text and sending `{kind: 'done', finishReason: 'abort'}`, and keeps the model loaded.
 */
export function createEngine(deps: EngineDeps): EngineApi {
  const now = deps.now ?? (() => globalThis.performance.now());
  const state = new ConversationState({
    maxKvConversations: deps.maxCachedConversations,
    kvBudgetBytes: deps.kvCacheBudgetBytes ?? DEFAULT_KV_CACHE_BYTES,
    maxImages: deps.maxCachedImages,
    imageBytes: deps.featureCacheBytes,
    incrementalPrompt: deps.incrementalPrompt,
  });
  const { kv: kvStore, features } = state;
  let model: LoadedModel | null = null;
  let loadedFrom: LoadedFrom | null = null;
  let queue: Promise<unknown> = Promise.resolve();

  function serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = queue.then(fn, fn);
    queue = run.catch(() => undefined);
    return run;
  }

  async function dropModel(): Promise<void> {
    state.forget();
    const m = model;
    model = null;
    loadedFrom = null;
    if (m) await m.release();
  }

  /**
   * Builds the previous model again after a load failed past the point of releasing it. Its files are already
   * cached, so only sessions are made; no signal, since the caller's abort was for the new model. When even this
   * fails, no model is the honest state, and the caller still sees the first error.
   */
  async function restore(previous: LoadedFrom): Promise<void> {
    try {
      model = await loadModel({ ort: deps.ort, ...previous });
      loadedFrom = previous;
    } catch {
      model = null;
    }
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
      ...(b?.note ? { backendNote: b.note } : {}),
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
      cache: {
        kvBytes: kvStore.totalBytes,
        kvBudgetBytes: kvStore.budget,
        conversations: kvStore.size,
        images: features.size,
        imageBytes: features.totalBytes,
      },
    };
  }

  async function setBudget(bytes: number | undefined): Promise<void> {
    if (bytes === undefined || bytes === kvStore.budget) return;
    kvStore.setBudget(bytes);
    await kvStore.settle(deps.ort);
  }

  /** The request's input (see {@link chatInput}); remembers the turns it left out to fit the window. */
  async function turnInputOf(
    m: LoadedModel,
    request: ChatRequest,
    conversation: string,
    signal?: AbortSignal,
  ) {
    const memory = state.memory(conversation);
    const built = await chatInput(m, request, memory, { decodeImage: deps.decodeImage, features }, signal);
    memory.droppedTurns = built.droppedTurns;
    // Off, every turn measures the whole conversation again, as before (the long-chat benchmark's baseline).
    if (deps.incrementalPrompt !== false) memory.wholePrompt = built.wholePrompt;
    return { ...built, transcript: memory.transcript };
  }

  /**
   * Prefills the prompt `chat` would build for this request (the draft as the last user message, its pictures
   * encoded) and keeps the logits after it: sent unchanged, the answer starts at once; typed on, the next call or the
   * chat cuts the cache back to what still matches (the draft's earlier words) and runs only the rest.
   */
  async function prepare(request: ChatRequest, op: OperationOptions<never> = {}): Promise<PrepareResult> {
    const { signal } = op;
    throwIfAborted(signal);
    const m = model;
    if (!m) throw new EngineError('model-not-loaded', 'No model is loaded. Load a model first.');
    if (request.messages[request.messages.length - 1]?.role !== 'user') return { cachedTokens: 0 };
    await setBudget(request.kvCacheBudgetBytes);
    const conversation = request.conversationId ?? ANONYMOUS;
    const { input } = await turnInputOf(m, request, conversation, signal);
    throwIfAborted(signal);
    const kv = state.kvOf(conversation);
    try {
      // Runs nothing when the cache already holds this prompt and the logits after it (the same draft again).
      await prefillPrompt(deps.ort, m.decoder, m.config.text.hiddenSize, kv, input);
    } catch (error) {
      kv.clear();
      throw asEngineError(error, 'inference-failed', 'Working ahead on the message failed.');
    } finally {
      await kvStore.settle(deps.ort);
    }
    return { cachedTokens: kvStore.holds(conversation) ? kv.length : 0 };
  }

  /** Runs in the call queue right after a chat: extends its cache with what every follow-up starts with. */
  async function closeTurn(m: LoadedModel, conversation: string, turn: FinishedTurn): Promise<void> {
    if (model !== m || !kvStore.holds(conversation)) return;
    const kv = state.kvOf(conversation);
    try {
      const opening = nextTurnOpening(m, state.memory(conversation).transcript, turn);
      // A conversation that filled the window has no position left for the next turn's opening.
      if (opening && opening.length < m.config.text.contextLength) {
        await prefeed(m.decoder, kv, opening, turn.spans);
      }
    } catch {
      // Only a head start was lost: the next turn prefills these ids itself.
      kv.clear();
    }
    await kvStore.settle(deps.ort);
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
    await setBudget(request.kvCacheBudgetBytes);
    const conversation = request.conversationId ?? ANONYMOUS;
    const { input, transcript, messages, droppedMessages } = await turnInputOf(
      m,
      request,
      conversation,
      signal,
    );
    const { resolved } = input;
    const s = request.sampling ?? {};
    const context = m.config.text.contextLength;
    const batcher = new TextBatcher(
      (text) => onEvent?.({ kind: 'token', text }),
      now,
      deps.tokenEventIntervalMs ?? 16,
    );
    // No more than the window holds: prompt + answer stay within the context, and a full window ends the answer with
    // 'length' (buildTurnInput already refused a prompt that leaves no room for one token). Usage reports both
    // limits, so the caller can say which one ended an answer.
    const budget = Math.max(
      1,
      Math.min(s.maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS, context - input.ids.length),
    );
    const kv = state.kvOf(conversation);
    let result;
    try {
      result = await generateTurn(deps.ort, m.decoder, m.config.text.hiddenSize, kv, input, {
        sampler: new Sampler(samplerSettings(s)),
        maxNewTokens: budget,
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
      if (resolved) transcript.record(resolved, null);
      await kvStore.settle(deps.ort);
      throw asEngineError(
        error,
        'inference-failed',
        'Generating the answer failed. Try again or reload the model.',
      );
    }
    const reusable = reusableAnswer(result.ids, result.text, m);
    if (resolved) transcript.record(resolved, reusable);
    batcher.flush();
    const usage: Usage = { ...result.usage, contextLength: context, maxNewTokens: budget };
    if (droppedMessages > 0) usage.droppedMessages = droppedMessages;
    onEvent?.({ kind: 'done', usage, finishReason: result.finishReason });
    // After 'done': fitting the caches into the budget may copy tensors and is no part of the answer.
    await kvStore.settle(deps.ort);
    if (deps.prefeedNextTurn !== false && resolved && kvStore.holds(conversation)) {
      const finished: FinishedTurn = {
        // What the prompt kept, so the head start matches the next prompt when it leaves out the same turns. A copy:
        // callers may append the answer and the next question to their array as soon as this returns.
        messages: [...messages],
        template: request.template ?? 'model',
        answer: result.text,
        imageKeys: resolved.imageKeys,
        features: input.features,
        spans: input.spans,
      };
      void serial(() => closeTurn(m, conversation, finished)).catch(() => undefined);
    }
    if (result.finishReason === 'abort') throw abortError(signal?.reason);
    return {
      message: {
        role: 'assistant',
        content: result.text,
        ...(reusable ? { tokens: { model: m.id, ids: [...reusable.ids] } } : {}),
      },
      usage,
      finishReason: result.finishReason,
    };
  }

  return {
    load: (ref: ModelRef, options: LoadOptions = {}, op: OperationOptions<LoadProgressEvent> = {}) =>
      serial(async () => {
        const { signal, onEvent } = op;
        throwIfAborted(signal);
        const progress = onEvent ? { onProgress: onEvent } : {};
        // The backend first: a download's preflight checks the weights against its GPU's buffer limits.
        const backend = await deps.selectBackend(options.device ?? 'auto');
        // Files next, while the current model stays loaded: a failed, refused or aborted download costs nothing.
        const source = await deps.openSource(ref, {
          ...(signal ? { signal } : {}),
          ...progress,
          ...(options.dtype !== undefined ? { dtype: options.dtype } : {}),
          beforeWeights: async (read, plan) => {
            await preflightModel(read, { dtype: plan.dtype, bufferLimits: backend.bufferLimits, signal });
          },
        });
        throwIfAborted(signal);
        const previous: LoadedFrom | null = model && loadedFrom;
        // Two models rarely fit in memory at once: the old sessions go before the new ones are built.
        await dropModel();
        try {
          model = await loadModel({
            ort: deps.ort,
            source,
            backend,
            ...(options.dtype ? { dtype: options.dtype } : {}),
            ...(signal ? { signal } : {}),
            ...progress,
          });
        } catch (error) {
          if (previous) await restore(previous);
          throw error;
        }
        loadedFrom = { source, backend, dtype: { ...model.dtypes } };
        if (options.kvCacheBudgetBytes !== undefined) kvStore.setBudget(options.kvCacheBudgetBytes);
        return status();
      }),
    unload: () => serial(dropModel),
    status: () => Promise.resolve(status()),
    chat: (request, op) => serial(() => chat(request, op)),
    prepare: (request, op) => serial(() => prepare(request, op)),
    forget: (conversationId?: string) => serial(async () => state.forget(conversationId)),
  };
}
