// Owns the document an HTML code block is previewed as and the policy it runs under. The policy is always the very
// first bytes of that document, before any model content, so no markup the model writes can land ahead of it. It
// must not decide how the document is shown (HtmlPreview does: sandbox, srcdoc or the scripted preview page).

/**
 * Nothing the page may load leaves the document: inline styles and scripts (when scripts are allowed), data:/blob:
 * images, fonts and media. default-src 'none' also covers fetch, beacons, WebSockets, frames, objects, prefetches;
 * form-action and base-uri do not fall back to default-src, so they are named.
 */
export function previewPolicy(scripts: boolean): string {
  return [
    "default-src 'none'",
    `script-src ${scripts ? "'unsafe-inline'" : "'none'"}`,
    "style-src 'unsafe-inline'",
    'img-src data: blob:',
    'font-src data:',
    'media-src data: blob:',
    "form-action 'none'",
    "base-uri 'none'",
  ].join('; ');
}

/** The preview page's own address (public/preview.html), relative to the app; it runs scripted previews. */
export const SCRIPTED_PREVIEW_PAGE = 'preview.html';

/** The message the parent sends the scripted preview page, and the ones the page sends back. */
export interface PreviewContentMessage {
  previewDocument: string;
}
export interface PreviewPageMessage {
  previewPage: 'ready' | 'shown';
}

const LEADING_DOCTYPE = /^\uFEFF?\s*<!doctype[^>]*>/i;

function escapeAttribute(value: string): string {
  return value.replaceAll('&', '&amp;').replaceAll('"', '&quot;').replaceAll('<', '&lt;');
}

/**
 * The preview document for an HTML block: doctype, policy, then the answer's sibling CSS blocks (when the HTML has
 * no style of its own), the model's HTML, and its sibling JS blocks (when the HTML has no script of its own). The
 * model's own doctype is dropped so that the policy can come first without tipping the page into quirks mode.
 */
export function previewDocument(
  html: string,
  extras: { css?: string[]; js?: string[] } = {},
  options: { scripts?: boolean } = {},
): string {
  const css = (extras.css ?? []).filter((c) => c.trim() !== '');
  const js = (extras.js ?? []).filter((c) => c.trim() !== '');
  const head = [
    '<!doctype html>',
    `<meta http-equiv="Content-Security-Policy" content="${escapeAttribute(previewPolicy(options.scripts ?? false))}">`,
    // Chromium resolves hosts named in links ahead of time unless told not to; CSP does not govern that.
    '<meta http-equiv="x-dns-prefetch-control" content="off">',
    '<meta charset="utf-8">',
  ];
  const body = html.replace(LEADING_DOCTYPE, '');
  const parts = [head.join('')];
  if (css.length > 0 && !/<style[\s>]/i.test(body)) parts.push(`<style>${css.join('\n')}</style>`);
  parts.push(body);
  if (js.length > 0 && !/<script[\s>]/i.test(body)) parts.push(`<script>${js.join('\n;\n')}</script>`);
  return parts.join('\n');
}

export function isPreviewPageMessage(data: unknown): data is PreviewPageMessage {
  const page = (data as { previewPage?: unknown } | null)?.previewPage;
  return page === 'ready' || page === 'shown';
}
