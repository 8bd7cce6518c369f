// Owns reading a checkpoint over HTTP for the in-browser converter: a SourceFolder whose small files are fetched
// whole and whose safetensors files are read by HTTP Range, one tensor at a time. Reads are synchronous XHRs, so
// this runs only in a worker (never on the page): the graph builders ask for tensors synchronously. It stores
// nothing and never holds more than the range asked for.
import type { ByteSource, SourceFolder } from '../modelgen/convert/byte-source';
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
    throw new EngineError(
      'download-failed',
      `${o.label}: ${path} could not be read (${String(lastError)}). Check the connection and press Resume.`,
      { cause: lastError },
    );
  };
  return {
    label: o.label,
    list: () => [...byPath.keys()].sort(),
    has: (name) => byPath.has(name),
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
        close: () => undefined,
      };
    },
  };
}
