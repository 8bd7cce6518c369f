// Owns the messages between the service worker's `/v1/*` route and the page that runs the engine: the service worker
// cannot start the engine's worker itself, so it hands each request to the page over a MessageChannel and streams
// the page's response back. Pure types and constants; both sides import them.

/** Posted by the service worker to the page (with one MessagePort) for each request under the route. */
export interface RelayRequest {
  type: 'llava-openai-request';
  method: string;
  url: string;
  headers: [string, string][];
  /** The request body as text (the API takes JSON); null for GET. */
  body: string | null;
}

/** Posted back by the page on the port, in this order: accept, head, chunk…, end (or error at any point). */
export type RelayReply =
  /** The page serves the API: the service worker waits for the answer instead of passing the request on. */
  | { type: 'accept' }
  | { type: 'head'; status: number; headers: [string, string][] }
  | { type: 'chunk'; bytes: Uint8Array }
  | { type: 'end' }
  | { type: 'error'; message: string };

/** Posted by the service worker on the port when the client went away (the response body was cancelled). */
export interface RelayCancel {
  type: 'cancel';
}

export const RELAY_REQUEST = 'llava-openai-request';

/** Where the route answers by default, as OpenAI's own base URL ends. */
export const DEFAULT_BASE_PATH = '/v1';

export function isRelayRequest(value: unknown): value is RelayRequest {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { type?: unknown }).type === RELAY_REQUEST &&
    typeof (value as { url?: unknown }).url === 'string'
  );
}
