// Owns showing an HTML code block as a page, in an iframe sandboxed without same-origin: no access to the app's
// storage, DOM or engine. Scripts are off unless the user turns them on for this preview; the network is closed
// either way (the policy from lib/html-preview), except WebRTC when scripts run, which no browser lets a page block.
// A preview that leaves its document (a link, a refresh, a script setting location) is closed, not followed.
import { createSignal, onCleanup, Show, type JSX } from 'solid-js';
import {
  isPreviewPageMessage,
  previewDocument,
  previewPolicy,
  SCRIPTED_PREVIEW_PAGE,
  type PreviewContentMessage,
} from '../lib/html-preview';
import { inertPreviewMarkup } from '../lib/preview-markup';

interface FrameProps {
  doc: string;
  onLeave: () => void;
}

function baseFrame(): HTMLIFrameElement {
  const frame = document.createElement('iframe');
  frame.className = 'html-preview-frame';
  frame.title = 'Preview of the HTML code (sandboxed)';
  frame.referrerPolicy = 'no-referrer';
  return frame;
}

/**
 * Scripts off: the markup has lost what makes Chromium open connections the policy then refuses (preview-markup),
 * and the document is the frame's srcdoc, so it also inherits the app's own policy; the `csp` attribute
 * (Chromium's embedded enforcement, applied to srcdoc documents without their consent) repeats the preview policy
 * outside the document. Without allow-scripts Chromium also refuses meta refresh.
 */
function StaticFrame(props: FrameProps): JSX.Element {
  const frame = baseFrame();
  frame.setAttribute('sandbox', '');
  frame.setAttribute('csp', previewPolicy(false));
  let loads = 0;
  frame.addEventListener('load', () => {
    if (++loads > 1) props.onLeave();
  });
  frame.srcdoc = props.doc;
  return frame;
}

/**
 * Scripts on: srcdoc would inherit the app's script-src and run nothing, so the frame opens the app's preview page
 * (its own strict policy, scripts inline only) and hands it the document once. The page loads once, then once more
 * when it writes the document; a third load, or the page saying "ready" again, means the preview went elsewhere.
 */
function ScriptedFrame(props: FrameProps): JSX.Element {
  const frame = baseFrame();
  frame.setAttribute('sandbox', 'allow-scripts');
  let loads = 0;
  let sent = false;
  frame.addEventListener('load', () => {
    if (++loads > 2) props.onLeave();
  });
  const onMessage = (event: MessageEvent) => {
    if (event.source !== frame.contentWindow || !isPreviewPageMessage(event.data)) return;
    if (event.data.previewPage !== 'ready') return;
    if (sent) return props.onLeave();
    sent = true;
    const message: PreviewContentMessage = { previewDocument: props.doc };
    // The page's origin is opaque, so no narrower target origin exists; it is our own page, just loaded.
    frame.contentWindow?.postMessage(message, '*');
  };
  window.addEventListener('message', onMessage);
  onCleanup(() => window.removeEventListener('message', onMessage));
  frame.src = SCRIPTED_PREVIEW_PAGE;
  return frame;
}

export function HtmlPreview(props: { html: string; css?: string[]; js?: string[] }): JSX.Element {
  const [scripts, setScripts] = createSignal(false);
  const [left, setLeft] = createSignal(false);
  const extras = () => ({ ...(props.css ? { css: props.css } : {}), ...(props.js ? { js: props.js } : {}) });
  const leave = () => setLeft(true);
  return (
    <figure class="html-preview">
      <Show
        when={!left()}
        fallback={
          <p class="html-preview-left" role="status">
            The preview tried to open another page, so it was stopped.{' '}
            <button type="button" class="code-action" onClick={() => setLeft(false)}>
              Show it again
            </button>
          </p>
        }
      >
        <Show
          when={scripts()}
          fallback={
            <StaticFrame doc={previewDocument(inertPreviewMarkup(props.html), extras())} onLeave={leave} />
          }
        >
          <ScriptedFrame doc={previewDocument(props.html, extras(), { scripts: true })} onLeave={leave} />
        </Show>
      </Show>
      <figcaption>
        <label class="html-preview-scripts">
          <input
            type="checkbox"
            checked={scripts()}
            onChange={(event) => {
              setLeft(false);
              setScripts(event.currentTarget.checked);
            }}
          />{' '}
          Run its scripts
        </label>
        <span>
          {scripts()
            ? 'Scripts run sandboxed, away from this app’s data, and requests are blocked; but a script can still signal another computer (WebRTC, connection attempts), which browsers do not let a page block.'
            : 'Sandboxed, scripts off: the page cannot reach this app’s data or the network.'}
        </span>
      </figcaption>
    </figure>
  );
}
