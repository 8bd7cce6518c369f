// A local HTTP server for store tests: serves a model folder (with or without manifest.json) and a hub look-alike
// (tree API with paging, resolve → expiring CDN redirects), with fault injection and a count of body bytes sent.
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach } from 'vitest';
import type { ModelRef } from '../../../src/shared/protocol';

export type Fault =
  | { kind: 'drop'; at: number } // close the connection after `at` body bytes
  | { kind: 'stall'; at: number } // send `at` body bytes, then nothing (connection stays open)
  | { kind: 'status'; status: number; retryAfter?: string }
  | { kind: 'corrupt'; offset: number } // flip one byte at this file offset
  | { kind: 'no-length' } // chunked transfer, no Content-Length
  | { kind: 'slow'; bytesPerTick: number; tickMs: number }
  | { kind: 'ignore-range' } // answer 200 with the whole file to a Range request
  | { kind: 'range-416' }; // answer 416 to any Range request

export interface FaultRule {
  path: string;
  fault: Fault;
  /** Applies to this many requests for the path, then stops (default: every request). */
  times?: number;
  /** Skips the first `after` requests for the path (default 0). */
  after?: number;
}

export interface ServedRequest {
  path: string;
  range: string | null;
  ifRange: string | null;
  status: number;
  credentials: boolean;
  /** When it arrived (performance.now()). */
  at: number;
}

/** Every request the server saw (hub API, resolve, CDN, folder), with the host it was addressed to. */
export interface SeenRequest {
  /** 'hub-api' | 'resolve' | 'cdn' | 'folder' | 'other' */
  route: string;
  path: string;
  host: string;
  authorization: string | null;
  status: number;
}

/** How the hub look-alike guards its repo, answering as the hub does (status and X-Error-Code). */
export interface HubAccess {
  mode: 'public' | 'gated' | 'private';
  /** The one token the hub accepts; another one gets 401 "Invalid credentials". */
  token?: string;
  /** Gated only: whether the token's account accepted the terms. */
  granted?: boolean;
}

export interface StoreTestServer {
  origin: string;
  /** Folder URL of the served model: `${origin}/models/${name}/`. */
  folderUrl: string;
  /** Hub look-alike endpoint: `${origin}/hub`. */
  hubEndpoint: string;
  files: Map<string, Uint8Array>;
  /**
   * Sizes the hub listing gives instead of the held bytes' (a sparse replica: only a safetensors header is held, the
   * listing says the published size; reads past the held bytes are refused).
   */
  listedSizes: Map<string, number>;
  faults: FaultRule[];
  requests: ServedRequest[];
  /** Body bytes written for a file path (all paths when omitted). */
  bytesSent(path?: string): number;
  /** Most file bodies that were being sent at the same time. */
  maxConcurrent(): number;
  resetCounts(): void;
  /** Makes every CDN URL handed out so far invalid (as signed URLs expire). */
  expireCdnUrls(): void;
  /** The next `n` CDN requests answer 403, as an expired signed URL does. */
  refuseCdn(n: number): void;
  /** Every request, whatever its route. */
  seen: SeenRequest[];
  /** While true, every model request is cut off before an answer (the network is gone); they are counted here. */
  offline: boolean;
  refusedWhileOffline: string[];
  /**
   * Paces every file body to this many bytes per second (a token bucket per response, 256 KiB deep), as a link of
   * that speed would; null (the default) sends as fast as the socket takes it.
   */
  pace: number | null;
  close(): Promise<void>;
}

export interface ServerOptions {
  name?: string;
  /** Serve manifest.json (sizes + sha256) in the model folder (default true). */
  manifest?: boolean;
  /** Hub repo id for the hub look-alike (default 'test-org/tiny-llava'). */
  repo?: string;
  /** Entries per tree API page (default 3) so that paging is exercised. */
  treePageSize?: number;
  /** Files served as LFS (sha256 in the tree); the others only carry a git blob sha1. */
  isLfs?: (path: string) => boolean;
  /** Serve this folder (an app build) at '/', with the cross-origin isolation headers the app needs. */
  staticDir?: string;
  /** Answer missing model files with 200 and an HTML page, as single-page-app hosts do. */
  spaFallback?: boolean;
  /** Redirect CDN downloads to this host name (same port) so that they go to another origin (e.g. 'localhost'). */
  cdnHost?: string;
  access?: HubAccess;
}

/** Burst a paced response may send at once (bytes). */
const PACE_BUCKET = 256 * 1024;

const SPA_PAGE = '<!doctype html><html><body>app</body></html>';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
};

const ISOLATION = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
  'cross-origin-resource-policy': 'same-origin',
};

async function serveStatic(dir: string, urlPath: string, res: ServerResponse): Promise<void> {
  const full = path.resolve(dir, `.${urlPath.endsWith('/') ? `${urlPath}index.html` : urlPath}`);
  const info = full.startsWith(path.resolve(dir)) ? await stat(full).catch(() => undefined) : undefined;
  if (!info?.isFile()) return void res.writeHead(404, ISOLATION).end();
  const body = await readFile(full);
  res.writeHead(200, {
    ...ISOLATION,
    'content-type': MIME[path.extname(full)] ?? 'application/octet-stream',
    'content-length': String(body.byteLength),
  });
  res.end(body);
}

export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
export const gitSha1Hex = (bytes: Uint8Array): string =>
  createHash('sha1').update(`blob ${bytes.byteLength}\0`).update(bytes).digest('hex');

/** The served folder as the app addresses it: a plain URL, model id 'tiny'. */
export const folderRef = (s: StoreTestServer): ModelRef => ({
  kind: 'url',
  baseUrl: s.folderUrl,
  id: 'tiny',
});

/**
 * startStoreServer for a test file whose servers must not outlive their test: registers an afterEach that closes
 * every server started since the last one (closing one the test already closed is harmless).
 */
export function serversClosedAfterEach(): typeof startStoreServer {
  const open: StoreTestServer[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
  });
  return async (files, options) => {
    const server = await startStoreServer(files, options);
    open.push(server);
    return server;
  };
}

export async function startStoreServer(
  files: Map<string, Uint8Array>,
  options: ServerOptions = {},
): Promise<StoreTestServer> {
  const name = options.name ?? 'tiny';
  const repo = options.repo ?? 'test-org/tiny-llava';
  const pageSize = options.treePageSize ?? 3;
  const isLfs = options.isLfs ?? ((p: string) => p.startsWith('onnx/'));
  const faults: FaultRule[] = [];
  const requests: ServedRequest[] = [];
  const sent = new Map<string, number>();
  const pending = new Set<ServerResponse>();
  let cdnGeneration = 0;
  const hits = new Map<string, number>();

  const count = (path: string, n: number): void => void sent.set(path, (sent.get(path) ?? 0) + n);
  const etagOf = (bytes: Uint8Array): string => `"${sha256Hex(bytes).slice(0, 16)}"`;

  const faultFor = (path: string, hit: number): Fault[] =>
    faults
      .filter(
        (r) =>
          r.path === path &&
          hit > (r.after ?? 0) &&
          (r.times === undefined || hit <= (r.after ?? 0) + r.times),
      )
      .map((r) => r.fault);

  const serveFile = (req: IncomingMessage, res: ServerResponse, path: string): void => {
    const bytes = files.get(path);
    const hit = (hits.get(path) ?? 0) + 1;
    hits.set(path, hit);
    const active = faultFor(path, hit);
    const range = req.headers['range'] ?? null;
    const ifRange = (req.headers['if-range'] as string | undefined) ?? null;
    const log = (status: number): void =>
      void requests.push({
        path,
        range,
        ifRange,
        status,
        credentials: req.headers['cookie'] !== undefined || req.headers['authorization'] !== undefined,
        at: performance.now(),
      });
    const statusFault = active.find((f) => f.kind === 'status');
    if (!bytes && !statusFault && options.spaFallback) {
      log(200);
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(SPA_PAGE);
      return;
    }
    if (!bytes || statusFault) {
      const status = statusFault?.kind === 'status' ? statusFault.status : 404;
      log(status);
      const headers: Record<string, string> = {
        'content-type': 'text/plain',
        'x-error-code': status === 404 ? 'EntryNotFound' : '',
      };
      if (statusFault?.kind === 'status' && statusFault.retryAfter !== undefined)
        headers['retry-after'] = statusFault.retryAfter;
      res.writeHead(status, headers).end('no');
      return;
    }
    let start = 0;
    let status = 200;
    // `bytes=N-` (resumed downloads) or `bytes=N-M` (the in-browser converter's tensor reads).
    const match = range ? /^bytes=(\d+)-(\d*)$/.exec(range) : null;
    const rangeHonoured =
      match &&
      !active.some((f) => f.kind === 'ignore-range') &&
      (ifRange === null || ifRange === etagOf(bytes));
    if (match && active.some((f) => f.kind === 'range-416')) {
      log(416);
      res.writeHead(416, { 'content-range': `bytes */${bytes.byteLength}` }).end();
      return;
    }
    if (match && rangeHonoured) {
      start = Number(match[1]);
      if (start >= bytes.byteLength) {
        log(416);
        res.writeHead(416, { 'content-range': `bytes */${bytes.byteLength}` }).end();
        return;
      }
      status = 206;
    }
    const last =
      status === 206 && match?.[2] ? Math.min(Number(match[2]), bytes.byteLength - 1) : bytes.byteLength - 1;
    let body = bytes.subarray(start, last + 1);
    const corrupt = active.find((f) => f.kind === 'corrupt');
    if (corrupt?.kind === 'corrupt' && corrupt.offset >= start && corrupt.offset <= last) {
      body = body.slice();
      body[corrupt.offset - start] = (body[corrupt.offset - start] ?? 0) ^ 0xff;
    }
    const headers: Record<string, string> = {
      'content-type': 'application/octet-stream',
      etag: etagOf(bytes),
      'accept-ranges': 'bytes',
    };
    if (!active.some((f) => f.kind === 'no-length')) headers['content-length'] = String(body.byteLength);
    if (status === 206) headers['content-range'] = `bytes ${start}-${last}/${bytes.byteLength}`;
    log(status);
    res.writeHead(status, headers);
    const drop = active.find((f) => f.kind === 'drop');
    const stall = active.find((f) => f.kind === 'stall');
    const slow = active.find((f) => f.kind === 'slow');
    const limit =
      drop?.kind === 'drop'
        ? Math.max(0, drop.at - start)
        : stall?.kind === 'stall'
          ? Math.max(0, stall.at - start)
          : body.byteLength;
    const piece = slow?.kind === 'slow' ? slow.bytesPerTick : 64 * 1024;
    const pace = state.pace;
    const pacedFrom = performance.now();
    let at = 0;
    pending.add(res);
    peak = Math.max(peak, pending.size);
    // 'finish' = the last byte went to the socket; the client may ask for its next file before 'close' arrives.
    res.on('finish', () => pending.delete(res));
    res.on('close', () => pending.delete(res));
    const pump = (): void => {
      if (res.destroyed) return;
      if (at >= Math.min(limit, body.byteLength)) {
        if (drop && limit < body.byteLength) {
          res.socket?.destroy();
          return;
        }
        if (stall && limit < body.byteLength) return; // keep the socket open, send nothing more
        res.end();
        return;
      }
      const left = Math.min(limit, body.byteLength) - at;
      let n = Math.min(piece, left);
      if (pace !== null && !slow) {
        // Token bucket: what the link would have carried since the response began, plus one bucket of burst. The
        // server waits for half a bucket and sends it in one write: fewer timers, so pacing itself costs little CPU.
        const allowed = (pace * (performance.now() - pacedFrom)) / 1000 + PACE_BUCKET - at;
        const wanted = Math.min(left, PACE_BUCKET / 2);
        if (allowed < wanted) {
          setTimeout(pump, Math.max(1, ((wanted - allowed) / pace) * 1000));
          return;
        }
        n = Math.min(left, Math.floor(allowed));
      }
      const slice = body.subarray(at, at + n);
      at += n;
      count(path, n);
      if (at === body.byteLength) {
        // The last byte: end now, so the response is over before the client can start its next request.
        pending.delete(res);
        res.end(slice);
        return;
      }
      const ok = res.write(slice);
      const next = (): void =>
        void (slow?.kind === 'slow' ? setTimeout(pump, slow.tickMs) : setImmediate(pump));
      if (ok) next();
      else res.once('drain', next);
    };
    pump();
  };

  const listedSizes = new Map<string, number>();
  const treeEntries = (): unknown[] =>
    [...files.entries()].map(([path, bytes]) => {
      const size = listedSizes.get(path) ?? bytes.byteLength;
      return isLfs(path)
        ? {
            type: 'file',
            path,
            size,
            oid: gitSha1Hex(new TextEncoder().encode(`pointer ${path}`)),
            lfs: { oid: sha256Hex(bytes), size, pointerSize: 134 },
          }
        : { type: 'file', path, size, oid: gitSha1Hex(bytes) };
    });

  const state = { offline: false, refused: [] as string[], cdnRefusals: 0, pace: null as number | null };
  const seen: SeenRequest[] = [];
  let peak = 0;
  /** The hub's answer to a request for the guarded repo, or null when it may go on. */
  const hubGuard = (req: IncomingMessage): { status: number; headers: Record<string, string> } | null => {
    const access = options.access;
    if (!access || access.mode === 'public') return null;
    const auth = req.headers['authorization'];
    if (auth !== undefined && auth !== `Bearer ${access.token}`)
      return {
        status: 401,
        headers: { 'x-error-code': '', 'x-error-message': 'Invalid credentials in Authorization header' },
      };
    if (access.mode === 'private')
      return auth === undefined ? { status: 401, headers: { 'x-error-code': 'RepositoryNotFound' } } : null;
    if (auth === undefined) return { status: 401, headers: { 'x-error-code': 'GatedRepo' } };
    return access.granted ? null : { status: 403, headers: { 'x-error-code': 'GatedRepo' } };
  };
  const server = createServer((req, res) => {
    for (const [header, value] of Object.entries(ISOLATION)) res.setHeader(header, value);
    const url = new URL(req.url ?? '/', 'http://x');
    const path = decodeURIComponent(url.pathname);
    const folder = `/models/${name}/`;
    const route = path.startsWith('/hub/api/')
      ? 'hub-api'
      : path.startsWith('/hub/')
        ? 'resolve'
        : path.startsWith('/cdn/')
          ? 'cdn'
          : path.startsWith(folder)
            ? 'folder'
            : 'other';
    const entry: SeenRequest = {
      route,
      path,
      host: req.headers.host ?? '',
      authorization: req.headers['authorization'] ?? null,
      status: 0,
    };
    seen.push(entry);
    res.on('finish', () => void (entry.status = res.statusCode));
    // Cross-origin requests from a page (the CDN on another host name): allow them, as the hub's CDN does.
    res.setHeader('access-control-allow-origin', '*');
    res.setHeader('access-control-expose-headers', 'content-range, content-length, etag, x-error-code, link');
    if (req.method === 'OPTIONS') {
      res.setHeader('access-control-allow-headers', 'range, if-range, authorization, accept');
      return void res.writeHead(204).end();
    }
    if (state.offline && (path.startsWith(folder) || path.startsWith('/hub/') || path.startsWith('/cdn/'))) {
      state.refused.push(path);
      req.socket.destroy();
      return;
    }
    if (path.startsWith(folder)) {
      const rel = path.slice(folder.length);
      if (rel === 'manifest.json') {
        if (options.manifest === false) {
          if (options.spaFallback)
            return void res.writeHead(200, { 'content-type': 'text/html' }).end(SPA_PAGE);
          return void res.writeHead(404).end();
        }
        const manifest = {
          files: [...files.entries()].map(([p, b]) => ({
            path: p,
            size: b.byteLength,
            sha256: sha256Hex(b),
          })),
        };
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(manifest));
      }
      return serveFile(req, res, rel);
    }
    const treePrefix = `/hub/api/models/${repo}/tree/main`;
    const guarded = path === treePrefix || path.startsWith(`/hub/${repo}/`) ? hubGuard(req) : null;
    if (guarded) return void res.writeHead(guarded.status, guarded.headers).end('{}');
    if (path === treePrefix) {
      const cursor = Number(url.searchParams.get('cursor') ?? '0');
      const all = treeEntries();
      const page = all.slice(cursor, cursor + pageSize);
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (cursor + pageSize < all.length)
        headers['link'] = `<${origin}${treePrefix}?recursive=true&cursor=${cursor + pageSize}>; rel="next"`;
      return void res.writeHead(200, headers).end(JSON.stringify(page));
    }
    if (path.startsWith(`/hub/api/models/`)) {
      // As the hub: an anonymous request for a missing repo gets 401 (it might be private), a signed-in one 404.
      const status = req.headers['authorization'] === undefined ? 401 : 404;
      return void res.writeHead(status, { 'x-error-code': 'RepositoryNotFound' }).end('{}');
    }
    const resolvePrefix = `/hub/${repo}/resolve/main/`;
    if (path.startsWith(resolvePrefix)) {
      const rel = path.slice(resolvePrefix.length);
      if (!files.has(rel)) return void res.writeHead(404, { 'x-error-code': 'EntryNotFound' }).end();
      if (isLfs(rel)) {
        const cdnOrigin = options.cdnHost ? origin.replace('127.0.0.1', options.cdnHost) : origin;
        return void res.writeHead(302, { location: `${cdnOrigin}/cdn/${cdnGeneration}/${rel}` }).end();
      }
      return serveFile(req, res, rel);
    }
    const cdn = /^\/cdn\/(\d+)\/(.+)$/.exec(path);
    if (cdn) {
      if (state.cdnRefusals > 0) {
        state.cdnRefusals--;
        return void res.writeHead(403).end('expired');
      }
      if (Number(cdn[1]) !== cdnGeneration) return void res.writeHead(403).end('expired');
      return serveFile(req, res, cdn[2] ?? '');
    }
    if (options.staticDir) {
      serveStatic(options.staticDir, path, res).catch(() => res.destroy());
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    folderUrl: `${origin}/models/${name}/`,
    hubEndpoint: `${origin}/hub`,
    files,
    listedSizes,
    faults,
    requests,
    maxConcurrent: () => peak,
    bytesSent: (path) =>
      path === undefined ? [...sent.values()].reduce((a, b) => a + b, 0) : (sent.get(path) ?? 0),
    resetCounts: () => {
      sent.clear();
      hits.clear();
      requests.length = 0;
      seen.length = 0;
    },
    expireCdnUrls: () => void cdnGeneration++,
    refuseCdn: (n) => void (state.cdnRefusals = n),
    seen,
    get offline() {
      return state.offline;
    },
    set offline(value: boolean) {
      state.offline = value;
    },
    refusedWhileOffline: state.refused,
    get pace() {
      return state.pace;
    },
    set pace(value: number | null) {
      state.pace = value;
    },
    close: async () => {
      for (const res of pending) res.socket?.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
