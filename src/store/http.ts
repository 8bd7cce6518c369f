// Owns how the store talks HTTP: request defaults (no cookies, no HTTP cache), the hub token's one destination,
// status → EngineError, retry delays (Retry-After included).
import { abortError, isAbortError, throwIfAborted } from '../shared/abort';
import { EngineError } from '../shared/errors';

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/**
 * The Authorization header for a request to `url`: only when a token is set and `url` is on the hub endpoint's own
 * host, so a CDN, a mirror or any other host never sees it. (Browsers also drop it on cross-origin redirects.)
 */
export function authHeaders(
  url: string,
  hubHost: string | undefined,
  token: string | undefined,
): Record<string, string> {
  if (!token || !hubHost) return {};
  try {
    return new URL(url).host === hubHost ? { authorization: `Bearer ${token}` } : {};
  } catch {
    return {};
  }
}

/**
 * Request defaults for model files. No cookies go to a hub or CDN (they allow any origin and need none);
 * `no-store` keeps multi-GB bodies out of the browser's HTTP cache, which would otherwise hold a second copy.
 */
export function requestInit(signal: AbortSignal | undefined, headers?: Record<string, string>): RequestInit {
  const init: RequestInit = { credentials: 'omit', cache: 'no-store', redirect: 'follow' };
  if (signal) init.signal = signal;
  if (headers) init.headers = headers;
  return init;
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/** True for answers worth asking again (server trouble, rate limits), false for ones that will not change. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

/** The hub's repo page for a resolve or API URL (`…/org/name/resolve/…`, `…/api/models/org/name/tree/…`). */
function repoPageOf(url: string): string | null {
  const match = /^(https?:\/\/[^/]+(?:\/[^/]+)*?)\/(?:api\/models\/)?([^/]+\/[^/]+)\/(?:resolve|tree)\//.exec(
    url,
  );
  return match ? `${match[1]}/${match[2]}` : null;
}

/**
 * How the hub refuses access, told apart by its X-Error-Code: gated (terms not accepted), private or misspelt (an
 * anonymous 401), a token it does not accept. Null for other refusals.
 */
function hubRefusal(response: Response, url: string, what: string, hasToken: boolean): string | null {
  const code = response.headers.get('x-error-code') ?? '';
  const errorMessage = response.headers.get('x-error-message') ?? '';
  const page = repoPageOf(url) ?? 'its page on the hub';
  if (code === 'GatedRepo') {
    return hasToken
      ? `Could not download ${what}: the model is gated and the account of your hub token has no access yet. Open ${page}, accept its terms with that account (some need the authors' approval), then try again.`
      : `Could not download ${what}: the model is gated. Open ${page}, sign in and accept its terms, then create a read access token on the hub and paste it in Settings → Hub access token.`;
  }
  if (response.status === 401 && /credentials|token/i.test(errorMessage) && hasToken) {
    return `Could not download ${what}: the hub did not accept your access token (401). Paste a valid read token in Settings → Hub access token, or clear it.`;
  }
  if (response.status === 401 && code === 'RepositoryNotFound') {
    return hasToken
      ? `Could not download ${what}: the repository is private and your hub token has no access to it (401). Check the name, or use a token of an account that can read it.`
      : `Could not download ${what}: the repository is private or its name is misspelt (401). Check the name; if it is private, paste a read access token in Settings → Hub access token.`;
  }
  return null;
}

/** An EngineError('download-failed') that says what the status means for the person waiting. */
export function statusError(
  response: Response,
  url: string,
  what: string,
  options: { token?: boolean } = {},
): EngineError {
  const code = response.headers.get('x-error-code') ?? '';
  const details = { status: response.status, url, errorCode: code };
  const refused =
    response.status === 401 || response.status === 403
      ? hubRefusal(response, url, what, options.token === true)
      : null;
  if (refused) return new EngineError('download-failed', refused, { details });
  if (response.status === 404) {
    const why =
      code === 'RevisionNotFound'
        ? 'that revision does not exist'
        : code === 'RepositoryNotFound'
          ? options.token
            ? 'no such repository, or none your hub token can see'
            : 'no such repository'
          : 'the server has no such file';
    return new EngineError(
      'download-failed',
      `Could not download ${what}: ${why} (404). Check the model name and revision.`,
      { details },
    );
  }
  if (response.status === 401 || response.status === 403) {
    return new EngineError(
      'download-failed',
      `Could not download ${what}: ${hostOf(url)} refused access (${response.status}). If the link was shared with you, ask for a fresh one; on the hub, check that the model is public or that your access token can read it.`,
      { details },
    );
  }
  if (response.status === 429) {
    return new EngineError(
      'download-failed',
      `Could not download ${what}: ${hostOf(url)} is rate-limiting requests (429). Wait a minute and try again.`,
      { details },
    );
  }
  return new EngineError(
    'download-failed',
    `Could not download ${what}: ${hostOf(url)} answered ${response.status}. Try again later.`,
    { details },
  );
}

/**
 * Wraps a network failure (TypeError from fetch, a dropped body) as download-failed; aborts pass through untouched.
 * `connected` says whether the server had answered before it failed: only then was a connection lost; otherwise none
 * was made (offline, a wrong host, a blocked request), and the message says so.
 */
export function networkError(error: unknown, url: string, what: string, connected = true): unknown {
  if (isAbortError(error) || error instanceof EngineError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  const offline = globalThis.navigator?.onLine === false;
  const host = hostOf(url);
  const message = offline
    ? `This device is offline, so ${what} could not be downloaded from ${host}. Connect to the internet and try again: what was stored is kept.`
    : connected
      ? `Lost the connection to ${host} while downloading ${what} (${reason}). Check your connection and try again: what was stored is kept.`
      : `Could not reach ${host} to download ${what} (${reason}). Check your connection, or that the address is right, and try again: what was stored is kept.`;
  return new EngineError('download-failed', message, { cause: error, details: { url } });
}

/** Waits `ms`, rejecting with AbortError as soon as the signal fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  throwIfAborted(signal);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError(signal?.reason));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Exponential backoff with a cap: 0.5 s, 1 s, 2 s, … 8 s (scaled by `baseMs`). */
export function backoffMs(attempt: number, baseMs: number): number {
  return Math.min(baseMs * 2 ** attempt, baseMs * 16);
}

/** A longest wait for Retry-After: beyond it the person waiting would rather see a message than a frozen bar. */
export const MAX_RETRY_AFTER_MS = 60_000;

/** Milliseconds a `Retry-After` header asks for (delay-seconds or an HTTP date), or null when absent or unreadable. */
export function retryAfterMs(header: string | null, now: number = Date.now()): number | null {
  if (header === null) return null;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** The wait before the next attempt: the server's Retry-After (capped at `maxMs`) when it sent one, else backoff. */
export function retryDelayMs(
  attempt: number,
  baseMs: number,
  retryAfter: number | null,
  maxMs: number = MAX_RETRY_AFTER_MS,
): number {
  return retryAfter === null ? backoffMs(attempt, baseMs) : Math.min(retryAfter, maxMs);
}

export interface FetchDocumentOptions {
  signal?: AbortSignal | undefined;
  retries?: number;
  retryBaseMs?: number;
  /** A 404 (or a web page from a single-page-app fallback) means "absent": the answer is null. */
  allow404?: boolean;
  maxRetryAfterMs?: number;
  /** Authorization for the hub host only (see authHeaders). */
  hubHost?: string | undefined;
  hubToken?: string | undefined;
}

/** GET with up to `retries` retries on network failures and 5xx/429 (Retry-After obeyed); the OK response or null. */
async function fetchAnswer(
  fetchFn: FetchLike,
  url: string,
  what: string,
  accept: string,
  options: FetchDocumentOptions,
): Promise<Response | null> {
  const retries = options.retries ?? 2;
  for (let attempt = 0; ; attempt++) {
    throwIfAborted(options.signal);
    let response: Response;
    try {
      response = await fetchFn(url, {
        ...requestInit(options.signal),
        headers: { accept, ...authHeaders(url, options.hubHost, options.hubToken) },
      });
    } catch (error) {
      if (attempt < retries && !isAbortError(error)) {
        await sleep(backoffMs(attempt, options.retryBaseMs ?? 500), options.signal);
        continue;
      }
      throw networkError(error, url, what, false);
    }
    const isPage = response.ok && (response.headers.get('content-type') ?? '').includes('text/html');
    if ((response.status === 404 || isPage) && options.allow404) {
      await response.body?.cancel();
      return null;
    }
    if (response.ok) return response;
    await response.body?.cancel();
    if (attempt < retries && isRetryableStatus(response.status)) {
      const wait = retryDelayMs(
        attempt,
        options.retryBaseMs ?? 500,
        retryAfterMs(response.headers.get('retry-after')),
        options.maxRetryAfterMs,
      );
      await sleep(wait, options.signal);
      continue;
    }
    throw statusError(response, url, what, { token: options.hubToken !== undefined });
  }
}

/** GET a JSON document (see fetchAnswer for retries); null when absent and `allow404`. */
export async function fetchJson(
  fetchFn: FetchLike,
  url: string,
  what: string,
  options: FetchDocumentOptions,
): Promise<{ json: unknown; response: Response } | null> {
  const response = await fetchAnswer(fetchFn, url, what, 'application/json', options);
  if (!response) return null;
  try {
    return { json: (await response.json()) as unknown, response };
  } catch (error) {
    if (isAbortError(error)) throw error;
    throw new EngineError(
      'download-failed',
      `${what} from ${hostOf(url)} is not valid JSON. The server may be misconfigured.`,
      { cause: error },
    );
  }
}

/** GET a small file whole, into memory (see fetchAnswer for retries); null when absent and `allow404`. */
export async function fetchBytes(
  fetchFn: FetchLike,
  url: string,
  what: string,
  options: FetchDocumentOptions,
): Promise<Uint8Array<ArrayBuffer> | null> {
  const response = await fetchAnswer(fetchFn, url, what, '*/*', options);
  if (!response) return null;
  try {
    return new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    throw networkError(error, url, what);
  }
}
