// Owns reading a checkpoint over HTTP for the in-browser converter: a SourceFolder whose small files and safetensors
// headers are fetched whole by synchronous XHR (a few small requests before the plan, worker only) and whose tensors
// stream front to back with one async `fetch` per file (`Range: bytes=N-` from where the data pass starts, reopened
// from the next byte not received when the connection drops). It stores nothing and holds at most the range asked for
// plus a bounded read-ahead (READ_AHEAD_BYTES).
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
  /** Bytes a file's stream may hold beyond what the converter has taken (default READ_AHEAD_BYTES). */
  readAheadBytes?: number;
}

const failed = (label: string, path: string, cause: unknown): EngineError =>
  new EngineError(
    'download-failed',
    `${label}: ${path} could not be read (${String(cause)}). Check the connection and press Resume.`,
    { cause },
  );

/** Bytes a stream reads ahead of the converter (default): a tensor's conversion overlaps the link. */
export const READ_AHEAD_BYTES = 32 * 1024 * 1024;

/**
 * Streams `path` from `offset` to its end with one Range request, reopened at the next byte not yet received after a
 * drop (up to `attempts` failures in a row). While the converter works on a tensor, whenever this thread is free, up
 * to `readAheadBytes` more are pulled from the network, so a link of a set speed keeps sending instead of waiting
 * for the next read. Reads copy exactly the asked bytes out of the network chunks.
 */
function streamReader(o: HttpSourceOptions, path: string, size: number, offset: number): SequentialReader {
  const attempts = o.attempts ?? 3;
  const readAhead = Math.max(1, o.readAheadBytes ?? READ_AHEAD_BYTES);
  const fetchFn = o.fetch ?? ((input: string, init?: RequestInit) => fetch(input, init));
  /** The next byte the converter takes, and the next byte to ask the network for. */
  let pos = offset;
  let fetched = offset;
  let body: ReadableStreamDefaultReader<Uint8Array> | null = null;
  let failures = 0;
  let request: AbortController | null = null;
  let closed = false;
  /** Received, not yet taken: chunks in order and their byte count. */
  const queue: Uint8Array[] = [];
  let queued = 0;
  let pumping = false;
  let pumpError: unknown = null;
  let wake: (() => void) | null = null;
  const open = async (): Promise<ReadableStreamDefaultReader<Uint8Array>> => {
    const ac = new AbortController();
    request = ac;
    const response = await fetchFn(o.url(path), {
      headers: { Range: `bytes=${fetched}-` },
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
      throw new Error(`status ${response.status} to a range request from byte ${fetched}`);
    return response.body.getReader();
  };
  const isClosed = (): boolean => closed;
  /** The next bytes from the network (at least one). */
  const chunk = async (): Promise<Uint8Array> => {
    for (;;) {
      if (o.signal?.aborted) throw o.signal.reason ?? new DOMException('Aborted', 'AbortError');
      if (isClosed()) throw new Error('the reader was closed');
      try {
        body ??= await open();
        const stalled = setTimeout(() => request?.abort(new Error('no byte arrived')), o.stallMs ?? 30_000);
        const { done, value } = await body.read().finally(() => clearTimeout(stalled));
        if (done || value === undefined)
          throw new Error(`the connection closed at byte ${fetched} of ${size}`);
        failures = 0;
        fetched += value.byteLength;
        o.onBytes?.(path, value.byteLength);
        return value;
      } catch (error) {
        if (o.signal?.aborted) throw o.signal.reason ?? error;
        if ((error as { code?: unknown }).code === 'download-failed' || isClosed()) throw error;
        body?.cancel().catch(() => undefined);
        body = null;
        if (++failures >= attempts) throw failed(o.label, path, error);
        await new Promise((resolve) => setTimeout(resolve, 200 * failures));
      }
    }
  };
  /** Pulls chunks until `readAhead` bytes wait or the file ends; a failure waits for the next take. */
  const pump = async (): Promise<void> => {
    try {
      while (!isClosed() && queued < readAhead && fetched < size) {
        const c = await chunk();
        if (isClosed()) return;
        queue.push(c);
        queued += c.byteLength;
        wake?.();
      }
    } catch (error) {
      pumpError = error;
    } finally {
      pumping = false;
      wake?.();
    }
  };
  const refill = (): void => {
    if (pumping || isClosed() || pumpError !== null) return;
    // Set before the call: a pump with nothing to do finishes (and clears it) before returning.
    pumping = true;
    void pump();
  };
  const take = async (length: number, into: Uint8Array | null): Promise<void> => {
    if (pos + length > size)
      throw new ConvertError('truncated', `${o.label}/${path} ends before byte ${pos + length}.`);
    for (let done = 0; done < length;) {
      if (queue.length === 0) {
        if (pumpError !== null) throw pumpError;
        if (isClosed()) throw new Error('the reader was closed');
        refill();
        if (queue.length === 0 && pumpError === null)
          await new Promise<void>((resolve) => (wake = resolve)).finally(() => (wake = null));
        continue;
      }
      const c = queue[0]!;
      const n = Math.min(c.byteLength, length - done);
      into?.set(c.subarray(0, n), done);
      if (n < c.byteLength) queue[0] = c.subarray(n);
      else queue.shift();
      queued -= n;
      done += n;
      pos += n;
    }
    refill();
  };
  return {
    read: async (length) => {
      const out = new Uint8Array(length);
      await take(length, out);
      return out;
    },
    skip: (length) => take(length, null),
    close: () => {
      closed = true;
      queue.length = 0;
      queued = 0;
      body?.cancel().catch(() => undefined);
      body = null;
      request = null;
      wake?.();
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
