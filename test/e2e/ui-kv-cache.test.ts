// The KV-cache budget in settings reaches the engine: with the default budget a follow-up question reuses the cached
// prompt (its stats say how many tokens), the panel shows what the cache holds; set to 0 MiB, the next answer reads
// the whole conversation again and the cache stays empty. The setting survives a reload.
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { appForSuite, closeSettings, openSettings, screenshot, sendAndWait } from './ui-harness/app-page';

const app = appForSuite({ maxNewTokens: 4 });

/** The technical details of the answer (its stats line's tooltip). */
async function ask(page: Page, text: string): Promise<string> {
  const answer = await sendAndWait(page, text);
  expect(answer.error).toBe('');
  expect(answer.status).toBe('done');
  return answer.details;
}

async function cacheFact(page: Page): Promise<string> {
  await page.click('.model-button');
  const text = (await page.locator('[data-testid="kv-cache"]').textContent()) ?? '';
  return text;
}

describe('KV-cache budget setting', () => {
  it('reuses the cached prompt for a follow-up with the default budget', async () => {
    const { page } = app;
    expect(await ask(page, 'Hi')).not.toContain('reused');
    const stats = await ask(page, 'And?');
    const reused = Number(/(\d+) reused/.exec(stats)?.[1] ?? 0);
    const prompt = Number(/(\d+) \+ \d+ tokens/.exec(stats)?.[1] ?? 0);
    expect(reused).toBeGreaterThan(0);
    expect(reused).toBeLessThan(prompt);
    expect(await cacheFact(page)).toMatch(/^[1-9][\d.]* (B|KB|MB) of 512 MB · 1 chat$/);
    await screenshot(page, 'kv-cache-engine-facts');
    await page.keyboard.press('Escape');
    await openSettings(page);
    expect(await page.inputValue('#set-kv-cache')).toBe('512');
  });

  it('keeps no cache and reuses nothing once the budget is set to 0 MiB', async () => {
    const { page } = app;
    await page.fill('#set-kv-cache', '0');
    await page.press('#set-kv-cache', 'Tab');
    await page.locator('#set-kv-cache').scrollIntoViewIfNeeded();
    await screenshot(page, 'kv-cache-setting');
    await closeSettings(page);
    const stats = await ask(page, 'Once more');
    expect(stats).toMatch(/\d+ \+ \d+ tokens/);
    expect(stats).not.toContain('reused');
    expect(await cacheFact(page)).toBe('0 B of 0 B · 0 chats');
    await page.keyboard.press('Escape');
    await page.waitForSelector('.model-panel', { state: 'detached' });
  });

  it('remembers the budget across a reload, and refuses values out of range', async () => {
    const { page } = app;
    await app.reload();
    await openSettings(page);
    expect(await page.inputValue('#set-kv-cache')).toBe('0');
    await page.fill('#set-kv-cache', '-5');
    await page.press('#set-kv-cache', 'Tab');
    expect(await page.inputValue('#set-kv-cache')).toBe('0');
    await page.fill('#set-kv-cache', '99999999');
    await page.press('#set-kv-cache', 'Tab');
    expect(await page.inputValue('#set-kv-cache')).toBe('16384');
    expect(app.browser.blockedRequests).toEqual([]);
  });
});
