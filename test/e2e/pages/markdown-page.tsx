// Test page: streams a Markdown answer through the app's own answer view (MarkdownView, incremental) or through the
// previous way of showing it (the whole text rendered and sanitized again on every update), one update per task, and
// measures main-thread time per update and long tasks. Used by test/e2e/ui-markdown-stream and
// test/bench/markdown-render. Not part of the app.
import { createSignal } from 'solid-js';
import { render } from 'solid-js/web';
import { MarkdownView } from '../../../src/ui/components/MarkdownView';
import { renderMarkdown } from '../../../src/ui/lib/markdown';
import '../../../src/ui/styles/index.css';
import type { Mode, StreamMetrics } from '../ui-harness/markdown-sample';

const host = document.getElementById('answer') as HTMLDivElement;
const [text, setText] = createSignal('');
const [streaming, setStreaming] = createSignal(true);
let dispose: (() => void) | null = null;
let mode: Mode = 'incremental';

function mount(next: Mode): void {
  dispose?.();
  dispose = null;
  host.replaceChildren();
  mode = next;
  setText('');
  setStreaming(true);
  if (next === 'incremental') {
    dispose = render(() => <MarkdownView text={text()} streaming={streaming()} />, host);
  } else if (next === 'full') {
    const root = document.createElement('div');
    root.className = 'markdown';
    host.append(root);
  }
}

/** Shows `value` the way the chosen view does. */
function show(value: string, isStreaming: boolean): void {
  if (mode === 'incremental') {
    setText(value);
    setStreaming(isStreaming);
  } else if (mode === 'full') {
    (host.firstElementChild as HTMLElement).innerHTML = renderMarkdown(value);
  }
}

const nextTask = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

async function stream(next: Mode, chunks: string[]): Promise<StreamMetrics> {
  mount(next);
  const tasks: PerformanceEntry[] = [];
  const observer = new PerformanceObserver((list) => tasks.push(...list.getEntries()));
  observer.observe({ type: 'longtask', buffered: false });
  await nextTask();
  const updateMs: number[] = [];
  let value = '';
  for (const chunk of chunks) {
    value += chunk;
    const t0 = performance.now();
    show(value, true);
    void host.offsetHeight;
    updateMs.push(performance.now() - t0);
    await nextTask();
  }
  const t0 = performance.now();
  show(value, false);
  void host.offsetHeight;
  const finishMs = performance.now() - t0;
  await nextTask();
  await new Promise((resolve) => setTimeout(resolve, 100));
  observer.disconnect();
  return {
    updates: chunks.length,
    updateMs,
    finishMs,
    longTasks: tasks.length,
    longestTaskMs: tasks.reduce((m, t) => Math.max(m, t.duration), 0),
  };
}

/** Streams `chunks` into the incremental view and records, after each update, whether it shows what a full render shows. */
async function compare(chunks: string[]): Promise<{ mismatches: string[]; keptFirstBlock: boolean }> {
  mount('incremental');
  const reference = document.createElement('div');
  const mismatches: string[] = [];
  let value = '';
  let first: Element | null = null;
  let keptFirstBlock = true;
  for (const chunk of chunks) {
    value += chunk;
    show(value, true);
    const shown = host.querySelector('.markdown') as HTMLElement;
    const copy = shown.cloneNode(true) as HTMLElement;
    copy.querySelectorAll('.cursor').forEach((c) => c.remove());
    reference.innerHTML = renderMarkdown(value);
    if (copy.innerHTML !== reference.innerHTML) mismatches.push(value);
    // A block that was finished stays the same node: it was not rendered again.
    const firstNow = shown.firstElementChild;
    if (first && value.length > 200 && firstNow !== first) keptFirstBlock = false;
    if (value.length > 200 && !first) first = firstNow;
    await nextTask();
  }
  show(value, false);
  return { mismatches, keptFirstBlock };
}

Object.assign(globalThis, {
  markdownPage: {
    stream,
    compare,
    html: () => host.innerHTML,
  },
});
