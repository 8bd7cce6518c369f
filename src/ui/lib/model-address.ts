// Owns reading what a person types into "Add a model by address": a hub repo id (with revision and mirror) or the
// URL of a model folder, checked and turned into a ModelRef. Pure: no fetching, no storage, no DOM.
import type { ModelRef } from '../../shared/protocol';
import { DEFAULT_HUB_ENDPOINT, modelIdOf } from '../../store/model-ref';

/** A model the user added by address; the settings keep its ref, the rest is derived from it. */
export interface AddedModel {
  id: string;
  name: string;
  ref: HubRef | UrlRef;
}

export type HubRef = Extract<ModelRef, { kind: 'hub' }>;
export type UrlRef = Extract<ModelRef, { kind: 'url' }>;

/** What the form holds. Revision and endpoint may be left empty. */
export interface AddressInput {
  address: string;
  revision?: string;
  endpoint?: string;
}

export type AddressField = keyof AddressInput;

export type AddressResult =
  { ok: true; model: AddedModel } | { ok: false; field: AddressField; message: string };

const HUB_HOSTS = new Set(['huggingface.co', 'www.huggingface.co', 'hf.co']);

function fail(field: AddressField, message: string): AddressResult {
  return { ok: false, field, message };
}

/** A problem with one part of `owner/name` (the hub's own rules), or null when it is fine. */
function repoPartProblem(part: string, what: string): string | null {
  if (part.length === 0) return `The ${what} is missing.`;
  if (part.length > 96) return `The ${what} is longer than the hub allows (96 characters).`;
  if (!/^[A-Za-z0-9._-]+$/.test(part))
    return `The ${what} “${part}” may only hold letters, digits, “-”, “_” and “.”.`;
  if (/^[-.]|[-.]$/.test(part)) return `The ${what} “${part}” cannot start or end with “-” or “.”.`;
  if (part.includes('--') || part.includes('..')) return `The ${what} “${part}” cannot contain “--” or “..”.`;
  return null;
}

/** Checks a hub repo id (`owner/name`); returns the problem, or null. */
export function repoIdProblem(repo: string): string | null {
  const parts = repo.split('/');
  if (parts.length !== 2)
    return `“${repo}” is not a hub repo id. Write it as owner/name, e.g. llava-hf/llava-interleave-qwen-0.5b-hf.`;
  return repoPartProblem(parts[0] ?? '', 'owner') ?? repoPartProblem(parts[1] ?? '', 'repo name');
}

/** Checks a branch, tag or commit name; returns the problem, or null. */
export function revisionProblem(revision: string): string | null {
  if (revision.length > 200) return 'The revision is too long.';
  if (!/^[A-Za-z0-9._\-/]+$/.test(revision))
    return `The revision “${revision}” may only hold letters, digits, “-”, “_”, “.” and “/” (a branch, tag or commit).`;
  if (
    revision.startsWith('/') ||
    revision.endsWith('/') ||
    revision.includes('..') ||
    revision.includes('//')
  )
    return `The revision “${revision}” is not a valid branch, tag or commit name.`;
  return null;
}

/** An http(s) URL without credentials; else the reason it is not usable from a web page. */
function parseHttpUrl(text: string, what: string): URL | string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `“${text}” is not a valid web address.`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return `The ${what} must start with https:// (or http://): a web page cannot read “${url.protocol}” addresses.`;
  if (url.username || url.password)
    return `The ${what} must not contain a user name or password: the app sends no credentials.`;
  return url;
}

/** Normalises a mirror endpoint (like HF_ENDPOINT): an http(s) URL, no query, no trailing slash. */
export function parseEndpoint(text: string): { ok: true; endpoint: string } | { ok: false; message: string } {
  const url = parseHttpUrl(text, 'mirror address');
  if (typeof url === 'string') return { ok: false, message: url };
  if (url.search || url.hash)
    return { ok: false, message: 'The mirror address must not have a “?…” or “#…” part.' };
  return { ok: true, endpoint: `${url.origin}${url.pathname}`.replace(/\/+$/, '') };
}

function hubModel(repo: string, revision: string | undefined, endpoint: string | undefined): AddedModel {
  const ref: HubRef = { kind: 'hub', repo };
  if (revision !== undefined && revision !== 'main') ref.revision = revision;
  if (endpoint !== undefined && endpoint !== DEFAULT_HUB_ENDPOINT) ref.endpoint = endpoint;
  return describeAdded(ref);
}

/** Id and display name of an added ref. */
export function describeAdded(ref: HubRef | UrlRef): AddedModel {
  if (ref.kind === 'hub') {
    const at = ref.revision === undefined ? '' : ` @ ${ref.revision}`;
    const via = ref.endpoint === undefined ? '' : ` (via ${ref.endpoint.replace(/^https?:\/\//, '')})`;
    return { id: modelIdOf(ref), name: `${ref.repo}${at}${via}`, ref };
  }
  const folder = ref.baseUrl.replace(/\/+$/, '');
  const last = folder.slice(folder.lastIndexOf('/') + 1) || folder;
  const host = /^https?:\/\/([^/]+)/.exec(folder)?.[1];
  return { id: modelIdOf(ref), name: host ? `${last} (${host})` : last, ref };
}

/** A folder URL: an absolute http(s) URL or a path on this site ('/models/x/'), always ending in '/'. */
function folderModel(address: string): AddressResult {
  let href: string;
  if (address.startsWith('/')) {
    if (address.startsWith('//'))
      return fail('address', 'Write the folder address in full, starting with https://.');
    if (/[?#]/.test(address))
      return fail('address', 'A model folder address must not have a “?…” or “#…” part.');
    href = address;
  } else {
    const url = parseHttpUrl(address, 'folder address');
    if (typeof url === 'string') return fail('address', url);
    if (url.search || url.hash)
      return fail('address', 'A model folder address must not have a “?…” or “#…” part.');
    href = url.href;
  }
  if (!href.endsWith('/')) href += '/';
  return { ok: true, model: describeAdded({ kind: 'url', baseUrl: href }) };
}

/** A huggingface.co page address (repo, or its tree/blob/resolve at a revision) → repo and revision. */
function hubPage(url: URL): { repo: string; revision?: string } | null {
  const parts = url.pathname
    .split('/')
    .filter((p) => p !== '')
    .map(decodeURIComponent);
  if (parts[0] === 'models') parts.shift();
  if (parts.length < 2) return null;
  const repo = `${parts[0]}/${parts[1]}`;
  const kind = parts[2];
  if ((kind === 'tree' || kind === 'blob' || kind === 'resolve') && parts[3])
    return { repo, revision: parts[3] };
  return { repo };
}

/**
 * Reads the form. Hub repo ids (`owner/name`) may take a revision and a mirror endpoint; huggingface.co page
 * addresses count as repo ids; any other http(s) address, or a path starting with '/', is a model folder in the
 * transformers.js layout. Every problem names the field to fix.
 */
export function parseModelAddress(input: AddressInput): AddressResult {
  const address = input.address.trim();
  const revision = input.revision?.trim() || undefined;
  const endpointText = input.endpoint?.trim() || undefined;
  if (address === '')
    return fail('address', 'Enter a hub repo id like owner/name, or the web address of a model folder.');
  if (revision !== undefined) {
    const problem = revisionProblem(revision);
    if (problem) return fail('revision', problem);
  }
  let endpoint: string | undefined;
  if (endpointText !== undefined) {
    const parsed = parseEndpoint(endpointText);
    if (!parsed.ok) return fail('endpoint', parsed.message);
    endpoint = parsed.endpoint;
  }

  const isUrl = /^[a-z][a-z0-9+.-]*:/i.test(address);
  if (isUrl || address.startsWith('/')) {
    const url = isUrl ? parseHttpUrl(address, 'address') : null;
    if (typeof url === 'string') return fail('address', url);
    const page = url && HUB_HOSTS.has(url.hostname) ? hubPage(url) : null;
    if (url && HUB_HOSTS.has(url.hostname) && !page)
      return fail('address', 'That huggingface.co address names no model. Paste the model’s page address.');
    if (page) {
      const problem = repoIdProblem(page.repo);
      if (problem) return fail('address', problem);
      return { ok: true, model: hubModel(page.repo, revision ?? page.revision, endpoint) };
    }
    if (revision !== undefined)
      return fail('revision', 'A folder address already names its files: leave the revision empty.');
    if (endpoint !== undefined)
      return fail('endpoint', 'A mirror applies to hub repo ids only: leave it empty for a folder address.');
    return folderModel(address);
  }
  const problem = repoIdProblem(address);
  if (problem) return fail('address', problem);
  return { ok: true, model: hubModel(address, revision, endpoint) };
}

/** Re-checks a ref read back from storage (it may have been edited by hand); null when it is not a valid one. */
export function addedModelFromStored(value: unknown): AddedModel | null {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  const str = (x: unknown) => (typeof x === 'string' ? x : undefined);
  let result: AddressResult | null = null;
  if (v.kind === 'hub' && typeof v.repo === 'string') {
    result = parseModelAddress({
      address: v.repo,
      revision: str(v.revision) ?? '',
      endpoint: str(v.endpoint) ?? '',
    });
  } else if (v.kind === 'url' && typeof v.baseUrl === 'string') {
    result = parseModelAddress({ address: v.baseUrl });
  }
  return result?.ok ? result.model : null;
}
