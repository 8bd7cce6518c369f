// Owns the PWA service worker: precaches the app shell and ORT's runtime files (never model weights, which live in
// the weight store), serves the app offline, adds cross-origin-isolation headers on hosts that cannot send them,
// and activates an update only when the page asks (the "update available" prompt).
import {
  addPlugins,
  cleanupOutdatedCaches,
  createHandlerBoundToURL,
  precacheAndRoute,
  type PrecacheEntry,
} from 'workbox-precaching';
import { registerRoute } from 'workbox-routing';
import { registerOpenAIRoute } from './openai-route';

declare let self: ServiceWorkerGlobalScope & { __WB_MANIFEST: (string | PrecacheEntry)[] };

/**
 * The headers that make the page cross-origin isolated (SharedArrayBuffer, so multi-threaded WASM). A static host
 * that sends them already loses nothing; one that cannot (e.g. GitHub Pages) gets them from here after the first load.
 */
const ISOLATION: Record<string, string> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

function withIsolation(response: Response): Response {
  // Opaque and error responses cannot be rebuilt; redirects must stay as they are.
  if (response.type === 'opaque' || response.type === 'opaqueredirect' || response.status === 0)
    return response;
  const headers = new Headers(response.headers);
  for (const [name, value] of Object.entries(ISOLATION)) headers.set(name, value);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

addPlugins([{ handlerWillRespond: async ({ response }) => withIsolation(response) }]);
precacheAndRoute(self.__WB_MANIFEST);
cleanupOutdatedCaches();

const scopePath = new URL(self.registration.scope).pathname;

/**
 * Whether a navigation opens the chat app: its scope root or index.html, whatever the query string or fragment
 * (bookmarks, shared links, `?ref=…`). Other pages of the origin are not the app's to answer.
 */
function isAppPageNavigation(url: URL, scope: string = scopePath): boolean {
  return url.pathname === scope || url.pathname === `${scope}index.html`;
}

/** The training page is not stored for offline use (its runtime and weights load when it opens). */
function isTrainingPageNavigation(url: URL, scope: string = scopePath): boolean {
  return url.pathname === `${scope}train.html`;
}

// Navigations to the app get the precached page, offline too.
registerRoute(
  ({ request, url }) => request.mode === 'navigate' && isAppPageNavigation(url),
  createHandlerBoundToURL('index.html'),
);

/** What the training page shows when it cannot be fetched: why, and the way back to the app that does work. */
function trainingNeedsConnection(): Response {
  const body = `<!doctype html><html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Training needs a connection</title>
<body style="font: 1rem/1.5 system-ui, sans-serif; max-width: 36rem; margin: 3rem auto; padding: 0 1rem">
<h1>Training needs a connection</h1>
<p>The in-browser training demo is not stored for offline use: its runtime and the micro model load when it opens.
Open it again when you are online.</p>
<p><a href="${scopePath}">Open the chat app</a>, which works offline.</p></body></html>`;
  return new Response(body, { status: 503, headers: { 'Content-Type': 'text/html; charset=utf-8' } });
}

registerRoute(
  ({ request, url }) => request.mode === 'navigate' && isTrainingPageNavigation(url),
  async ({ request }) => {
    try {
      return await fetch(request);
    } catch {
      return trainingNeedsConnection();
    }
  },
);

// `/v1/*` (OpenAI's API) goes to a page of this origin that serves it with the library's serveOpenAI(); for any
// other page the request passes through as if the route were not here.
registerOpenAIRoute(self);

self.addEventListener('message', (event: ExtendableMessageEvent) => {
  const data: unknown = event.data;
  if (typeof data === 'object' && data !== null && (data as { type?: unknown }).type === 'SKIP_WAITING')
    void self.skipWaiting();
});

// The first install takes over open pages at once, so that they become isolated and work offline without a
// second visit; later versions wait for the user's yes (SKIP_WAITING above).
self.addEventListener('activate', (event: ExtendableEvent) => {
  event.waitUntil(self.clients.claim());
});
