// Owns showing one answer's Markdown: sanitized HTML, a cursor while it streams, and per-code-block Copy and
// (for HTML) Preview buttons once it is finished. All markup comes from lib/markdown (sanitized); buttons are
// built with DOM calls, never from strings.
import { createEffect, onCleanup, type JSX } from 'solid-js';
import { render } from 'solid-js/web';
import { isHtmlBlock, renderMarkdown } from '../lib/markdown';
import { HtmlPreview } from './HtmlPreview';

const CURSOR_HOSTS = new Set([
  'P',
  'LI',
  'H1',
  'H2',
  'H3',
  'H4',
  'H5',
  'H6',
  'CODE',
  'TD',
  'TH',
  'BLOCKQUOTE',
]);

function appendCursor(root: HTMLElement): void {
  const cursor = document.createElement('span');
  cursor.className = 'cursor';
  cursor.setAttribute('aria-hidden', 'true');
  let host: Element = root;
  // Put the cursor at the end of the last text, not on a line of its own.
  for (;;) {
    const last: Element | null = host.lastElementChild;
    if (
      !last ||
      !(
        CURSOR_HOSTS.has(last.tagName) ||
        last.tagName === 'PRE' ||
        last.tagName === 'UL' ||
        last.tagName === 'OL'
      )
    )
      break;
    host = last;
  }
  host.appendChild(cursor);
}

function button(label: string, text: string, onClick: (b: HTMLButtonElement) => void): HTMLButtonElement {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'code-action';
  b.textContent = text;
  b.setAttribute('aria-label', label);
  b.addEventListener('click', () => onClick(b));
  return b;
}

/** Adds a toolbar to each code block; returns a cleanup for previews it mounted. */
function enhance(root: HTMLElement): () => void {
  const disposers: (() => void)[] = [];
  const blocks = [...root.querySelectorAll('pre > code')];
  const codeOf = (lang: string) =>
    blocks
      .filter((c) => (c.getAttribute('data-lang') ?? '').toLowerCase() === lang)
      .map((c) => c.textContent ?? '');
  const css = codeOf('css');
  const js = [...codeOf('javascript'), ...codeOf('js')];
  blocks.forEach((code, i) => {
    const pre = code.parentElement;
    if (!pre) return;
    const lang = code.getAttribute('data-lang') ?? '';
    const source = code.textContent ?? '';
    const bar = document.createElement('div');
    bar.className = 'code-bar';
    const name = document.createElement('span');
    name.className = 'code-lang';
    name.textContent = lang || 'text';
    bar.appendChild(name);
    bar.appendChild(
      button(`Copy code block ${i + 1}`, 'Copy', (b) => {
        void navigator.clipboard.writeText(source).then(
          () => {
            b.textContent = 'Copied';
            b.setAttribute('aria-label', `Copied code block ${i + 1}`);
            setTimeout(() => {
              b.textContent = 'Copy';
              b.setAttribute('aria-label', `Copy code block ${i + 1}`);
            }, 1500);
          },
          () => {
            b.textContent = 'Copy failed';
            b.setAttribute('aria-label', `Copy failed for code block ${i + 1}`);
          },
        );
      }),
    );
    if (isHtmlBlock(lang, source)) {
      let mount: HTMLDivElement | null = null;
      let dispose: (() => void) | null = null;
      bar.appendChild(
        button(`Preview HTML code block ${i + 1}`, 'Preview', (b) => {
          if (mount) {
            dispose?.();
            mount.remove();
            mount = null;
            b.textContent = 'Preview';
            b.setAttribute('aria-label', `Preview HTML code block ${i + 1}`);
            b.setAttribute('aria-expanded', 'false');
            return;
          }
          mount = document.createElement('div');
          pre.after(mount);
          dispose = render(() => <HtmlPreview html={source} css={css} js={js} />, mount);
          disposers.push(() => dispose?.());
          b.textContent = 'Close preview';
          // The accessible name keeps the words shown (WCAG 2.5.3).
          b.setAttribute('aria-label', `Close preview of HTML code block ${i + 1}`);
          b.setAttribute('aria-expanded', 'true');
        }),
      );
    }
    const wrap = document.createElement('div');
    wrap.className = 'code-block';
    pre.before(wrap);
    wrap.append(bar, pre);
  });
  return () => disposers.forEach((d) => d());
}

export function MarkdownView(props: { text: string; streaming?: boolean }): JSX.Element {
  let root!: HTMLDivElement;
  let cleanup: () => void = () => undefined;
  createEffect(() => {
    cleanup();
    cleanup = () => undefined;
    root.innerHTML = renderMarkdown(props.text);
    if (props.streaming) appendCursor(root);
    else cleanup = enhance(root);
  });
  onCleanup(() => cleanup());
  return <div class="markdown" ref={root} />;
}
