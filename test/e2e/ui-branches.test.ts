// Branches in the app: editing a question or regenerating an answer keeps the earlier version; "‹ 1/2 ›" switches
// back and restores the conversation below it; the engine still reuses the shared prefix after a switch; the tree
// survives a reload. Real Chromium, the demo model.
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import {
  appForSuite,
  dropFiles,
  lastAnswer,
  screenshot,
  sendAndWait,
  waitAnswerDone,
  answerStarts,
} from './ui-harness/app-page';
import { makePng, spec } from './ui-harness/images';

const app = appForSuite({ maxNewTokens: 8 });

const userTexts = (page: Page) => page.locator('.message-user .message-text').allTextContents();
const answerTexts = (page: Page) => page.locator('.message-assistant .markdown').allTextContents();

describe('conversation branches', () => {
  it('keeps the earlier question and answer when a question is edited, and switches back to them', async () => {
    const { page } = app;
    await dropFiles(page, [spec('scene.png', 'image/png', makePng(96, 64, 4))]);
    await page.waitForSelector('.attachment img[alt="scene.png"]');
    const first = await sendAndWait(page, 'What is this?');
    expect(first.status).toBe('done');

    await page.click('.message-user button[aria-label="Edit this message and ask again"]');
    const field = page.locator('.message-user textarea');
    await field.fill('Describe the colours.');
    await answerStarts(page, () => field.press('Enter'));
    await waitAnswerDone(page);
    const edited = await lastAnswer(page);
    expect(await userTexts(page)).toEqual(['Describe the colours.']);
    expect(await page.locator('.message-user .version-count').textContent()).toBe('2/2');

    await page.click('button[aria-label="Previous version of this question"]');
    await page.waitForFunction(
      () => document.querySelector('.message-user .version-count')?.textContent === '1/2',
    );
    expect(await userTexts(page)).toEqual(['What is this?']);
    expect(await answerTexts(page)).toEqual([first.text]);
    // The picture stays with both versions.
    expect(await page.locator('.message-user img').count()).toBe(1);

    // A follow-up on the restored branch reuses the prompt the engine already holds for it.
    const follow = await sendAndWait(page, 'And the shapes?');
    expect(follow.status).toBe('done');
    expect(Number(/(\d+) reused/.exec(follow.details)?.[1] ?? 0)).toBeGreaterThan(0);

    await page.click('button[aria-label="Next version of this question"]');
    await page.waitForFunction(
      () => document.querySelector('.message-user .version-count')?.textContent === '2/2',
    );
    expect(await userTexts(page)).toEqual(['Describe the colours.']);
    expect(await answerTexts(page)).toEqual([edited.text]);
    await screenshot(page, 'branches-question');
  });

  it('keeps the earlier answer when one is regenerated, and the tree across a reload', async () => {
    const { page } = app;
    await answerStarts(page, () => page.click('button[aria-label="Regenerate answer"]'));
    await waitAnswerDone(page);
    expect(await page.locator('.message-assistant .version-count').textContent()).toBe('2/2');
    await app.reload();
    await page.waitForSelector('.message-assistant .version-count');
    expect(await page.locator('.message-assistant .version-count').textContent()).toBe('2/2');
    expect(await page.locator('.message-user .version-count').textContent()).toBe('2/2');
    await page.click('button[aria-label="Previous version of this question"]');
    await page.waitForFunction(
      () => document.querySelector('.message-user .version-count')?.textContent === '1/2',
    );
    // That branch's follow-up is still there.
    expect(await userTexts(page)).toEqual(['What is this?', 'And the shapes?']);
    expect(app.browser.blockedRequests).toEqual([]);
  });
});
