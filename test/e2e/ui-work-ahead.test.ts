// Working ahead while the user types, through the real UI, worker and demo model: a follow-up typed and left a
// moment before it is sent is already read when it is sent (its answer reuses all but the last few prompt tokens);
// with the setting off, only the previous turn is reused and the question is read when it is sent.
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import {
  appForSuite,
  closeSettings,
  dropFiles,
  openSettings,
  screenshot,
  sendAndWait,
} from './ui-harness/app-page';
import { makePng, spec } from './ui-harness/images';

const app = appForSuite({ maxNewTokens: 4 });

const FOLLOW_UP = 'What colour is the square in the middle of the picture?';
/** Well past the UI's 400 ms pause, with room for the tiny model to prefill on a software GPU. */
const TYPING_PAUSE_MS = 2_000;
/** What a prepared follow-up may still leave to read when sent: the template's few tokens after the question. */
const MAX_UNREAD = 8;

interface PromptUse {
  prompt: number;
  reused: number;
}

/** Prompt tokens and reused prompt tokens of the last answer, from its stats line's details (the tooltip). */
async function promptUse(page: Page): Promise<PromptUse> {
  const last = page.locator('.message-assistant').last();
  const stats = (await last.locator('.answer-summary').getAttribute('title')) ?? '';
  const reused = Number(/(\d+) reused/.exec(stats)?.[1] ?? 0);
  const prompt = Number(/(\d+) \+ \d+ tokens/.exec(stats)?.[1]);
  expect(prompt, stats).toBeGreaterThan(0);
  return { prompt, reused };
}

/** A first question with a picture, then the follow-up typed key by key, left a moment, and sent. */
async function conversationWithFollowUp(page: Page): Promise<PromptUse> {
  await dropFiles(page, [spec('square.png', 'image/png', makePng(96, 72, 3))]);
  await page.waitForSelector('.attachment img[alt="square.png"]');
  const first = await sendAndWait(page, 'What is in this picture?');
  expect(first.error).toBe('');
  expect(first.status).toBe('done');

  await page.locator('#composer-input').pressSequentially(FOLLOW_UP, { delay: 15 });
  await page.waitForTimeout(TYPING_PAUSE_MS);
  const answer = await sendAndWait(page, FOLLOW_UP);
  expect(answer.error).toBe('');
  expect(answer.status).toBe('done');
  return promptUse(page);
}

async function setWorkAhead(page: Page, on: boolean): Promise<void> {
  await openSettings(page);
  const box = page.locator('#set-work-ahead');
  expect(await box.isChecked()).toBe(!on);
  await box.setChecked(on);
  await closeSettings(page);
}

describe('work ahead while typing', () => {
  let prepared: PromptUse;

  it('reads a follow-up while it is typed: sent, it reuses all but the last few prompt tokens', async () => {
    const { page } = app;
    prepared = await conversationWithFollowUp(page);
    console.info(`work ahead on: ${prepared.reused} of ${prepared.prompt} prompt tokens reused`);
    expect(prepared.reused).toBeGreaterThan(0);
    expect(prepared.prompt - prepared.reused).toBeLessThanOrEqual(MAX_UNREAD);
    await page.locator('.answer-summary').last().scrollIntoViewIfNeeded();
    await screenshot(page, 'work-ahead-reused');
  });

  it('with the setting off, reuses only the previous turn: the question is read when it is sent', async () => {
    const { page } = app;
    await page.getByRole('button', { name: 'New chat' }).first().click();
    await page.waitForSelector('.message', { state: 'detached' });
    await setWorkAhead(page, false);
    const plain = await conversationWithFollowUp(page);
    console.info(`work ahead off: ${plain.reused} of ${plain.prompt} prompt tokens reused`);
    // The previous turn is still reused (the cache itself works), but the whole question is read again.
    expect(plain.reused).toBeGreaterThan(0);
    expect(plain.prompt - plain.reused).toBeGreaterThan(prepared.prompt - prepared.reused + 10);

    // The choice is kept across a reload.
    await app.reload();
    await openSettings(page);
    expect(await page.locator('#set-work-ahead').isChecked()).toBe(false);
    await page.locator('#set-work-ahead').scrollIntoViewIfNeeded();
    await screenshot(page, 'work-ahead-setting');
    await closeSettings(page);
  });
});
