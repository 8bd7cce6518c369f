// Owns the opt-in `/v1/*` route of a service worker: requests from a page under it (the official `openai` client with
// `baseURL: location.origin + '/v1'`) are handed to that page, which runs the engine and answers (src/lib/serve.ts);
// the answer streams back as the HTTP response. Nothing leaves the device. A page that does not serve the API does
// not accept, and its request goes to the network as if the route were not there. No engine, no DOM here.

import {
  DEFAULT_BASE_PATH,
  RELAY_REQUEST,
  type RelayCancel,
  type RelayReply,
  type RelayRequest,
} from '../src/openai/relay-protocol';

export interface OpenAIRouteOptions {
  /** Path under the service worker's origin (default '/v1'). */
  basePath?: string;
  /** How long a page has to accept a request before it goes to the network (default 1000 ms). */
  acceptTimeoutMs?: number;
}

function waitForAccept(port: MessagePort, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    port.onmessage = (event: MessageEvent<RelayReply>) => {
      if (event.data.type !== 'accept') return;
      clearTimeout(timer);
      resolve(true);
    };
  });
}

/** The page's answer as a Response whose body streams as the page sends it; cancelling it tells the page. */
function relayedResponse(port: MessagePort): Promise<Response> {
  return new Promise((resolve, reject) => {
    let body: ReadableStreamDefaultController<Uint8Array> | null = null;
    const stream = new ReadableStream<Uint8Array>({
      start: (controller) => void (body = controller),
      cancel: () => {
        port.postMessage({ type: 'cancel' } satisfies RelayCancel);
        port.close();
      },
    });
    port.onmessage = (event: MessageEvent<RelayReply>) => {
      const reply = event.data;
      switch (reply.type) {
        case 'head':
          resolve(new Response(stream, { status: reply.status, headers: reply.headers }));
          break;
        case 'chunk':
          body?.enqueue(reply.bytes);
          break;
        case 'end':
          body?.close();
          port.close();
          break;
        case 'error':
          reject(new Error(reply.message));
          body?.error(new Error(reply.message));
          port.close();
          break;
      }
    };
  });
}

async function relay(
  scope: ServiceWorkerGlobalScope,
  event: FetchEvent,
  acceptTimeoutMs: number,
): Promise<Response> {
  const fallback = event.request.clone();
  const client = await scope.clients.get(event.clientId);
  if (!client) return fetch(fallback);
  const request = event.request;
  const headers: [string, string][] = [];
  request.headers.forEach((value, name) => headers.push([name, value]));
  const message: RelayRequest = {
    type: RELAY_REQUEST,
    method: request.method,
    url: request.url,
    headers,
    body: request.method === 'GET' || request.method === 'HEAD' ? null : await request.text(),
  };
  const channel = new MessageChannel();
  const accepted = waitForAccept(channel.port1, acceptTimeoutMs);
  client.postMessage(message, [channel.port2]);
  if (!(await accepted)) {
    channel.port1.close();
    return fetch(fallback);
  }
  const response = relayedResponse(channel.port1);
  // The client hanging up (the openai client's AbortSignal) cancels the body; an abort before the head arrives
  // must reach the page too.
  request.signal.addEventListener('abort', () => channel.port1.postMessage({ type: 'cancel' }), {
    once: true,
  });
  return response;
}

/**
 * Adds the route to a service worker. Call once, at its start (before or after Workbox's routes: requests under
 * the route are no other route's). Only requests made by a page (or its workers) on this origin are relayed.
 */
export function registerOpenAIRoute(scope: ServiceWorkerGlobalScope, options: OpenAIRouteOptions = {}): void {
  const base = (options.basePath ?? DEFAULT_BASE_PATH).replace(/\/+$/, '');
  const acceptTimeoutMs = options.acceptTimeoutMs ?? 1_000;
  scope.addEventListener('fetch', (event: FetchEvent) => {
    const url = new URL(event.request.url);
    if (url.origin !== scope.location.origin) return;
    if (url.pathname !== base && !url.pathname.startsWith(`${base}/`)) return;
    if (!event.clientId || event.request.mode === 'navigate') return;
    event.respondWith(relay(scope, event, acceptTimeoutMs));
  });
}
