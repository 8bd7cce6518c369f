// Owns how the library reads a model given as a string: a hub repository ('owner/name', optionally '@revision') or
// the URL of a model folder (absolute, or relative to the page). ModelRef objects pass through unchanged.

import type { ModelRef } from '../shared/protocol';

const HUB_REPO = /^[\w.-]+\/[\w.-]+(@[\w./-]+)?$/;

/** The ModelRef of `model`; `base` resolves relative folder URLs (default: the page's address). */
export function modelRefOf(model: string | ModelRef, base?: string): ModelRef {
  if (typeof model !== 'string') return model;
  const isUrl = /^(https?:|\.{0,2}\/)/.test(model);
  if (!isUrl && HUB_REPO.test(model)) {
    const [repo = model, revision] = model.split('@');
    return revision ? { kind: 'hub', repo, revision } : { kind: 'hub', repo };
  }
  const page = base ?? (globalThis as { location?: { href?: string } }).location?.href;
  const baseUrl = page ? new URL(model, page).href : model;
  return { kind: 'url', baseUrl: baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/` };
}
