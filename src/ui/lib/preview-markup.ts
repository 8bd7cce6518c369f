// Owns what the script-free HTML preview drops from the model's markup before it is shown: the elements that make
// Chromium contact another host although the preview's CSP blocks the request itself (a frame or a followed link
// resolves the host and opens a TCP connection before the policy refuses it). It is a second layer: the policy in
// lib/html-preview is what stops every request, and this must not be relied on for that. Browser only (DOMPurify).
import DOMPurify from 'dompurify';

const purifier = DOMPurify();
purifier.addHook('afterSanitizeAttributes', (node) => {
  // Links open in a new window, which the sandbox (no allow-popups) refuses before any navigation starts.
  if (node.hasAttribute('href') && (node.tagName === 'A' || node.tagName === 'AREA'))
    node.setAttribute('target', '_blank');
});

/** The markup with frames, embeds, refreshes, links to other documents and forms removed; styles and SVG kept. */
export function inertPreviewMarkup(html: string): string {
  // DOMPurify's parsing document lives under the app's policy: a <base href> elsewhere would be reported as a
  // violation of base-uri there (harmlessly, the element is dropped anyway), so it is renamed before parsing.
  const unbased = html.replace(/<base\b/gi, '<x-base');
  return purifier.sanitize(unbased, {
    WHOLE_DOCUMENT: true,
    ADD_TAGS: ['style'],
    FORBID_TAGS: [
      'iframe',
      'frame',
      'frameset',
      'object',
      'embed',
      'portal',
      'fencedframe',
      'meta',
      'link',
      'base',
      'form',
    ],
    FORBID_ATTR: ['formaction', 'ping'],
    ADD_ATTR: ['target'],
  });
}
