// On a host that cannot send COOP/COEP, the service worker adds them: after its first install the page reloads once
// and is cross-origin isolated (so WASM may use several threads), without any reload loop.
import { afterAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from './harness/browser';
import { buildApp } from './harness/build-app';
import { getTinyModel } from '../fixtures/tiny-model';
import { DEMO_PREFIX } from './ui-harness/app-page';
import { startPlainServer } from './ui-harness/plain-server';

let browser: TestBrowser | undefined;
let server: { origin: string; close(): Promise<void> } | undefined;

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('cross-origin isolation on a host without headers', () => {
  it('becomes isolated after the service worker installs, with exactly one reload', async () => {
    const dist = await buildApp({ target: 'app' });
    server = await startPlainServer([
      { prefix: DEMO_PREFIX, dir: getTinyModel('tiny', { dtypes: ['fp32', 'q8', 'q4'] }).dir },
      { prefix: '/', dir: dist },
    ]);
    browser = await launchBrowser();
    const page = await browser.newPage();
    let loads = 0;
    page.on('load', () => loads++);
    await page.goto(`${server.origin}/`);
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(false);
    await page.waitForFunction(
      () => crossOriginIsolated && document.querySelector('#composer-input') !== null,
      null,
      { timeout: 60_000 },
    );
    expect(loads).toBe(2);
    // It stays isolated on later visits, with no further reloads.
    await page.reload();
    await page.waitForSelector('#composer-input');
    await page.waitForTimeout(500);
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    expect(loads).toBe(3);
    expect(browser.blockedRequests).toEqual([]);
  });
});
