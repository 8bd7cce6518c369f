// Owns showing an HTML code block as a page: an iframe sandboxed with scripts only (no same-origin), fed by srcdoc.
// The page inside cannot reach the app's storage, cookies, DOM or the engine, and its CSP blocks the network.
import type { JSX } from 'solid-js';
import { previewDocument } from '../lib/html-preview';

export function HtmlPreview(props: { html: string; css?: string[]; js?: string[] }): JSX.Element {
  const doc = () =>
    previewDocument(props.html, {
      ...(props.css ? { css: props.css } : {}),
      ...(props.js ? { js: props.js } : {}),
    });
  return (
    <figure class="html-preview">
      <iframe
        class="html-preview-frame"
        title="Preview of the HTML code (sandboxed)"
        sandbox="allow-scripts"
        referrerpolicy="no-referrer"
        srcdoc={doc()}
      />
      <figcaption>
        Sandboxed preview: scripts run, but the page cannot reach this app’s data or the network.
      </figcaption>
    </figure>
  );
}
