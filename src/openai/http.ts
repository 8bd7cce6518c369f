// Owns the OpenAI HTTP API over fetch's Request/Response: routes `/v1/chat/completions` and `/v1/models`, answers JSON
// or server-sent events exactly as api.openai.com does (`data: {chunk}` lines, `data: [DONE]`, errors as JSON
// bodies or `data: {"error": …}` mid-stream). Pure: no service-worker globals, no engine; the caller supplies both.

import { isAbortError } from '../shared/abort';
import type { ChatCompletions } from './completions';
import { invalidRequest, OpenAIApiError, toOpenAIError } from './errors';
import type { ChatCompletionChunk, ModelList } from './types';

export interface OpenAIHttpApi {
  completions: ChatCompletions;
  listModels(): Promise<ModelList>;
}

/** Answers one request; requests outside `basePath` get null (not ours). */
export type OpenAIHttpHandler = (request: Request) => Promise<Response | null>;

const encoder = new TextEncoder();

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' },
  });
}

function errorResponse(error: OpenAIApiError): Response {
  return json(error.status, error.toJSON());
}

function notFound(path: string): OpenAIApiError {
  return new OpenAIApiError(404, {
    message: `Unknown request URL: ${path}. This local server answers /v1/chat/completions and /v1/models.`,
    type: 'invalid_request_error',
    param: null,
    code: 'unknown_url',
  });
}

function wrongMethod(method: string, path: string): OpenAIApiError {
  return new OpenAIApiError(405, {
    message: `${method} is not allowed on ${path}.`,
    type: 'invalid_request_error',
    param: null,
    code: 'method_not_allowed',
  });
}

function sseEvent(data: unknown): Uint8Array {
  return encoder.encode(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
}

/** The chunks as an SSE body; cancelling the body (the client hung up) ends the generation. */
function sseBody(chunks: AsyncIterable<ChatCompletionChunk>): ReadableStream<Uint8Array> {
  const iterator = chunks[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await iterator.next();
        if (next.done) {
          controller.enqueue(sseEvent('[DONE]'));
          controller.close();
        } else {
          controller.enqueue(sseEvent(next.value));
        }
      } catch (error) {
        // An abort mid-stream came from this side's reader going away; there is no one left to tell.
        if (!isAbortError(error)) controller.enqueue(sseEvent(toOpenAIError(error).toJSON()));
        controller.close();
      }
    },
    async cancel() {
      await iterator.return?.();
    },
  });
}

async function readJson(request: Request): Promise<unknown> {
  const text = await request.text();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw invalidRequest(
      null,
      'invalid_json',
      'We could not parse the JSON body of your request. Send a JSON object with Content-Type: application/json.',
    );
  }
}

/**
 * Creates the handler. `basePath` is where the API lives on this origin (default '/v1', as in OpenAI's base URL).
 * The request's own `signal` aborts a generation in flight.
 */
export function createOpenAIHttpHandler(api: OpenAIHttpApi, basePath = '/v1'): OpenAIHttpHandler {
  const base = basePath.replace(/\/+$/, '');
  return async (request) => {
    const path = new URL(request.url).pathname;
    if (path !== base && !path.startsWith(`${base}/`)) return null;
    const route = path.slice(base.length).replace(/\/+$/, '');
    try {
      if (route === '/chat/completions') {
        if (request.method !== 'POST') throw wrongMethod(request.method, path);
        const body = await readJson(request);
        const answer = await api.completions.create(body as never, { signal: request.signal });
        if (Symbol.asyncIterator in answer) {
          return new Response(sseBody(answer), {
            status: 200,
            headers: { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache' },
          });
        }
        return json(200, answer);
      }
      if (route === '/models' || route.startsWith('/models/')) {
        if (request.method !== 'GET') throw wrongMethod(request.method, path);
        const list = await api.listModels();
        if (route === '/models') return json(200, list);
        const id = decodeURIComponent(route.slice('/models/'.length));
        const model = list.data.find((m) => m.id === id);
        if (!model)
          throw new OpenAIApiError(404, {
            message: `The model '${id}' does not exist here.`,
            type: 'invalid_request_error',
            param: 'model',
            code: 'model_not_found',
          });
        return json(200, model);
      }
      throw notFound(path);
    } catch (error) {
      if (isAbortError(error)) return json(499, toOpenAIError(error).toJSON());
      return errorResponse(toOpenAIError(error));
    }
  };
}
