// Owns how the store talks HTTP: request defaults (no credentials, no HTTP cache), status → EngineError, retry delays.
import { abortError, isAbortError, throwIfAborted } from '../shared/abort';
import { EngineError } from '../shared/errors';

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/**
 * Request defaults for model files. No cookies or auth go to a hub or CDN (they allow any origin and need none);
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

/** An EngineError('download-failed') that says what the status means for the person waiting. */
export function statusError(response: Response, url: string, what: string): EngineError {
  const code = response.headers.get('x-error-code') ?? '';
  const details = { status: response.status, url, errorCode: code };
  if (response.status === 404) {
    const why =
      code === 'RevisionNotFound'
        ? 'that revision does not exist'
        : code === 'RepositoryNotFound'
          ? 'the repository does not exist or is private'
          : 'the server has no such file';
    return new EngineError(
      'download-failed',
      `Could not download ${what}: ${why} (404). Check the model name and revision.`,
      { details },
    );
  }
  if (response.status === 401 || response.status === 403) {
    const gated =
      code === 'GatedRepo'
        ? ' It is a gated repository: accept its terms on the hub, or pick another model.'
        : '';
    return new EngineError(
      'download-failed',
      `Could not download ${what}: ${hostOf(url)} refused access (${response.status}). The model may be private or gated.${gated}`,
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

/** Wraps a network failure (TypeError from fetch, a dropped body) as download-failed; aborts pass through untouched. */
export function networkError(error: unknown, url: string, what: string): unknown {
  if (isAbortError(error) || error instanceof EngineError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new EngineError(
    'download-failed',
    `Lost the connection to ${hostOf(url)} while downloading ${what} (${reason}). Check your connection and try again: what was stored is kept.`,
    { cause: error, details: { url } },
  );
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

/**
 * GET a JSON document; network and status failures become download-failed, with up to `retries` retries on 5xx/429.
 * With `allow404`, a 404 (or a web page from a single-page-app fallback) means "absent" and returns null.
 */
export async function fetchJson(
  fetchFn: FetchLike,
  url: string,
  what: string,
  /** allow404: a 404 (or a web page from a single-page-app fallback) means "absent" and returns null. */
  options: { signal?: AbortSignal | undefined; retries?: number; retryBaseMs?: number; allow404?: boolean },
): Promise<{ json: unknown; response: Response } | null> {
  const retries = options.retries ?? 2;
  for (let attempt = 0; ; attempt++) {
    throwIfAborted(options.signal);
    let response: Response;
    try {
      response = await fetchFn(url, {
        ...requestInit(options.signal),
        headers: { accept: 'application/json' },
      });
    } catch (error) {
      if (attempt < retries && !isAbortError(error)) {
        await sleep(backoffMs(attempt, options.retryBaseMs ?? 500), options.signal);
        continue;
      }
      throw networkError(error, url, what);
    }
    const isPage = response.ok && (response.headers.get('content-type') ?? '').includes('text/html');
    if ((response.status === 404 || isPage) && options.allow404) {
      await response.body?.cancel();
      return null;
    }
    if (!response.ok) {
      await response.body?.cancel();
      if (attempt < retries && isRetryableStatus(response.status)) {
        await sleep(backoffMs(attempt, options.retryBaseMs ?? 500), options.signal);
        continue;
      }
      throw statusError(response, url, what);
    }
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
}
