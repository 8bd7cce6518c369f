// "Convert in this browser" in the app: the newcomer's path for TinyLLaVA. The hub is imitated (its requests are
// answered from the local hub look-alike serving a tiny bf16 checkpoint under bczhou/tiny-llava-v1-hf's name): one
// click starts the conversion worker, one progress bar shows it, the converted model is loaded and answers.
import path from 'node:path';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { getTinyModel } from '../fixtures/tiny-model';
import { removeTempDirs, tempDir, writeLlavaHfCheckpoint } from '../unit/convert-helpers';
import { startStoreServer } from '../unit/helpers/store-server';
import { appForSuite, screenshotDir, sendAndWait, setSetting } from './ui-harness/app-page';

const app = appForSuite({ welcomed: false });
const REPO = 'bczhou/tiny-llava-v1-hf';

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
        const range = request.headers()['range'];
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
      await card.locator('button:has-text("Convert in this browser")').click();
      await card.locator('progress').waitFor({ timeout: 20_000 });
      await page.screenshot({ path: path.join(screenshotDir, 'browser-convert-progress.png') });
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
      // Each safetensors file was sent once (its header twice: once more for the plan).
      for (const [p, b] of files) {
        if (!p.endsWith('.safetensors')) continue;
        const header = 8 + Number(new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true));
        expect(hub.bytesSent(p)).toBe(b.byteLength + header);
      }
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
