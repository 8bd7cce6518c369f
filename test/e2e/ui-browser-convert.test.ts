// "Convert in this browser" in the app: the newcomer's path for TinyLLaVA. The hub is imitated (its requests are
// answered from the local hub look-alike serving a tiny bf16 checkpoint under bczhou/tiny-llava-v1-hf's name): one
// click starts the conversion worker, one progress bar shows the whole job (every state the card shows is recorded
// and checked: phases in order, tensor k of n, bytes of the plan's download, rate, time left, a bar that never goes
// back), Cancel mid-pass keeps the work and, after a reload, Resume goes on from there; the converted model is loaded
// and answers.
import path from 'node:path';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { getTinyModel } from '../fixtures/tiny-model';
import { removeTempDirs, tempDir, writeLlavaHfCheckpoint } from '../unit/convert-helpers';
import { startStoreServer } from '../unit/helpers/store-server';
import { appForSuite, screenshotDir, sendAndWait, setSetting } from './ui-harness/app-page';

const app = appForSuite({ welcomed: false });
const REPO = 'bczhou/tiny-llava-v1-hf';
/** Most bytes the look-alike sends for an open range (a server may send less than asked: the worker reopens). */
const PIECE = 16 * 1024;

/** One state of the card as a person sees it. */
interface Shown {
  text: string;
  phase: string;
  sourceBytes: number;
  downloadBytes: number;
  /** The bar's value of max 100; null while indeterminate or without a bar. */
  value: number | null;
  bar: boolean;
}

/** Safetensors header length (8 + JSON) and its largest tensor's bytes. */
function headerOf(bytes: Uint8Array): { header: number; largest: number } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  const json = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<
    string,
    { data_offsets?: [number, number] }
  >;
  const sizes = Object.values(json).map((t) => (t.data_offsets ? t.data_offsets[1] - t.data_offsets[0] : 0));
  return { header: 8 + n, largest: Math.max(...sizes) };
}

describe('in-browser conversion from the model panel', () => {
  it('converts TinyLLaVA with one click and one progress bar, loads it and answers', async () => {
    const { page } = app;
    const tiny = getTinyModel('tiny');
    const dir = path.join(tempDir('ui-convert'), 'ckpt');
    writeLlavaHfCheckpoint(dir, tiny.config, tiny.weights, 'llava-hf', { dtype: 'BF16', shards: 2 });
    const files = new Map(readdirSync(dir).map((n) => [n, new Uint8Array(readFileSync(path.join(dir, n)))]));
    const hub = await startStoreServer(files, {
      repo: REPO,
      isLfs: (p) => p.endsWith('.safetensors'),
      treePageSize: 100,
    });
    /** [file, first byte] of every open range (the data pass's streams and their reopenings), in order. */
    const opened: Array<[string, number]> = [];
    try {
      // Answer the app's hub requests (the worker's included) from the look-alike, as the hub would: with CORS.
      await app.browser.context.route('https://huggingface.co/**', async (route) => {
        const request = route.request();
        const cors = {
          'access-control-allow-origin': '*',
          'access-control-allow-headers': 'range',
          'access-control-expose-headers': 'content-range, content-length, etag, link',
          'cross-origin-resource-policy': 'cross-origin',
        };
        if (request.method() === 'OPTIONS') return route.fulfill({ status: 204, headers: cors });
        let range = request.headers()['range'];
        // The data pass streams each file with one open range: answer it in pieces, a little apart, so its middle
        // lasts long enough to be watched (and Cancel pressed) on a checkpoint this small.
        const open = /^bytes=(\d+)-$/.exec(range ?? '');
        if (open) {
          opened.push([request.url().slice(request.url().lastIndexOf('/') + 1), Number(open[1])]);
          range = `bytes=${open[1]}-${Number(open[1]) + PIECE - 1}`;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        const answer = await fetch(request.url().replace('https://huggingface.co', hub.hubEndpoint), {
          headers: range ? { range } : {},
        });
        const headers: Record<string, string> = {};
        answer.headers.forEach((v, k) => {
          // The next page of the file list is named by absolute URL: keep it on the hub's host.
          if (!['content-encoding', 'transfer-encoding', 'connection'].includes(k))
            headers[k] = v.replaceAll(hub.hubEndpoint, 'https://huggingface.co');
        });
        return route.fulfill({
          status: answer.status,
          headers,
          body: Buffer.from(await answer.arrayBuffer()),
        });
      });
      await page.click('.first-run button:has-text("Choose later")');
      await page.waitForSelector('.model-panel');
      const card = page.locator('.conversion-card[aria-label^="TinyLLaVA"]');
      await card.locator('text=Reads').waitFor();
      await page.screenshot({ path: path.join(screenshotDir, 'browser-convert-card.png') });
      // Every state the card shows, in order (a mutation observer reads it after each change).
      const watchCard = () =>
        page.evaluate(() => {
          const seen: unknown[] = [];
          (window as unknown as { shown: unknown[] }).shown = seen;
          const read = (): void => {
            const el = document.querySelector('.conversion-card[aria-label^="TinyLLaVA"]');
            const status = el?.querySelector<HTMLElement>('.conversion-status');
            const bar = el?.querySelector('progress');
            const state = {
              text: status?.textContent ?? '',
              phase: status?.dataset['phase'] ?? '',
              sourceBytes: Number(status?.dataset['sourceBytes'] ?? 0),
              downloadBytes: Number(status?.dataset['downloadBytes'] ?? 0),
              value: bar?.hasAttribute('value') ? Number(bar.getAttribute('value')) : null,
              bar: bar !== null && bar !== undefined,
            };
            if (JSON.stringify(state) !== JSON.stringify(seen[seen.length - 1])) seen.push(state);
          };
          new MutationObserver(read).observe(document.body, {
            subtree: true,
            childList: true,
            characterData: true,
            attributes: true,
          });
        });
      await watchCard();
      const shown = (): Promise<Shown[]> =>
        page.evaluate(() => (window as unknown as { shown: Shown[] }).shown.slice());
      await card.locator('button:has-text("Convert in this browser")').click();
      // Mid-pass: a third of the tensors written, with the rate and the time left.
      await page.waitForFunction(
        () => {
          const m = /tensor (\d+) of (\d+)/.exec(
            document.querySelector('.conversion-status')?.textContent ?? '',
          );
          return m !== null && Number(m[1]) * 3 >= Number(m[2]);
        },
        null,
        { timeout: 60_000 },
      );
      await page.screenshot({ path: path.join(screenshotDir, 'browser-convert-progress.png') });
      await card.locator('button:has-text("Cancel")').click();
      await page.locator('.notice:has-text("cancelled")').waitFor();
      await page.screenshot({ path: path.join(screenshotDir, 'browser-convert-cancelled.png') });
      const cancelled = (await page.locator('.notice:has-text("cancelled")').textContent()) ?? '';
      expect(cancelled).toContain('Resume goes on from there');
      expect(await card.locator('progress').count()).toBe(0);
      const firstRun = await shown();
      // Resume after a reload: the card finds the paused conversion on its own.
      await app.reload();
      if ((await page.locator('.model-panel').count()) === 0) await page.click('.model-button');
      await card.locator('.conversion-paused').waitFor();
      await card.scrollIntoViewIfNeeded();
      await page.screenshot({ path: path.join(screenshotDir, 'browser-convert-paused.png') });
      await watchCard();
      const sentBeforeResume = hub.bytesSent();
      const openedBeforeResume = opened.length;
      await card.locator('button:has-text("Resume conversion")').click();
      await page
        .waitForFunction(
          () =>
            document
              .querySelector('[data-testid="loaded-model"]')
              ?.textContent?.includes('converted/bczhou/tiny-llava-v1-hf') === true,
          null,
          { timeout: 180_000 },
        )
        .catch(async (error: unknown) => {
          const notices = await page.locator('.notice, [role="alert"]').allTextContents();
          await page.screenshot({ path: path.join(screenshotDir, 'browser-convert-failed.png') });
          notices.push(
            ...(await page.locator('.conversion-status, [data-testid="loaded-model"]').allTextContents()),
          );
          throw new Error(
            `${String(error)}\nnotices: ${notices.join(' | ')}\nblocked: ${app.browser.blockedRequests.slice(0, 5).join(', ')}\n` +
              app.browser.logs.slice(-15).join('\n'),
          );
        });
      expect(await card.locator('progress').count()).toBe(0);
      await card.locator('text=On this device').waitFor();
      const secondRun = await shown();
      // Kept for reading what the card said, state by state (next to the screenshots).
      writeFileSync(
        path.join(screenshotDir, 'browser-convert-states.json'),
        JSON.stringify({ firstRun, secondRun }, null, 1),
      );
      const safetensors = [...files].filter(([p]) => p.endsWith('.safetensors'));
      const download = safetensors.reduce((n, [, b]) => n + b.byteLength, 0);
      checkRun(firstRun, download, false);
      checkRun(secondRun, download, true);
      // Resumed where the first run stopped: its first counted bytes and its bar start past zero.
      const resumedAt = secondRun.find((s) => s.phase === 'convert' && s.downloadBytes > 0);
      expect(resumedAt?.sourceBytes, JSON.stringify(secondRun.slice(0, 5))).toBeGreaterThan(0);
      expect(resumedAt?.value).toBeGreaterThan(0);
      // Nothing finished was fetched again: every file once, its header once per run (the plan), plus at most the
      // tensor in flight, the rest of the piece it was in and the piece the look-alike was sending when Cancel came.
      // The resumed run's first stream starts at the very byte its bar and text started from.
      const firstResumed = opened[openedBeforeResume];
      const before = safetensors
        .filter(([p]) => p < firstResumed![0])
        .reduce((n, [, b]) => n + b.byteLength, 0);
      expect(before + firstResumed![1], JSON.stringify(opened)).toBe(resumedAt!.sourceBytes);
      expect(resumedAt!.sourceBytes).toBeGreaterThan(0);
      let headers = 0;
      let largest = 0;
      for (const [, b] of safetensors) {
        const h = headerOf(b);
        headers += h.header;
        largest = Math.max(largest, h.largest);
      }
      const again = hub.bytesSent() - download - 2 * headers;
      expect(again, `${sentBeforeResume} before Resume`).toBeGreaterThanOrEqual(0);
      expect(again).toBeLessThanOrEqual(largest + 2 * PIECE);
      await page.keyboard.press('Escape');
      await setSetting(page, '#set-max', '6');
      const answer = await sendAndWait(page, 'What is in the picture?');
      expect(answer.error).toBe('');
      expect(answer.status).toBe('done');
      await page.screenshot({ path: path.join(screenshotDir, 'browser-convert-answer.png') });
    } finally {
      await hub.close();
      removeTempDirs();
    }
  }, 300_000);
});

/**
 * One run's states: the phases in the order (reading the plan → downloading and converting → writing →
 * checking), tensor k of n rising (to n when the run finishes), source bytes rising to the plan's download, a rate
 * and the time left mid-pass, and a bar that never goes back.
 */
function checkRun(states: Shown[], download: number, finished: boolean): void {
  const dump = JSON.stringify(states.slice(-8), null, 1);
  const running = states.filter((s) => s.bar);
  expect(running[0]?.phase, dump).toBe('plan');
  expect(running[0]?.text).toMatch(/^Reading the plan/);
  const order = ['plan', 'convert', 'write', 'check'];
  const phases = running.map((s) => s.phase);
  // A phase may come back (the store copy runs whenever a data file is complete) but never before one it follows.
  const first = order.map((p) => phases.indexOf(p));
  for (let i = 1; i < order.length && finished; i++)
    expect(first[i], `${order[i]} in ${phases.join(' ')}`).toBeGreaterThan(first[i - 1]!);
  if (finished) {
    expect(
      phases.slice(first[3]).every((p) => p === 'check'),
      phases.join(' '),
    ).toBe(true);
    // Read back to its last byte before the bar goes.
    expect(running.at(-1)?.text).toMatch(/^Checking the converted files: ([\d.]+ [KMG]?B) of \1, /);
  } else expect(first[1]).toBeGreaterThan(first[0]!);
  let k = 0;
  let n = 0;
  let bytes = 0;
  let value = 0;
  for (const s of running) {
    const m = /tensor (\d+) of (\d+)/.exec(s.text);
    if (m) {
      expect(Number(m[1]), s.text).toBeGreaterThanOrEqual(k);
      k = Number(m[1]);
      n = Number(m[2]);
    }
    if (s.phase === 'convert' || s.phase === 'write') {
      expect(s.downloadBytes).toBe(download);
      expect(s.sourceBytes, s.text).toBeGreaterThanOrEqual(bytes);
      bytes = s.sourceBytes;
    }
    if (s.value !== null) {
      expect(s.value, s.text).toBeGreaterThanOrEqual(value);
      value = s.value;
    }
  }
  const mid = running.filter((s) => s.phase === 'convert');
  expect(
    mid.some((s) => /, [\d.]+ [KMG]?B\/s, (\d+ min )?\d+ s left$/.test(s.text)),
    dump,
  ).toBe(true);
  if (finished) {
    expect(k).toBe(n);
    expect(n).toBeGreaterThan(10);
    expect(bytes).toBe(download);
    expect(value).toBe(100);
    expect(states.at(-1)?.bar).toBe(false);
  }
}
