// Layout and accessibility: keyboard-only use from the skip link to an answer, every control named, phone width with
// the chats drawer, dark mode from the system setting. Screenshots of each for people to look at.
import { afterEach, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import {
  openApp,
  screenshot,
  sendAndWait,
  waitAnswerDone,
  answerStarts,
  type AppPage,
} from './ui-harness/app-page';
import { makePng } from './ui-harness/images';

let app: AppPage | undefined;

afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** Attaches a PNG through the composer's picture input and waits for its thumbnail. */
async function attachPng(page: Page, name: string, png: Buffer): Promise<void> {
  await page.setInputFiles('input[type="file"][accept="image/*"]', {
    name,
    mimeType: 'image/png',
    buffer: png,
  });
  await page.waitForSelector(`.attachment img[alt="${name}"]`);
}

/** Visible controls without an accessible name (aria-label, aria-labelledby, <label for>, or their own text). */
async function unnamedControls(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const named = (el: Element): boolean => {
      if (el.getAttribute('aria-label')?.trim()) return true;
      const by = el.getAttribute('aria-labelledby');
      if (by && by.split(/\s+/).some((id) => document.getElementById(id)?.textContent?.trim())) return true;
      if (el.id && document.querySelector(`label[for="${CSS.escape(el.id)}"]`)?.textContent?.trim())
        return true;
      if (el.closest('label')?.textContent?.trim()) return true;
      if ([...el.querySelectorAll('img[alt]')].some((img) => img.getAttribute('alt')?.trim())) return true;
      return (el.textContent ?? '').trim() !== '';
    };
    return [...document.querySelectorAll('button, input, textarea, select, a[href], [role="button"]')]
      .filter((el) => (el as HTMLElement).offsetParent !== null && el.getAttribute('aria-hidden') !== 'true')
      .filter((el) => !named(el))
      .map((el) => el.outerHTML.slice(0, 120));
  });
}

describe('layout and accessibility', () => {
  it('works with the keyboard alone: skip link, attach through the file picker, Shift+Enter, send, panel focus', async () => {
    app = await openApp({ maxNewTokens: 8 });
    const { page } = app;
    // Listening turns on Playwright's file-chooser interception, which reaches the browser asynchronously: start it
    // well before the key press that opens the picker, or a busy machine can open the picker first.
    const chooser = page.waitForEvent('filechooser', { timeout: 120_000 });
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toContain(
      'Skip to the message box',
    );
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('composer-input');

    // Shift+Tab reaches the attach button; Enter opens the file picker.
    await page.keyboard.press('Shift+Tab');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe(
      'Attach pictures',
    );
    await page.keyboard.press('Enter');
    await (await chooser).setFiles({ name: 'keyboard.png', mimeType: 'image/png', buffer: makePng(120, 90) });
    await page.waitForSelector('.attachment img[alt="keyboard.png"]');

    await page.keyboard.press('Tab');
    await page.keyboard.type('Line one');
    await page.keyboard.press('Shift+Enter');
    await page.keyboard.type('line two');
    expect(await page.inputValue('#composer-input')).toBe('Line one\nline two');
    await answerStarts(page, () => page.keyboard.press('Enter'));
    await waitAnswerDone(page);
    expect(await page.locator('.message-user .message-text').textContent()).toBe('Line one\nline two');

    expect(await unnamedControls(page)).toEqual([]);
    await page.click('.model-button');
    await page.waitForSelector('.model-panel');
    // Opening the panel moves focus into it; Esc closes it and gives focus back to its button.
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('model-panel-title');
    expect(await unnamedControls(page)).toEqual([]);
    await page.keyboard.press('Escape');
    await page.waitForSelector('.model-panel', { state: 'detached' });
    expect(await page.evaluate(() => document.activeElement?.classList.contains('model-button'))).toBe(true);
    expect(app.browser.blockedRequests).toEqual([]);
  });

  it('fits a phone: chats in a drawer, no horizontal scrolling', async () => {
    app = await openApp({ viewport: { width: 390, height: 844 }, maxNewTokens: 8 });
    const { page } = app;
    expect(await page.locator('#sidebar').isHidden()).toBe(true);
    await attachPng(page, 'phone.png', makePng(300, 400, 2));
    await sendAndWait(page, 'What is in this picture?');
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot(page, 'phone');

    await page.click('button[aria-label="Chats"]');
    expect(await page.getAttribute('button[aria-label="Chats"]', 'aria-expanded')).toBe('true');
    await page.locator('#sidebar').waitFor();
    await screenshot(page, 'phone-drawer');
    await page.keyboard.press('Escape');
    await page.locator('#sidebar').waitFor({ state: 'hidden' });
  });

  it('follows the system dark theme', async () => {
    app = await openApp({ colorScheme: 'dark', maxNewTokens: 8 });
    const { page } = app;
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const [r = 255, g = 255, b = 255] = (background.match(/\d+/g) ?? []).map(Number);
    expect(r + g + b).toBeLessThan(150);
    await attachPng(page, 'dark.png', makePng(320, 240, 5));
    await sendAndWait(page, 'Describe this image in detail.');
    await page.click('.model-button');
    await page.waitForSelector('.model-panel');
    await screenshot(page, 'dark');
  });
});
