// Rendering benchmark (not a test): streams a 3,000-token Markdown answer through the app's answer view in headless
// Chromium, one update per task, the way tokens arrive, and reports main-thread time per update and long tasks, side by
// side in one run for the previous way (the whole answer rendered and sanitized again on every update) and the
// incremental view, plus the same loop rendering nothing (long tasks a busy machine causes by itself) and the load
// average. Run: npm run bench:markdown [-- --tokens 3000 --chars 4]
import { loadavg } from 'node:os';
import type { Page } from 'playwright-core';
import { launchBrowser } from '../e2e/harness/browser';
import { buildApp } from '../e2e/harness/build-app';
import { startStaticServer } from '../e2e/harness/static-server';
import { chunked, markdownAnswer, type Mode, type StreamMetrics } from '../e2e/ui-harness/markdown-sample';

function arg(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at >= 0 ? Number(process.argv[at + 1]) : NaN;
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

function summary(m: StreamMetrics) {
  const sorted = [...m.updateMs].sort((a, b) => a - b);
  const tenth = Math.max(1, Math.floor(m.updateMs.length / 10));
  return {
    updates: m.updates,
    totalMs: mean(m.updateMs) * m.updates,
    meanMs: mean(m.updateMs),
    p95Ms: quantile(sorted, 0.95),
    maxMs: sorted[sorted.length - 1] ?? 0,
    firstTenthMeanMs: mean(m.updateMs.slice(0, tenth)),
    lastTenthMeanMs: mean(m.updateMs.slice(-tenth)),
    finishMs: m.finishMs,
    longTasks: m.longTasks,
    updatesOver50: m.updateMs.filter((ms) => ms > 50).length,
    longestTaskMs: m.longestTaskMs,
  };
}

async function run(page: Page, mode: Mode, chunks: string[]) {
  const metrics = await page.evaluate(
    ([m, c]) =>
      (
        globalThis as unknown as { markdownPage: { stream(m: Mode, c: string[]): Promise<StreamMetrics> } }
      ).markdownPage.stream(m, c),
    [mode, chunks] as const,
  );
  return summary(metrics);
}

async function main(): Promise<void> {
  const tokens = arg('tokens', 3000);
  const size = arg('chars', 4);
  const text = markdownAnswer(tokens);
  const chunks = chunked(text, size);
  const dist = await buildApp({ target: 'pages' });
  const server = await startStaticServer([{ prefix: '/', dir: dist }]);
  const browser = await launchBrowser({ webgpu: false });
  try {
    const page = await browser.newPage();
    await page.goto(`${server.origin}/test/e2e/pages/markdown.html`);
    await page.waitForFunction(() => 'markdownPage' in globalThis);
    const results: Record<string, ReturnType<typeof summary>> = {};
    // Warm up both paths (JIT, highlight.js grammars), then measure: previous, incremental.
    await run(page, 'full', chunks.slice(0, 200));
    await run(page, 'incremental', chunks.slice(0, 200));
    results.previous = await run(page, 'full', chunks);
    results.incremental = await run(page, 'incremental', chunks);
    // The same loop rendering nothing: long tasks here come from the machine (other processes, GC), not a view.
    results.idle = await run(page, 'idle', chunks);
    const f = (x: number) => x.toFixed(2);
    console.log(`load average (1 min) at the end: ${f(loadavg()[0] ?? 0)} on this machine's cores`);
    console.log(
      `answer: ${text.length} characters, ~${tokens} tokens, ${chunks.length} updates of ${size} characters`,
    );
    console.log(
      'view          total ms  mean ms  p95 ms  max ms  first 10% ms  last 10% ms  finish ms  long tasks  longest ms  updates >50 ms',
    );
    for (const [name, r] of Object.entries(results)) {
      console.log(
        `${name.padEnd(12)} ${f(r.totalMs).padStart(9)} ${f(r.meanMs).padStart(8)} ${f(r.p95Ms).padStart(7)} ${f(r.maxMs).padStart(7)} ` +
          `${f(r.firstTenthMeanMs).padStart(13)} ${f(r.lastTenthMeanMs).padStart(12)} ${f(r.finishMs).padStart(10)} ` +
          `${String(r.longTasks).padStart(11)} ${f(r.longestTaskMs).padStart(11)} ${String(r.updatesOver50).padStart(15)}`,
      );
    }
    const p = results.previous;
    const i = results.incremental;
    if (p && i) {
      console.log(
        `ratio previous/incremental: total ${f(p.totalMs / i.totalMs)}×, last 10% per update ${f(p.lastTenthMeanMs / i.lastTenthMeanMs)}×`,
      );
    }
  } finally {
    await browser.close();
    await server.close();
  }
}

await main();
