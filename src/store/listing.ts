// Owns reading what a model folder offers: the hub tree API (paged) or a manifest.json. It stores nothing.
import { EngineError } from '../shared/errors';
import type { RemoteFile } from './file-select';
import { fetchJson, type FetchLike } from './http';
import { hubEndpoint, isSafeRelativePath, treeApiUrl } from './model-ref';

const HEX64 = /^[0-9a-f]{64}$/;
const HEX40 = /^[0-9a-f]{40}$/;

/** The URL in a `Link: <…>; rel="next"` header, or null. */
export function parseLinkNext(header: string | null): string | null {
  if (!header) return null;
  for (const part of header.split(',')) {
    const match = /<([^>]+)>\s*;(.*)/.exec(part.trim());
    if (match && /rel\s*=\s*"?next"?/.test(match[2] ?? '')) return match[1] ?? null;
  }
  return null;
}

/** One entry of the hub tree API → a RemoteFile (null for directories and odd paths). */
export function parseTreeEntry(entry: unknown): RemoteFile | null {
  if (typeof entry !== 'object' || entry === null) return null;
  const e = entry as Record<string, unknown>;
  if (e['type'] !== 'file' || typeof e['path'] !== 'string' || !isSafeRelativePath(e['path'])) return null;
  const lfs =
    typeof e['lfs'] === 'object' && e['lfs'] !== null ? (e['lfs'] as Record<string, unknown>) : null;
  const size =
    typeof lfs?.['size'] === 'number' ? lfs['size'] : typeof e['size'] === 'number' ? e['size'] : null;
  const file: RemoteFile = { path: e['path'], size };
  const sha256 = typeof lfs?.['oid'] === 'string' ? lfs['oid'].toLowerCase() : '';
  if (HEX64.test(sha256)) file.sha256 = sha256;
  else if (typeof e['oid'] === 'string' && HEX40.test(e['oid'].toLowerCase()))
    file.gitSha1 = e['oid'].toLowerCase();
  return file;
}

/**
 * Every file of a hub repo revision, following `Link: rel="next"` pages. LFS files come with sha256, small git
 * files with their git blob sha1. Throws download-failed (unreachable, 404 repo/revision, 401 private/gated).
 */
export async function listHubFiles(
  ref: { repo: string; revision?: string; endpoint?: string },
  options: {
    fetch: FetchLike;
    signal?: AbortSignal | undefined;
    retryBaseMs?: number;
    maxRetryAfterMs?: number;
    /** Sent as Authorization to the hub endpoint's host only. */
    hubToken?: string | undefined;
  },
): Promise<RemoteFile[]> {
  const hubHost = new URL(hubEndpoint(ref)).host;
  const files: RemoteFile[] = [];
  let url: string | null = treeApiUrl(ref);
  const seen = new Set<string>();
  while (url !== null && !seen.has(url)) {
    seen.add(url);
    const page = await fetchJson(options.fetch, url, `the file list of ${ref.repo}`, {
      signal: options.signal,
      hubHost,
      hubToken: options.hubToken,
      ...(options.retryBaseMs === undefined ? {} : { retryBaseMs: options.retryBaseMs }),
      ...(options.maxRetryAfterMs === undefined ? {} : { maxRetryAfterMs: options.maxRetryAfterMs }),
    });
    if (page === null) break;
    if (!Array.isArray(page.json)) {
      throw new EngineError(
        'download-failed',
        `The hub's file list for ${ref.repo} has an unexpected shape. Try again later.`,
      );
    }
    for (const entry of page.json) {
      const file = parseTreeEntry(entry);
      if (file) files.push(file);
    }
    const next = parseLinkNext(page.response.headers.get('link'));
    url = next === null ? null : new URL(next, url).href;
  }
  return files;
}

/**
 * Parses a manifest.json: `{files: [{path, size, sha256}]}` or `{files: {path: {size, sha256}}}`.
 * Throws EngineError('bad-model') when it is not one.
 */
export function parseManifest(json: unknown): RemoteFile[] {
  const filesField =
    typeof json === 'object' && json !== null ? (json as Record<string, unknown>)['files'] : undefined;
  const entries: [string, unknown][] = Array.isArray(filesField)
    ? filesField.map((f) => [
        typeof f === 'object' && f !== null ? String((f as Record<string, unknown>)['path']) : '',
        f,
      ])
    : typeof filesField === 'object' && filesField !== null
      ? Object.entries(filesField)
      : [];
  if (entries.length === 0)
    throw new EngineError(
      'bad-model',
      'The model folder has a manifest.json without a file list. Regenerate the folder.',
    );
  const out: RemoteFile[] = [];
  for (const [path, value] of entries) {
    const v = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
    if (!isSafeRelativePath(path) || typeof v['size'] !== 'number' || v['size'] < 0) {
      throw new EngineError(
        'bad-model',
        `The model folder's manifest.json lists "${path}" without a valid size. Regenerate the folder.`,
      );
    }
    const file: RemoteFile = { path, size: v['size'] };
    const sha = typeof v['sha256'] === 'string' ? v['sha256'].toLowerCase() : '';
    if (HEX64.test(sha)) file.sha256 = sha;
    out.push(file);
  }
  return out;
}

/** The manifest.json of a folder URL, or null when the server has none (404). */
export async function listManifest(
  folderUrl: string,
  options: {
    fetch: FetchLike;
    signal?: AbortSignal | undefined;
    retryBaseMs?: number;
    maxRetryAfterMs?: number;
  },
): Promise<RemoteFile[] | null> {
  const url = new URL('manifest.json', folderUrl).href;
  const result = await fetchJson(options.fetch, url, 'the model manifest', {
    signal: options.signal,
    allow404: true,
    ...(options.retryBaseMs === undefined ? {} : { retryBaseMs: options.retryBaseMs }),
    ...(options.maxRetryAfterMs === undefined ? {} : { maxRetryAfterMs: options.maxRetryAfterMs }),
  });
  return result === null ? null : parseManifest(result.json);
}
