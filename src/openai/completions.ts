// Owns `chat.completions.create` over the engine's own API: validates the request, resolves picture URLs, runs one
// engine chat and shapes its result as OpenAI's `chat.completion` or a stream of `chat.completion.chunk`s. It is
// runtime-agnostic (the library in a page, Node tests, the HTTP route) and must not know about workers or HTTP.

import { abortError, isAbortError, throwIfAborted } from '../shared/abort';
import { toHex } from '../shared/hex';
import type { ChatMessage, ChatRequest, ChatResult, ContentPart, EngineApi, Usage } from '../shared/protocol';
import { invalidRequest, OpenAIApiError, toOpenAIError } from './errors';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionCreateParams,
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionCreateParamsStreaming,
  ChatFinishReason,
  CompletionUsage,
} from './types';
import { parseChatRequest, type ParsedChatRequest, type PendingMessage } from './validate';

export interface ChatCompletionsDeps {
  engine: Pick<EngineApi, 'chat' | 'status'>;
  /** Fetches a picture's http(s): or blob: URL (default: the global fetch, from the caller's own context). */
  fetchImage?: (url: string, signal?: AbortSignal) => Promise<Blob>;
  /** Wall clock in ms for `created` (default Date.now). */
  now?: () => number;
}

export interface RequestOptions {
  signal?: AbortSignal;
}

export interface ChatCompletions {
  /**
   * Answers the request. Refusals and failures before the first token reject with {@link OpenAIApiError}; an abort
   * rejects (or ends the stream) with DOMException 'AbortError'. A stream resolves once the answer has begun; leaving
   * its loop early stops the generation.
   */
  create(
    body: ChatCompletionCreateParamsStreaming,
    options?: RequestOptions,
  ): Promise<AsyncIterable<ChatCompletionChunk>>;
  create(body: ChatCompletionCreateParamsNonStreaming, options?: RequestOptions): Promise<ChatCompletion>;
  create(
    body: ChatCompletionCreateParams,
    options?: RequestOptions,
  ): Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>>;
}

async function defaultFetchImage(url: string, signal?: AbortSignal): Promise<Blob> {
  const response = await fetch(url, signal ? { signal } : {});
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return response.blob();
}

function completionId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return `chatcmpl-${toHex(bytes)}`;
}

/** OpenAI's usage object from the engine's. */
export function completionUsage(usage: Usage): CompletionUsage {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.promptTokens + usage.completionTokens,
    prompt_tokens_details: { cached_tokens: usage.reusedPromptTokens ?? 0 },
  };
}

/** The engine ends an answer with 'stop' or 'length' (an abort rejects instead). */
function finishReasonOf(result: ChatResult): ChatFinishReason {
  return result.finishReason === 'length' ? 'length' : 'stop';
}

interface Identity {
  id: string;
  created: number;
  model: string;
}

export function completionObject(who: Identity, result: ChatResult): ChatCompletion {
  return {
    ...who,
    object: 'chat.completion',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: result.message.content, refusal: null },
        logprobs: null,
        finish_reason: finishReasonOf(result),
      },
    ],
    usage: completionUsage(result.usage),
  };
}

export function chunkObject(
  who: Identity,
  delta: ChatCompletionChunk['choices'][number]['delta'] | null,
  finish: ChatFinishReason | null,
  includeUsage: boolean,
): ChatCompletionChunk {
  const chunk: ChatCompletionChunk = {
    ...who,
    object: 'chat.completion.chunk',
    // The usage-only chunk that ends a stream has no choices at all, as OpenAI sends it.
    choices: delta === null ? [] : [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  };
  if (includeUsage) chunk.usage = null;
  return chunk;
}

/** Resolves every picture URL in the caller's context (blob: URLs are only valid where they were made). */
async function resolveMessages(
  messages: PendingMessage[],
  fetchImage: (url: string, signal?: AbortSignal) => Promise<Blob>,
  signal: AbortSignal | undefined,
): Promise<ChatMessage[]> {
  const resolved: ChatMessage[] = [];
  for (const message of messages) {
    if (typeof message.content === 'string') {
      resolved.push({ role: message.role, content: message.content });
      continue;
    }
    const parts: ContentPart[] = [];
    for (const part of message.content) {
      if (part.type === 'text') {
        parts.push(part);
        continue;
      }
      const { source } = part;
      // data: URLs go to the engine as they are (it decodes them); other URLs are fetched here.
      if (typeof source !== 'string' || /^data:/i.test(source)) {
        parts.push({ type: 'image', image: source });
        continue;
      }
      try {
        parts.push({ type: 'image', image: await fetchImage(source, signal) });
      } catch (error) {
        throwIfAborted(signal);
        const reason = error instanceof Error ? error.message : String(error);
        throw invalidRequest(
          part.param,
          'invalid_image_url',
          `The picture at '${part.param}' could not be fetched (${reason}).`,
        );
      }
    }
    resolved.push({ role: message.role, content: parts });
  }
  return resolved;
}

function engineRequest(parsed: ParsedChatRequest, messages: ChatMessage[]): ChatRequest {
  const request: ChatRequest = { messages, sampling: parsed.sampling };
  if (parsed.conversationId !== undefined) request.conversationId = parsed.conversationId;
  if (parsed.template !== undefined) request.template = parsed.template;
  if (parsed.contextOverflow !== undefined) request.contextOverflow = parsed.contextOverflow;
  return request;
}

/** A one-reader queue of chunks: the engine pushes, the caller's `for await` pulls. */
class ChunkQueue implements AsyncIterable<ChatCompletionChunk> {
  private readonly items: ChatCompletionChunk[] = [];
  private ended = false;
  private failure: { error: unknown } | null = null;
  private wake: (() => void) | null = null;

  constructor(private readonly stop: () => void) {}

  push(chunk: ChatCompletionChunk): void {
    this.items.push(chunk);
    this.notify();
  }

  end(): void {
    this.ended = true;
    this.notify();
  }

  fail(error: unknown): void {
    this.failure ??= { error };
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<ChatCompletionChunk> {
    try {
      for (;;) {
        const next = this.items.shift();
        if (next) {
          yield next;
          continue;
        }
        if (this.failure) throw this.failure.error;
        if (this.ended) return;
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
    } finally {
      // A reader that leaves early (break, return, throw) wants no more tokens.
      if (!this.ended) this.stop();
    }
  }
}

/**
 * An OpenAI request in the engine's terms, its pictures fetched, checked against the loaded model (also the
 * library's way to `prepare` an OpenAI-shaped draft).
 * @throws OpenAIApiError naming the field at fault; AbortError
 */
export async function translateRequest(
  deps: Pick<ChatCompletionsDeps, 'engine' | 'fetchImage'>,
  body: unknown,
  signal?: AbortSignal,
): Promise<{ parsed: ParsedChatRequest; request: ChatRequest; modelId: string }> {
  const parsed = parseChatRequest(body);
  const loaded = (await deps.engine.status()).model;
  if (!loaded)
    throw new OpenAIApiError(404, {
      message: 'No model is loaded. Load one first (createLlava({model}) or load()).',
      type: 'not_found_error',
      param: 'model',
      code: 'model_not_found',
    });
  if (parsed.model !== undefined && parsed.model !== loaded.id)
    throw new OpenAIApiError(404, {
      message: `The model '${parsed.model}' is not loaded; the loaded model is '${loaded.id}'.`,
      type: 'not_found_error',
      param: 'model',
      code: 'model_not_found',
    });
  const messages = await resolveMessages(parsed.messages, deps.fetchImage ?? defaultFetchImage, signal);
  return { parsed, request: engineRequest(parsed, messages), modelId: loaded.id };
}

/** The OpenAI chat-completions face of an engine. */
export function createChatCompletions(deps: ChatCompletionsDeps): ChatCompletions {
  const now = deps.now ?? Date.now;

  async function prepared(body: unknown, signal: AbortSignal | undefined) {
    const { parsed, request, modelId } = await translateRequest(deps, body, signal);
    const who: Identity = { id: completionId(), created: Math.floor(now() / 1000), model: modelId };
    return { parsed, request, who };
  }

  async function complete(body: unknown, signal: AbortSignal | undefined): Promise<ChatCompletion> {
    const { request, who } = await prepared(body, signal);
    const result = await deps.engine.chat(request, signal ? { signal } : {});
    return completionObject(who, result);
  }

  async function stream(
    body: unknown,
    signal: AbortSignal | undefined,
  ): Promise<AsyncIterable<ChatCompletionChunk>> {
    const { parsed, request, who } = await prepared(body, signal);
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    const queue = new ChunkQueue(() => controller.abort(abortError('The stream was closed by its reader.')));
    const include = parsed.includeUsage;
    let started: () => void = () => {};
    const begun = new Promise<void>((resolve) => (started = resolve));
    let first = true;
    const run = deps.engine
      .chat(request, {
        signal: controller.signal,
        onEvent: (event) => {
          if (event.kind !== 'token' || event.text === '') return;
          if (first) {
            first = false;
            queue.push(chunkObject(who, { role: 'assistant', content: '' }, null, include));
            started();
          }
          queue.push(chunkObject(who, { content: event.text }, null, include));
        },
      })
      .then((result) => {
        if (first) queue.push(chunkObject(who, { role: 'assistant', content: '' }, null, include));
        queue.push(chunkObject(who, {}, finishReasonOf(result), include));
        if (include)
          queue.push({ ...chunkObject(who, null, null, false), usage: completionUsage(result.usage) });
        queue.end();
      })
      .finally(() => signal?.removeEventListener('abort', onAbort));
    // Failures before the first token reject `create` (an HTTP error status); later ones end the stream.
    const outcome = await Promise.race([
      begun.then(() => null),
      run.then(
        () => null,
        (error: unknown) => ({ error }),
      ),
    ]);
    if (outcome) throw isAbortError(outcome.error) ? outcome.error : toOpenAIError(outcome.error);
    run.catch((error: unknown) => queue.fail(isAbortError(error) ? error : toOpenAIError(error)));
    return queue;
  }

  return {
    create: ((body: ChatCompletionCreateParams, options: RequestOptions = {}) => {
      const { signal } = options;
      const go = async () => {
        throwIfAborted(signal);
        try {
          return await (body?.stream === true ? stream(body, signal) : complete(body, signal));
        } catch (error) {
          throw isAbortError(error) ? error : toOpenAIError(error);
        }
      };
      return go();
    }) as ChatCompletions['create'],
  };
}
