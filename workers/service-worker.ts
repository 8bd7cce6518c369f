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
import { NavigationRoute, registerRoute } from 'workbox-routing';
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

// Navigations inside the app's scope get the precached page (offline too); other pages are left to the network.
const scopePath = new URL(self.registration.scope).pathname;
const escaped = scopePath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
registerRoute(
  new NavigationRoute(createHandlerBoundToURL('index.html'), {
    allowlist: [new RegExp(`^${escaped}(index\\.html)?$`)],
  }),
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
