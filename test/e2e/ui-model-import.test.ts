// A model folder picked from disk (folder input) is stored in the browser, listed as imported, loaded and used to
// answer, with no network involved beyond the app itself; it is named after its folder and can be renamed.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { getTinyModel } from '../fixtures/tiny-model';
import { appForSuite, sendAndWait, setSetting } from './ui-harness/app-page';

const app = appForSuite({ welcomed: false });

describe('local model import', () => {
  it('imports a folder, loads it and answers with it', async () => {
    const { page } = app;
    await page.click('.first-run button:has-text("Choose later")');
    await page.waitForSelector('.model-panel');
    const dir = getTinyModel('tiny', { dtypes: ['fp32', 'q8', 'q4'] }).dir;
    await page.setInputFiles('#import-model-folder', dir);
    const imported = page.locator('.model-card:has(.badge:has-text("Imported folder"))');
    await imported.waitFor({ timeout: 60_000 });
    // Named after the folder, not its storage id.
    expect(await imported.locator('h4').textContent()).toBe(path.basename(dir));
    await page.waitForFunction(
      () => !document.querySelector('[data-testid="loaded-model"]')?.textContent?.includes('none loaded'),
      null,
      {
        timeout: 120_000,
      },
    );
    const loaded = (await page.locator('[data-testid="loaded-model"]').textContent()) ?? '';
    const card =
      (await page.locator('.model-card:has(.badge:has-text("Imported folder"))').textContent()) ?? '';
    expect(card).toContain('On this device');
    expect(loaded).not.toContain('tiny-llava-random');
    await imported.locator('button:has-text("Rename")').click();
    await imported.locator('.rename-form input').fill('My tiny model');
    await imported.locator('.rename-form button:has-text("Save")').click();
    await page.waitForFunction(() =>
      [...document.querySelectorAll('.model-card h4')].some((h) => h.textContent === 'My tiny model'),
    );
    if (await page.locator('.model-panel').count()) await page.keyboard.press('Escape');
    await setSetting(page, '#set-max', '8');
    const answer = await sendAndWait(page, 'Hello from an imported model');
    expect(answer.error).toBe('');
    expect(answer.status).toBe('done');
    // No weights came from the server (only the demo's manifest, read for its size): they came from the folder.
    expect(
      app.server.requests.filter((r) => r.path.startsWith('/models/') && !r.path.endsWith('/manifest.json')),
    ).toEqual([]);
    expect(app.browser.blockedRequests).toEqual([]);
  });
});
