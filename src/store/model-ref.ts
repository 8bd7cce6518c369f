// Owns model identity and addresses: the id a ModelRef is stored under and the URL of each of its files. No I/O.
import { EngineError } from '../shared/errors';
import type { ModelRef } from '../shared/protocol';

/** The public hub; a mirror can be named per ref (`endpoint`), like HF_ENDPOINT for the Python client. */
export const DEFAULT_HUB_ENDPOINT = 'https://huggingface.co';

/** The key a model's files are stored under. Mirrors of one repo share it: the same revision has the same bytes. */
export function modelIdOf(ref: ModelRef): string {
  switch (ref.kind) {
    case 'hub':
      return ref.revision === undefined || ref.revision === 'main' ? ref.repo : `${ref.repo}@${ref.revision}`;
    case 'url':
      return ref.id ?? ref.baseUrl.replace(/\/+$/, '');
    case 'local':
      // Prefixed so that importing a folder never overwrites a downloaded model of the same name.
      return `local:${ref.id}`;
  }
}

/** The endpoint without a trailing slash. */
export function hubEndpoint(ref: { endpoint?: string }): string {
  return (ref.endpoint ?? DEFAULT_HUB_ENDPOINT).replace(/\/+$/, '');
}

/** Encodes each segment of a relative path, keeping the slashes. */
export function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

/**
 * True for a plain relative path inside a model folder ('config.json', 'onnx/x.onnx'): no '..', no leading slash,
 * no backslash, no empty segment. Listings from servers and folders are filtered with it.
 */
export function isSafeRelativePath(path: string): boolean {
  if (path.length === 0 || path.length > 512 || path.startsWith('/') || path.includes('\\')) return false;
  return path.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..');
}

/** Resolves a possibly relative URL ('/models/x/') against the page or worker location. */
export function absoluteUrl(url: string): string {
  try {
    return new URL(url).href;
  } catch {
    const base = (globalThis as { location?: { href?: string } }).location?.href;
    if (base === undefined) {
      throw new EngineError(
        'download-failed',
        `The model address "${url}" is relative and there is no page to resolve it against. Use a full http(s) URL.`,
      );
    }
    return new URL(url, base).href;
  }
}

/** The folder URL of a url-kind ref, always ending in '/'. */
export function baseUrlOf(ref: { baseUrl: string }): string {
  const abs = absoluteUrl(ref.baseUrl);
  return abs.endsWith('/') ? abs : `${abs}/`;
}

/**
 * Where one file of the model is downloaded from. Computed afresh for every request: hub files redirect to signed
 * CDN URLs that expire, so a resumed download never reuses an old redirect target.
 * Throws EngineError('bad-model') for local refs, which have no address.
 */
export function fileUrl(ref: ModelRef, path: string): string {
  switch (ref.kind) {
    case 'hub':
      return `${hubEndpoint(ref)}/${ref.repo}/resolve/${encodeURIComponent(ref.revision ?? 'main')}/${encodePath(path)}`;
    case 'url':
      return new URL(encodePath(path), baseUrlOf(ref)).href;
    case 'local':
      throw new EngineError(
        'bad-model',
        `The imported model "${ref.id}" is missing ${path}. Import its folder again.`,
      );
  }
}

/** The hub's file listing for a repo revision (first page). */
export function treeApiUrl(ref: { repo: string; revision?: string; endpoint?: string }): string {
  return `${hubEndpoint(ref)}/api/models/${ref.repo}/tree/${encodeURIComponent(ref.revision ?? 'main')}?recursive=true`;
}
