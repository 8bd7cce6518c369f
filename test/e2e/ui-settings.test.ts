// Settings have their own dialog, reachable from the header with the keyboard alone: Tab to the Settings button,
// Enter opens it with focus inside, the theme choice applies at once and survives a reload, Esc closes it and gives
// focus back to the button. The model panel no longer holds the settings. "?" shows the shortcuts, which work.
import { describe, expect, it } from 'vitest';
import { appForSuite, closeSettings, screenshot } from './ui-harness/app-page';

const app = appForSuite({ maxNewTokens: 4, colorScheme: 'light' });

describe('settings dialog', () => {
  it('opens from the header with the keyboard, changes the theme, and closes with Esc', async () => {
    const { page } = app;
    await page.focus('button[aria-label="New chat"]');
    for (let i = 0; i < 6; i++) {
      if (await page.evaluate(() => document.activeElement?.classList.contains('settings-button'))) break;
      await page.keyboard.press('Tab');
    }
    expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('Settings');
    await page.keyboard.press('Enter');
    await page.waitForSelector('dialog.settings-dialog[open]');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('settings-title');
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('light');
    await page.focus('#set-theme');
    await page.selectOption('#set-theme', 'dark');
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    await screenshot(page, 'settings-dialog-dark');
    await page.keyboard.press('Escape');
    await page.waitForSelector('dialog.settings-dialog', { state: 'detached' });
    expect(await page.evaluate(() => document.activeElement?.classList.contains('settings-button'))).toBe(
      true,
    );

    await app.reload();
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    // Back to the system's choice (light here).
    await page.click('.settings-button');
    await page.selectOption('#set-theme', 'system');
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('light');
    // Closed and gone before the next test types "?" (a key pressed while it closes would go to the dialog).
    await closeSettings(page);
  });

  it('shows the shortcuts with "?", and they work', async () => {
    const { page } = app;
    await page.focus('.settings-button');
    await page.keyboard.press('?');
    await page.waitForSelector('dialog.shortcuts-dialog[open]');
    const sheet = (await page.locator('.shortcuts').textContent()) ?? '';
    for (const line of ['Send the message', 'New chat', 'Open the settings', 'Go to the message box']) {
      expect(sheet).toContain(line);
    }
    await screenshot(page, 'shortcuts');
    await page.keyboard.press('Escape');
    await page.waitForSelector('dialog.shortcuts-dialog', { state: 'detached' });
    // "?" typed into the message box is text, not a shortcut.
    await page.keyboard.press('/');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('composer-input');
    await page.keyboard.type('Why?');
    expect(await page.inputValue('#composer-input')).toBe('Why?');
    expect(await page.locator('dialog.shortcuts-dialog').count()).toBe(0);
    await page.keyboard.press('Control+Shift+S');
    await page.waitForSelector('dialog.settings-dialog[open]');
    await page.keyboard.press('Escape');
    await page.waitForSelector('dialog.settings-dialog', { state: 'detached' });
  });

  it('keeps the model panel to models', async () => {
    const { page } = app;
    await page.click('.model-button');
    await page.waitForSelector('.model-panel');
    expect(await page.locator('.model-panel #set-max').count()).toBe(0);
    expect(await page.locator('#model-panel-title').textContent()).toBe('Model');
    await page.keyboard.press('Escape');
    expect(app.browser.blockedRequests).toEqual([]);
  });
});
