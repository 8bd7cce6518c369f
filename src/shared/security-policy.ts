// Owns the app's security policy in one place: the Content-Security-Policy (as the pages' meta tag and as a header),
// Referrer-Policy, X-Content-Type-Options and frame-ancestors, and which response gets which. vite.config.ts injects
// the meta tags and sends the headers in dev/preview; the e2e server sends the same headers; README-deploy.md copies
// them. It must not be loosened for one feature: the HTML preview gets its own page instead (public/preview.html).

/**
 * Hosts the weight store may download from: the Hugging Face hub, its file CDNs (LFS and Xet redirects land on
 * subdomains of huggingface.co and hf.co). A deployment that points the app at another mirror adds it here.
 */
export const MODEL_HOSTS: readonly string[] = [
  'https://huggingface.co',
  'https://*.huggingface.co',
  'https://*.hf.co',
];

/**
 * No inline script and no eval anywhere; WebAssembly compiles ('wasm-unsafe-eval': ORT and TF.js); workers and
 * frames only from the app itself; images and pictures the user adds arrive as blob:/data: URLs.
 */
export function appContentSecurityPolicy(modelHosts: readonly string[] = MODEL_HOSTS): string {
  return [
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval'",
    // Solid sets style attributes and the dev server injects <style>; no script can come in through CSS.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob:",
    "font-src 'self'",
    `connect-src 'self' ${modelHosts.join(' ')}`,
    "worker-src 'self'",
    "frame-src 'self'",
    "manifest-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'none'",
  ].join('; ');
}

/**
 * The deployment's model hosts: the hub's, plus the origins a deployment lists (space- or comma-separated, e.g.
 * `LLAVA_MODEL_HOSTS="https://mirror.example.org"` at build time) for mirrors its users add. A page's policy cannot
 * change after it loads, so a mirror must be named where the app is built and served.
 */
export function modelHostsWith(extra: string | undefined): string[] {
  const added = (extra ?? '').split(/[\s,]+/).filter((host) => host !== '');
  for (const host of added)
    if (!/^https?:\/\/[a-z0-9.*-]+(:(\d+|\*))?$/i.test(host))
      throw new Error(`Model host "${host}" is not an origin like https://mirror.example.org`);
  return [...MODEL_HOSTS, ...added];
}

/** The page the scripted HTML preview runs in: it carries its own policy and must not get the app's. */
export const PREVIEW_PAGE_PATH = '/preview.html';

/** Headers a meta tag cannot carry, plus the whole CSP again (it also covers workers and the service worker). */
export function securityHeaders(
  urlPath: string,
  modelHosts: readonly string[] = MODEL_HOSTS,
): Record<string, string> {
  const path = urlPath.split(/[?#]/)[0] ?? '';
  const isPreviewPage = path.endsWith(PREVIEW_PAGE_PATH);
  return {
    'Referrer-Policy': 'no-referrer',
    'X-Content-Type-Options': 'nosniff',
    // The preview page is framed by the app; nothing else frames either.
    'Content-Security-Policy': isPreviewPage
      ? "frame-ancestors 'self'"
      : `${appContentSecurityPolicy(modelHosts)}; frame-ancestors 'none'`,
  };
}
