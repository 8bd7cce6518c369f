// Owns the local static HTTP server the e2e tests load the app from: COOP/COEP, Content-Length, Range, a request log.
// It must never proxy to another host: everything it serves comes from the folders it was given.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

/** A URL prefix served from a folder, e.g. `{ prefix: '/models/', dir: '/tmp/x' }`. */
export interface Mount {
  prefix: string;
  dir: string;
}

export interface ServedRequest {
  method: string;
  path: string;
  status: number;
  range: string | undefined;
}

export interface StaticServer {
  /** `http://127.0.0.1:PORT` without a trailing slash. */
  origin: string;
  /** Every request answered so far, in order. */
  requests: ServedRequest[];
  close(): Promise<void>;
}

const mimeTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

const isolationHeaders = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/** Parses a single `bytes=a-b` / `bytes=a-` / `bytes=-n` range; null when unsatisfiable, undefined when absent or multi. */
function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | null | undefined {
  if (!header) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return undefined;
  const [, from = '', to = ''] = match;
  if (from === '' && to === '') return undefined;
  let start: number;
  let end: number;
  if (from === '') {
    start = Math.max(0, size - Number(to));
    end = size - 1;
  } else {
    start = Number(from);
    end = to === '' ? size - 1 : Math.min(Number(to), size - 1);
  }
  if (start >= size || start > end) return null;
  return { start, end };
}

function resolveFile(mounts: Mount[], urlPath: string): string | undefined {
  for (const mount of mounts) {
    if (!urlPath.startsWith(mount.prefix)) continue;
    const relative = urlPath.slice(mount.prefix.length);
    const full = path.resolve(mount.dir, `./${relative}`);
    // Refuse `..` escapes out of the mounted folder.
    if (full !== path.resolve(mount.dir) && !full.startsWith(path.resolve(mount.dir) + path.sep))
      return undefined;
    return full;
  }
  return undefined;
}

export interface ServerOptions {
  /** Extra headers per request path, e.g. the app's security headers (src/shared/security-policy.ts). */
  headers?: (urlPath: string) => Record<string, string>;
}

async function answer(
  mounts: Mount[],
  req: IncomingMessage,
  res: ServerResponse,
  options: ServerOptions,
): Promise<number> {
  for (const [name, value] of Object.entries(isolationHeaders)) res.setHeader(name, value);
  for (const [name, value] of Object.entries(options.headers?.(req.url ?? '/') ?? {}))
    res.setHeader(name, value);
  res.setHeader('Cache-Control', 'no-store');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD' }).end();
    return 405;
  }
  const urlPath = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
  let file = resolveFile(mounts, urlPath);
  let info = file ? await stat(file).catch(() => undefined) : undefined;
  if (file && info?.isDirectory()) {
    file = path.join(file, 'index.html');
    info = await stat(file).catch(() => undefined);
  }
  if (!file || !info?.isFile()) {
    res.writeHead(404, { 'Content-Type': 'text/plain', 'Content-Length': 9 }).end('not found');
    return 404;
  }
  const size = info.size;
  const type = mimeTypes[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
  res.setHeader('Content-Type', type);
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('Last-Modified', info.mtime.toUTCString());
  const range = parseRange(req.headers.range, size);
  if (range === null) {
    res.writeHead(416, { 'Content-Range': `bytes */${size}`, 'Content-Length': 0 }).end();
    return 416;
  }
  const status = range ? 206 : 200;
  const start = range?.start ?? 0;
  const end = range?.end ?? size - 1;
  res.setHeader('Content-Length', size === 0 ? 0 : end - start + 1);
  if (range) res.setHeader('Content-Range', `bytes ${start}-${end}/${size}`);
  res.writeHead(status);
  if (req.method === 'HEAD' || size === 0) {
    res.end();
    return status;
  }
  await new Promise<void>((resolve, reject) => {
    const stream = createReadStream(file, { start, end });
    stream.on('error', reject);
    res.on('close', resolve);
    stream.pipe(res);
  });
  return status;
}

/** Starts a server on 127.0.0.1 (a free port) serving `mounts`, first matching prefix wins. */
export async function startStaticServer(mounts: Mount[], options: ServerOptions = {}): Promise<StaticServer> {
  const requests: ServedRequest[] = [];
  const server = createServer((req, res) => {
    answer(mounts, req, res, options)
      .then((status) => {
        requests.push({
          method: req.method ?? 'GET',
          path: new URL(req.url ?? '/', 'http://x').pathname,
          status,
          range: req.headers.range,
        });
      })
      .catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500).end(String(error));
        else res.destroy();
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
