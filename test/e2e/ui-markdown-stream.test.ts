// Streamed answers are drawn block by block: after every update the answer view shows exactly what rendering the
// whole text at once shows (sanitized the same way), a block that was finished stays the same DOM node (it is not
// rendered again), and hostile Markdown arriving in pieces is still sanitized. Real Chromium, the app's own view.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from './harness/browser';
import { buildApp } from './harness/build-app';
import { startStaticServer, type StaticServer } from './harness/static-server';
import { chunked, markdownAnswer } from './ui-harness/markdown-sample';

let browser: TestBrowser;
let server: StaticServer;
let page: Page;

beforeAll(async () => {
  const dist = await buildApp({ target: 'pages' });
  server = await startStaticServer([{ prefix: '/', dir: dist }]);
  browser = await launchBrowser({ webgpu: false });
  page = await browser.newPage();
  await page.goto(`${server.origin}/test/e2e/pages/markdown.html`);
  await page.waitForFunction(() => 'markdownPage' in globalThis);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

type Compared = { mismatches: string[]; keptFirstBlock: boolean };
const compare = (chunks: string[]) =>
  page.evaluate(
    (c) =>
      (
        globalThis as unknown as { markdownPage: { compare(c: string[]): Promise<Compared> } }
      ).markdownPage.compare(c),
    chunks,
  );

describe('incremental Markdown rendering', () => {
  it('shows after every update what a full render shows, and keeps finished blocks as they are', async () => {
    // Odd chunk sizes cut fences, tables and list markers in every possible place.
    const result = await compare(chunked(markdownAnswer(400), 7));
    expect(result.mismatches.slice(0, 1)).toEqual([]);
    expect(result.keptFirstBlock).toBe(true);
    expect(browser.blockedRequests).toEqual([]);
  });

  it('resolves a reference link whose definition came in an earlier, finished block', async () => {
    // (A reference written before its definition stays text: its block was finished and is not drawn again.)
    const text = '[d]: https://example.com/docs\n\nSee [the docs][d] now.\n\nAnd [again][d], once more.';
    const result = await compare(chunked(text, 5));
    expect(result.mismatches).toEqual([]);
    const html = await page.evaluate(() =>
      (globalThis as unknown as { markdownPage: { html(): string } }).markdownPage.html(),
    );
    expect(html.match(/href="https:\/\/example.com\/docs"/g)).toHaveLength(2);
  });

  it('sanitizes hostile Markdown that arrives in pieces', async () => {
    const hostile = [
      'Intro paragraph.',
      '<img src=x onerror="window.__pwned=1">',
      '[click](javascript:window.__pwned=2)',
      '<script>window.__pwned=3</script>',
      '![remote](https://example.com/track.png)',
      'Last words.',
    ].join('\n\n');
    const result = await compare(chunked(hostile, 3));
    expect(result.mismatches).toEqual([]);
    const html = await page.evaluate(() =>
      (globalThis as unknown as { markdownPage: { html(): string } }).markdownPage.html(),
    );
    expect(html).not.toMatch(/<img[^>]*onerror/i);
    expect(html).not.toMatch(/href="javascript:/i);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toContain('src="https://example.com');
    expect(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBeUndefined();
  });
});
