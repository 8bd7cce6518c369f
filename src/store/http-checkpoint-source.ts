// Owns reading a checkpoint over HTTP for the in-browser converter: a SourceFolder whose small files and safetensors
// headers are fetched whole by synchronous XHR (a few small requests before the plan, worker only) and whose tensors
// stream front to back with one async `fetch` per file (`Range: bytes=N-` from where the data pass starts, reopened
// from the current byte when the connection drops). It stores nothing and holds at most the range asked for.
import type { ByteSource, SequentialReader, SourceFolder } from '../modelgen/convert/byte-source';
import { ConvertError } from '../modelgen/convert/errors';
import { EngineError } from '../shared/errors';
import type { RemoteFile } from './file-select';

export interface HttpSourceOptions {
  /** The repo (or folder) in messages. */
  label: string;
  /** What the listing says the repo holds. */
  files: readonly RemoteFile[];
  /** Where a file is fetched from (computed per request: hub redirects to expiring URLs). */
  url: (path: string) => string;
  /** Bytes fetched, per file, for progress and the tests' byte counts. */
  onBytes?: (path: string, bytes: number) => void;
  /** Checked before each request; an aborted signal stops the conversion between tensors. */
  signal?: AbortSignal;
  /** Attempts per request before giving up (a dropped connection is retried). */
  attempts?: number;
  /** The streaming reads' fetch (default the global one). */
  fetch?: (input: string, init?: RequestInit) => Promise<Response>;
  /** A stream that delivers nothing for this long is reopened where it stopped (default 30 s). */
  stallMs?: number;
}

const failed = (label: string, path: string, cause: unknown): EngineError =>
  new EngineError(
    'download-failed',
    `${label}: ${path} could not be read (${String(cause)}). Check the connection and press Resume.`,
    { cause },
  );

/**
 * Streams `path` from `offset` to its end with one Range request, reopened at the current byte after a drop (up to
 * `attempts` failures in a row). Reads copy exactly the asked bytes out of the network chunks.
 */
function streamReader(o: HttpSourceOptions, path: string, size: number, offset: number): SequentialReader {
  const attempts = o.attempts ?? 3;
  const fetchFn = o.fetch ?? ((input: string, init?: RequestInit) => fetch(input, init));
  let pos = offset;
  let body: ReadableStreamDefaultReader<Uint8Array> | null = null;
  let left: Uint8Array | null = null;
  let failures = 0;
  let request: AbortController | null = null;
  const open = async (): Promise<ReadableStreamDefaultReader<Uint8Array>> => {
    const ac = new AbortController();
    request = ac;
    const response = await fetchFn(o.url(path), {
      headers: { Range: `bytes=${pos}-` },
      signal: o.signal === undefined ? ac.signal : AbortSignal.any([o.signal, ac.signal]),
    });
    if (
      response.status >= 400 &&
      response.status < 500 &&
      response.status !== 408 &&
      response.status !== 429
    ) {
      throw new EngineError(
        'download-failed',
        `${o.label}: ${path} answered ${response.status}. Check that the repository is public and still has it.`,
      );
    }
    if (response.status !== 206 || response.body === null)
      throw new Error(`status ${response.status} to a range request from byte ${pos}`);
    return response.body.getReader();
  };
  /** The next bytes from the network (at least one). */
  const chunk = async (): Promise<Uint8Array> => {
    for (;;) {
      if (o.signal?.aborted) throw o.signal.reason ?? new DOMException('Aborted', 'AbortError');
      try {
        body ??= await open();
        const stalled = setTimeout(() => request?.abort(new Error('no byte arrived')), o.stallMs ?? 30_000);
        const { done, value } = await body.read().finally(() => clearTimeout(stalled));
        if (done || value === undefined) throw new Error(`the connection closed at byte ${pos} of ${size}`);
        failures = 0;
        o.onBytes?.(path, value.byteLength);
        return value;
      } catch (error) {
        if (o.signal?.aborted) throw o.signal.reason ?? error;
        if ((error as { code?: unknown }).code === 'download-failed') throw error;
        body?.cancel().catch(() => undefined);
        body = null;
        if (++failures >= attempts) throw failed(o.label, path, error);
        await new Promise((resolve) => setTimeout(resolve, 200 * failures));
      }
    }
  };
  /** Hands the next `length` bytes to `each` as views of the network chunks (none are copied here). */
  const take = async (
    length: number,
    each: ((piece: Uint8Array) => void | Promise<void>) | null,
  ): Promise<void> => {
    if (pos + length > size)
      throw new ConvertError('truncated', `${o.label}/${path} ends before byte ${pos + length}.`);
    for (let done = 0; done < length;) {
      const c = left ?? (await chunk());
      const n = Math.min(c.byteLength, length - done);
      left = n < c.byteLength ? c.subarray(n) : null;
      pos += n;
      await each?.(c.subarray(0, n));
      done += n;
    }
  };
  return {
    pieces: (length, each) => take(length, each),
    skip: (length) => take(length, null),
    close: () => {
      body?.cancel().catch(() => undefined);
      body = null;
      request = null;
    },
  };
}

function request(url: string, range: [number, number] | null): XMLHttpRequest {
  const xhr = new XMLHttpRequest();
  xhr.open('GET', url, false);
  xhr.responseType = 'arraybuffer';
  if (range !== null) xhr.setRequestHeader('Range', `bytes=${range[0]}-${range[0] + range[1] - 1}`);
  xhr.send();
  return xhr;
}

/** A checkpoint on a server, read by synchronous HTTP requests (worker only). */
export function httpSourceFolder(o: HttpSourceOptions): SourceFolder {
  const byPath = new Map(o.files.map((f) => [f.path, f]));
  const attempts = o.attempts ?? 3;
  const fetchBytes = (path: string, range: [number, number] | null): Uint8Array => {
    let lastError: unknown = null;
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (o.signal?.aborted) throw o.signal.reason ?? new DOMException('Aborted', 'AbortError');
      let xhr: XMLHttpRequest;
      try {
        xhr = request(o.url(path), range);
      } catch (error) {
        lastError = error; // a dropped connection: try again
        continue;
      }
      const ok = range === null ? xhr.status === 200 : xhr.status === 206;
      const body = xhr.response instanceof ArrayBuffer ? new Uint8Array(xhr.response) : null;
      if (ok && body !== null && (range === null || body.byteLength === range[1])) {
        o.onBytes?.(path, body.byteLength);
        return body;
      }
      if (xhr.status >= 400 && xhr.status < 500 && xhr.status !== 408 && xhr.status !== 429) {
        throw new EngineError(
          'download-failed',
          `${o.label}: ${path} answered ${xhr.status}. Check that the repository is public and still has it.`,
        );
      }
      lastError = new Error(`${path}: status ${xhr.status}, ${body?.byteLength ?? 0} bytes`);
    }
    throw failed(o.label, path, lastError);
  };
  return {
    label: o.label,
    list: () => [...byPath.keys()].sort(),
    has: (name) => byPath.has(name),
    sha256: (name) => byPath.get(name)?.sha256 ?? null,
    readBytes: (name) => {
      if (!byPath.has(name)) throw new ConvertError('missing-file', `${o.label} has no ${name}.`);
      return fetchBytes(name, null);
    },
    open: (name): ByteSource => {
      const size = byPath.get(name)?.size;
      if (size === undefined || size === null)
        throw new ConvertError('missing-file', `${o.label} lists no size for ${name}.`);
      return {
        name: `${o.label}/${name}`,
        size,
        read: (offset, length) => (length === 0 ? new Uint8Array(0) : fetchBytes(name, [offset, length])),
        stream: (offset) => streamReader(o, name, size, offset),
        close: () => undefined,
      };
    },
  };
}
