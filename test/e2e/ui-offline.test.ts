// First visit to offline use: the first-run screen says what will be downloaded, the download shows its progress,
// the service worker installs, and then — with the server gone and the browser offline — a reload still opens the
// app, loads the model from IndexedDB and answers. No request ever leaves localhost.
import { describe, expect, it } from 'vitest';
import { DEMO_PREFIX, appForSuite, screenshot, sendAndWait, setSetting } from './ui-harness/app-page';

const app = appForSuite({ welcomed: false });

describe('first run, download and offline use', () => {
  it('explains on first run what will be downloaded and how big, with the test model labelled as random weights', async () => {
    const { page } = app;
    const dialog = page.locator('.first-run[role="dialog"]');
    await dialog.waitFor();
    await page.waitForFunction(() =>
      /\d+(\.\d+)? (KB|MB)/.test(document.querySelector('.first-run-models')?.textContent ?? ''),
    );
    const text = (await dialog.textContent()) ?? '';
    expect(text).toContain('downloaded once');
    expect(text).toMatch(/Micro LLaVA[^]*\d+(\.\d+)? (KB|MB), nothing to download/);
    expect(text).toMatch(/Tiny LLaVA[^]*Random weights/);
    // Focus starts in the dialog, for keyboard users.
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('first-run-title');
    await screenshot(page, 'first-run');
    // The app shell is stored, but with no model nothing works offline yet: no claim that it does.
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 60_000 });
    await page.waitForTimeout(500);
    expect(await page.locator('.notices').textContent()).not.toMatch(/offline/i);
    // Notices fade after a few seconds: keep every one shown from now on.
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { __notices: string[] }).__notices = seen;
      new MutationObserver(() => {
        const text = document.querySelector('.notices')?.textContent ?? '';
        if (text && !seen.includes(text)) seen.push(text);
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
  });

  it('shows download progress in bytes while the demo model downloads', async () => {
    const { page } = app;
    // Hold the largest file until the progress has been seen, so the in-between state is observable.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    await page.context().route(`**${DEMO_PREFIX}onnx/decoder_model_merged*.onnx`, async (route) => {
      await held;
      await route.continue();
    });
    // The random-weights model waits under "Test models"; its download opens the model panel.
    await page.click('.first-run details.test-models summary');
    await page.click('.first-run button:has-text("Load test model")');
    const download = page.locator('.download');
    await download.waitFor();
    await page.waitForFunction(() =>
      /\d+(\.\d+)? (B|KB) of \d+(\.\d+)? (KB|MB)/.test(
        document.querySelector('.download-numbers')?.textContent ?? '',
      ),
    );
    expect(await download.locator('progress').count()).toBe(1);
    await screenshot(page, 'downloading');
    release();
    await page.waitForFunction(
      () =>
        document.querySelector('[data-testid="loaded-model"]')?.textContent?.includes('tiny-llava-random'),
      null,
      {
        timeout: 120_000,
      },
    );
    await page.context().unroute(`**${DEMO_PREFIX}onnx/decoder_model_merged*.onnx`);
    expect(await page.locator('[data-testid="backend"]').textContent()).toMatch(/WebGPU|WebAssembly/);
    await page.waitForFunction(() =>
      document.querySelector('.model-card .model-cached')?.textContent?.includes('On this device'),
    );
  });

  it('answers online, then offline after a reload with the server gone', async () => {
    const { page } = app;
    // Short answers: the demo's context window is 512 tokens.
    if (await page.locator('.model-panel').count()) await page.keyboard.press('Escape');
    await setSetting(page, '#set-max', '16');
    const greeting = await sendAndWait(page, 'Hello?');
    expect(greeting.error).toBe('');
    expect(greeting.status).toBe('done');

    // The service worker controls the page and has precached the app shell and ORT's runtime.
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 60_000 });
    const cached = await page.evaluate(async () => {
      const names = await caches.keys();
      const urls: string[] = [];
      for (const name of names)
        for (const req of await (await caches.open(name)).keys()) urls.push(new URL(req.url).pathname);
      return urls;
    });
    expect(cached.some((u) => u.endsWith('.wasm'))).toBe(true);
    expect(cached.some((u) => /index\.html$/.test(u))).toBe(true);
    expect(cached.some((u) => u.includes('/models/'))).toBe(false);
    // Now a model is stored as well: that is when the app says it works offline.
    await page.waitForFunction(() =>
      (window as unknown as { __notices: string[] }).__notices.some((t) => t.includes('Ready offline')),
    );

    await app.server.close();
    await page.context().setOffline(true);
    const served = app.server.requests.length;
    await app.reload();
    await page.waitForSelector('.message-assistant');
    const answer = await sendAndWait(page, 'And offline?');
    expect(answer.error).toBe('');
    expect(answer.status).toBe('done');
    expect(answer.text.length).toBeGreaterThan(0);
    expect(app.server.requests.length).toBe(served);
  });

  it('opens offline from deep links with any query string; the training page says it needs a connection', async () => {
    const { page } = app;
    const origin = app.server.origin;
    for (const link of ['/?ref=bookmark', '/index.html?x=1', '/?utm_source=x#top']) {
      await page.goto(`${origin}${link}`);
      await page.waitForSelector('#composer-input', { timeout: 20_000 });
      expect(await page.locator('.message-assistant').count(), link).toBeGreaterThan(0);
    }
    // The browser's offline switch does not reach the service worker's own fetches: fail them like a dead network.
    await page.context().route('**/train.html', (route) => route.abort('internetdisconnected'));
    await page.goto(`${origin}/train.html`);
    expect(await page.locator('h1').textContent()).toBe('Training needs a connection');
    await page.click('a:has-text("Open the chat app")');
    await page.waitForSelector('#composer-input', { timeout: 20_000 });
  });

  it('sent no request outside localhost', () => {
    expect(app.browser.blockedRequests).toEqual([]);
  });
});
