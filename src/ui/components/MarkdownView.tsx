// Owns showing one answer's Markdown: sanitized HTML, a cursor while it streams, and per-code-block Copy and
// (for HTML) Preview buttons once it is finished. While it streams, finished blocks stay in the page as they are and
// only the growing last block is replaced. All markup comes from lib/markdown (sanitized); buttons are built with
// DOM calls, never from strings.
import { createEffect, onCleanup, type JSX } from 'solid-js';
import { render } from 'solid-js/web';
import { IncrementalMarkdown, isHtmlBlock } from '../lib/markdown';
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

/** Parses sanitized HTML into nodes (a template's content is inert: nothing in it loads or runs). */
function nodesOf(html: string): Node[] {
  const template = document.createElement('template');
  template.innerHTML = html;
  return [...template.content.childNodes];
}

export function MarkdownView(props: { text: string; streaming?: boolean }): JSX.Element {
  let root!: HTMLDivElement;
  let cleanup: () => void = () => undefined;
  const markdown = new IncrementalMarkdown();
  // The growing block's nodes, replaced on every update; finished blocks' nodes are never touched again.
  let tail: Node[] = [];
  let enhanced = false;
  const startOver = () => {
    root.replaceChildren();
    markdown.reset();
    tail = [];
    enhanced = false;
  };
  createEffect(() => {
    const text = props.text;
    const streaming = props.streaming === true;
    cleanup();
    cleanup = () => undefined;
    // Toolbars rewrap code blocks, so a finished answer that changes again is drawn from scratch.
    if (enhanced) startOver();
    let update = markdown.update(text);
    if (!update) {
      startOver();
      update = markdown.update(text) ?? { finished: [], tail: '' };
    }
    root.querySelector(':scope .cursor')?.remove();
    for (const node of tail) node.parentNode?.removeChild(node);
    for (const html of update.finished) root.append(...nodesOf(html));
    tail = nodesOf(update.tail);
    root.append(...tail);
    if (streaming) appendCursor(root);
    else {
      cleanup = enhance(root);
      enhanced = true;
    }
  });
  onCleanup(() => cleanup());
  return <div class="markdown" ref={root} />;
}
