// What the header says about the model and what happens when the app opens: before the first Send it says the
// model loads on Send (never a bare "(not loaded)", also after a reload); with "Load the last model when the app
// opens" on, a reload loads it with no Send. Offline, a hub model's failure is said once (on its download card, or in
// the answer after a Send), with no claim of a lost connection, and it is gone once another model loads.
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { modelIdOf } from '../../src/store/model-ref';
import { appForSuite, closeSettings, openSettings, screenshot, sendAndWait } from './ui-harness/app-page';

const app = appForSuite({ maxNewTokens: 4 });
const NANO_ID = modelIdOf({ kind: 'hub', repo: 'Xenova/nanoLLaVA', revision: 'main' });

const label = (page: Page) => page.locator('.model-button-label').textContent();

/** Waits until the header's model button says `text` (it says "Model" until the model list is read). */
const waitLabel = (page: Page, text: string) =>
  page.waitForFunction((t) => document.querySelector('.model-button-label')?.textContent === t, text, {
    timeout: 60_000,
  });

/** How many times `text` shows on the page. */
const shown = (page: Page, text: string) =>
  page.evaluate((t) => document.body.innerText.split(t).length - 1, text);

async function loadFromPanel(page: Page, cardName: string): Promise<void> {
  if ((await page.locator('.model-panel').count()) === 0) await page.click('.model-button');
  // Test models sit in a fold that is open only while one of them is the chosen model.
  await page.locator('details.test-models').evaluate((d) => ((d as HTMLDetailsElement).open = true));
  await page.click(`.model-card[aria-label^="${cardName}"] .model-actions button.primary`);
}

describe('the model when the app opens', () => {
  it('says the model loads on Send, before the first answer and again after a reload', async () => {
    const { page } = app;
    await waitLabel(page, 'Tiny LLaVA · loads on Send');
    expect(await page.locator('.model-button').getAttribute('title')).toContain(
      'Load the last model when the app opens',
    );
    expect((await sendAndWait(page, 'Hi')).status).toBe('done');
    expect(await label(page)).toBe('Tiny LLaVA');
    await app.reload();
    await page.waitForSelector('.message-assistant');
    await waitLabel(page, 'Tiny LLaVA · loads on Send');
    expect(await page.locator('header').textContent()).not.toContain('not loaded');
  });

  it('loads the last model as the app opens when the setting is on', async () => {
    const { page } = app;
    await openSettings(page);
    await page.check('#set-load-on-start');
    await page.locator('#set-load-on-start').scrollIntoViewIfNeeded();
    await screenshot(page, 'setting-load-on-start');
    await closeSettings(page);
    const answers = await page.locator('.message-assistant').count();
    await app.reload();
    // Loaded with no Send: the header names the model alone.
    await waitLabel(page, 'Tiny LLaVA');
    await screenshot(page, 'model-loaded-on-start');
    expect(await page.locator('.message-assistant').count()).toBe(answers);
  });

  it('offline, says a hub model failed once, without "Lost the connection", and clears it when another model loads', async () => {
    const { page } = app;
    await page.context().setOffline(true);
    // The page's own request fence would also refuse the hub; fail it as a dead network does.
    await page.context().route('https://huggingface.co/**', (route) => route.abort('internetdisconnected'));
    try {
      // From the model panel: said on the model's download card, and only there.
      await loadFromPanel(page, 'nanoLLaVA');
      const error = page.locator('.download-error');
      await error.waitFor({ timeout: 60_000 });
      const message = (await error.textContent()) ?? '';
      expect(message).toMatch(/This device is offline|Could not reach huggingface\.co/);
      expect(message).not.toContain('Lost the connection');
      await page.waitForTimeout(500);
      expect(await shown(page, message)).toBe(1);
      expect(await page.locator('.notice-error').count()).toBe(0);
      await error.scrollIntoViewIfNeeded();
      await screenshot(page, 'hub-offline-failure');
      // The model that was loaded still is, and stays the one Send uses.
      await page.keyboard.press('Escape');
      await page.waitForSelector('.model-panel', { state: 'detached' });
      expect(await label(page)).toBe('Tiny LLaVA');

      // The hub model chosen on an earlier visit, nothing loaded: Send tries it, and only the answer says why not.
      await page.evaluate((id) => {
        const key = 'llava-browser:settings';
        const settings = JSON.parse(localStorage.getItem(key) ?? '{}') as Record<string, unknown>;
        localStorage.setItem(key, JSON.stringify({ ...settings, modelId: id }));
      }, NANO_ID);
      await app.reload();
      await waitLabel(page, 'nanoLLaVA · loads on Send');
      const answer = await sendAndWait(page, 'Still there?');
      expect(answer.status).toBe('error');
      expect(answer.error).toMatch(/This device is offline|Could not reach huggingface\.co/);
      expect(answer.error).not.toContain('Lost the connection');
      expect(await shown(page, answer.error.trim())).toBe(1);
      expect(await page.locator('.notice-error').count()).toBe(0);
      expect(await label(page)).toBe('nanoLLaVA · could not load');
    } finally {
      await page.context().unroute('https://huggingface.co/**');
      await page.context().setOffline(false);
    }

    // Another model loads: no red message about the failed one is left but the answer's own.
    await loadFromPanel(page, 'Tiny LLaVA');
    await page.waitForFunction(
      () =>
        document.querySelector('[data-testid="loaded-model"]')?.textContent?.includes('tiny-llava-random'),
      null,
      { timeout: 60_000 },
    );
    expect(await page.locator('.download-error').count()).toBe(0);
    expect(await page.locator('.notice-error').count()).toBe(0);
    expect(await label(page)).toBe('Tiny LLaVA');
    expect(app.browser.blockedRequests).toEqual([]);
  });
});
