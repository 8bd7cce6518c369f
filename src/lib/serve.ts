// Owns the page's side of the service worker's `/v1/*` route: accepts each relayed request, answers it with the
// OpenAI HTTP handler, and streams the response back over the request's MessagePort. It must not reach the network.

import { isAbortError } from '../shared/abort';
import type { OpenAIHttpHandler } from '../openai/http';
import {
  isRelayRequest,
  type RelayCancel,
  type RelayReply,
  type RelayRequest,
} from '../openai/relay-protocol';

/** The part of `navigator.serviceWorker` this needs (tests may pass another). */
export type MessageSource = Pick<
  ServiceWorkerContainer,
  'addEventListener' | 'removeEventListener' | 'startMessages'
>;

function post(port: MessagePort, reply: RelayReply, transfer: Transferable[] = []): void {
  port.postMessage(reply, transfer);
}

async function answer(handler: OpenAIHttpHandler, message: RelayRequest, port: MessagePort): Promise<void> {
  const controller = new AbortController();
  let reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  port.onmessage = (event: MessageEvent<RelayCancel>) => {
    if (event.data.type !== 'cancel') return;
    controller.abort();
    void reader?.cancel();
  };
  try {
    const init: RequestInit = { method: message.method, headers: message.headers, signal: controller.signal };
    if (message.body !== null) init.body = message.body;
    const response =
      (await handler(new Request(message.url, init))) ??
      new Response(
        JSON.stringify({
          error: { message: 'Not found', type: 'invalid_request_error', param: null, code: null },
        }),
        {
          status: 404,
          headers: { 'Content-Type': 'application/json' },
        },
      );
    const headers: [string, string][] = [];
    response.headers.forEach((value, name) => headers.push([name, value]));
    post(port, { type: 'head', status: response.status, headers });
    if (response.body) {
      reader = response.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        post(port, { type: 'chunk', bytes: value }, [value.buffer]);
      }
    }
    post(port, { type: 'end' });
  } catch (error) {
    if (!isAbortError(error))
      post(port, { type: 'error', message: error instanceof Error ? error.message : String(error) });
  } finally {
    port.onmessage = null;
  }
}

/**
 * Answers the service worker's relayed `/v1/*` requests with `handler` until the returned function is called.
 * Requires a service worker that registered the route (workers/openai-route.ts) to control this page.
 */
export function serveRelayedRequests(handler: OpenAIHttpHandler, source: MessageSource): () => void {
  const onMessage = (event: Event) => {
    const { data, ports } = event as MessageEvent<unknown>;
    const port = ports[0];
    if (!isRelayRequest(data) || !port) return;
    post(port, { type: 'accept' });
    void answer(handler, data, port);
  };
  source.addEventListener('message', onMessage);
  // Messages from the service worker wait in a queue until the page says it listens.
  source.startMessages();
  return () => source.removeEventListener('message', onMessage);
}
