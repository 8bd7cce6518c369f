// The "update available" prompt: once the app is installed (service worker in control), a new version published on
// the server is noticed, the user is asked, "Later" leaves the running version alone, and "Reload to update"
// activates the new version and reloads into it, keeping the message being written. A new version is simulated by changing the served service worker.
import { appendFile, cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from './harness/build-app';
import { openApp, screenshot, type AppPage } from './ui-harness/app-page';

let app: AppPage;
let site: string;

/** State of the service worker registration, as the page sees it. */
async function registration() {
  return app.page.evaluate(async () => {
    const reg = await navigator.serviceWorker.getRegistration();
    return {
      controlled: navigator.serviceWorker.controller !== null,
      waiting: reg?.waiting?.state ?? null,
      active: reg?.active?.state ?? null,
      prompt: document.querySelector('.update-prompt')?.textContent ?? null,
    };
  });
}

describe('update available prompt', () => {
  beforeAll(async () => {
    // A copy of the built app, so that "publishing a new version" changes only this test's files.
    site = await mkdtemp(path.join(os.tmpdir(), 'ui-update-'));
    await cp(await buildApp({ target: 'app' }), site, { recursive: true });
    app = await openApp({ mounts: [{ prefix: '/', dir: site }] });
  });
  afterAll(async () => {
    await app?.close();
    await rm(site, { recursive: true, force: true });
  });

  it('asks before switching to a new version, and reloads into it when told to', async () => {
    const { page } = app;
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 60_000 });
    expect((await registration()).prompt).toBeNull();

    // Publish a new version and let the browser look for it (as it does on navigations and periodically).
    await appendFile(path.join(site, 'service-worker.js'), `\n// new version ${Date.now()}\n`);
    await page.fill('#composer-input', 'A draft typed before the update');
    await page.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.update());
    await page.waitForSelector('.update-prompt', { timeout: 30_000 });
    const offered = await registration();
    expect(offered.prompt).toContain('A new version of the app is ready.');
    // The new version waits for the user's yes: the page still runs the old one.
    expect(offered.waiting).toBe('installed');
    await screenshot(page, 'update-prompt');

    await page.click('.update-prompt button:has-text("Later")');
    await page.waitForSelector('.update-prompt', { state: 'detached' });
    expect((await registration()).waiting).toBe('installed');
    expect(await page.inputValue('#composer-input')).toBe('A draft typed before the update');

    // The next visit offers it again.
    await app.reload();
    await page.waitForSelector('.update-prompt', { timeout: 30_000 });
    await page.fill('#composer-input', 'Half a question, typed before updating');

    const navigated = page.waitForEvent('framenavigated', { timeout: 30_000 });
    await page.click('.update-prompt button:has-text("Reload to update")');
    await navigated;
    await page.waitForSelector('#composer-input');
    await page.waitForFunction(async () => {
      const reg = await navigator.serviceWorker.getRegistration();
      return reg?.waiting === null && navigator.serviceWorker.controller !== null;
    });
    // No version waits any more: the one that did is the one in control now.
    const updated = await registration();
    expect(updated).toEqual({ controlled: true, waiting: null, active: 'activated', prompt: null });
    // The message being written came through the reload.
    expect(await page.inputValue('#composer-input')).toBe('Half a question, typed before updating');
    expect(app.browser.blockedRequests).toEqual([]);
  });
});
