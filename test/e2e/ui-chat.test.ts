// The product page in real Chromium with the real worker and the generated demo model: drop a picture, ask, watch
// the answer stream, stop, regenerate, edit and resend, paste a picture, reload (also mid-answer) and find it all.
import { describe, expect, it } from 'vitest';
import {
  appForSuite,
  setSetting,
  dropFiles,
  lastAnswer,
  pasteFiles,
  screenshot,
  waitAnswerDone,
  answerStarts,
  waitAnswerText,
  watchAnswer,
} from './ui-harness/app-page';
import { makePng, spec } from './ui-harness/images';

const app = appForSuite({ maxNewTokens: 24 });

async function messages(): Promise<{ role: string; text: string; images: number }[]> {
  return app.page.evaluate(() =>
    [...document.querySelectorAll('.message')].map((el) => ({
      role: el.classList.contains('message-user') ? 'user' : 'assistant',
      text: (el.querySelector('.message-text, .markdown')?.textContent ?? '').trim(),
      images: el.querySelectorAll('.message-images img').length,
    })),
  );
}

describe('chat UI', () => {
  it('drops a picture, asks with Enter, and streams the answer with a cursor, TTFT and tokens/s', async () => {
    const { page } = app;
    await screenshot(page, 'empty');
    await dropFiles(page, [spec('red-square.png', 'image/png', makePng(320, 240))]);
    await page.waitForSelector('.attachment img[alt="red-square.png"]');
    await page.fill('#composer-input', 'What is in this picture?');
    const watch = await watchAnswer(page);
    await page.press('#composer-input', 'Enter');
    await waitAnswerText(page, 12);
    await screenshot(page, 'streaming');
    await waitAnswerDone(page);
    const samples = await watch.stop();

    // Several different partial texts were on screen, with the cursor, before the final one without it.
    const streamed = samples.filter((s) => s.cursor && s.length > 0);
    expect(new Set(streamed.map((s) => s.length)).size).toBeGreaterThanOrEqual(3);
    expect(samples[samples.length - 1]?.cursor).toBe(false);

    const answer = await lastAnswer(page);
    expect(answer.text.length).toBeGreaterThan(0);
    expect(answer.status).toBe('done');
    // In words on screen; the technical figures in its tooltip.
    expect(answer.stats).toMatch(/^Answered in \d+(\.\d+)? (ms|s)/);
    expect(answer.stats).not.toMatch(/tokens\/s|\d+ \+ \d+ tokens/);
    expect(answer.details).toMatch(/first token \d+(\.\d+)? (ms|s)/);
    expect(answer.details).toMatch(/\d+\.\d tokens\/s/);
    const list = await messages();
    expect(list.map((m) => m.role)).toEqual(['user', 'assistant']);
    expect(list[0]).toMatchObject({ text: 'What is in this picture?', images: 1 });
    // The composer was emptied and the picture went with the message.
    expect(await page.inputValue('#composer-input')).toBe('');
    expect(await page.locator('.attachment').count()).toBe(0);
  });

  it('stops with Esc, keeping what was shown, then regenerates', async () => {
    const { page } = app;
    // A long answer to have something to stop: set max new tokens through the settings form.
    await setSetting(page, '#set-max', '400');

    await page.fill('#composer-input', 'Tell me more.');
    await page.press('#composer-input', 'Enter');
    await waitAnswerText(page, 8);
    await page.keyboard.press('Escape');
    await waitAnswerDone(page, 20_000);
    const stopped = await lastAnswer(page);
    expect(stopped.status).toBe('stopped');
    expect(stopped.text.length).toBeGreaterThanOrEqual(8);
    expect(stopped.stats).toContain('stopped');

    const before = (await messages()).length;
    await page.click('button[aria-label="Regenerate answer"]');
    await waitAnswerText(page, 8);
    await page.click('button[aria-label^="Stop answering"]');
    await waitAnswerDone(page, 20_000);
    const again = await lastAnswer(page);
    // The answer was replaced, not added to.
    expect((await messages()).length).toBe(before);
    expect(again.status).toBe('stopped');
    expect(again.text.length).toBeGreaterThan(0);
  });

  it('edits a message and asks again, dropping what came after it', async () => {
    const { page } = app;
    await setSetting(page, '#set-max', '12');

    const edit = page
      .locator('.message-user')
      .nth(1)
      .locator('button[aria-label="Edit this message and ask again"]');
    await edit.click();
    const field = page.locator('.message-user').nth(1).locator('textarea');
    await field.fill('Describe the colours.');
    await answerStarts(page, () => field.press('Enter'));
    await waitAnswerDone(page);
    const list = await messages();
    expect(list.length).toBe(4);
    expect(list[2]).toMatchObject({ role: 'user', text: 'Describe the colours.' });
    expect((await lastAnswer(page)).status).toBe('done');
  });

  it('pastes a picture into the message box and sends it', async () => {
    const { page } = app;
    await pasteFiles(page, [spec('pasted.png', 'image/png', makePng(200, 300, 3))]);
    await page.waitForSelector('.attachment img[alt="pasted.png"]');
    await page.fill('#composer-input', 'And this one?');
    await answerStarts(page, () => page.click('button[aria-label="Send (Enter)"]'));
    await waitAnswerDone(page);
    const list = await messages();
    // Info notices (e.g. the service worker finishing its install) may come and go at any time;
    // what must not appear is a warning or an error about the pasted picture.
    const notes = await page.locator('.notice:not(.notice-info)').allTextContents();
    expect(notes).toEqual([]);
    expect(list.length).toBe(6);
    expect(list[4]).toMatchObject({ role: 'user', text: 'And this one?', images: 1 });
  });

  it('keeps the whole conversation, pictures included, across a reload', async () => {
    const { page } = app;
    const before = await messages();
    await app.reload();
    await page.waitForSelector('.message-assistant');
    await page.waitForFunction(() =>
      [...document.querySelectorAll('.message-images img')].every(
        (i) => (i as HTMLImageElement).naturalWidth > 0,
      ),
    );
    expect(await messages()).toEqual(before);
    expect(await page.locator('.conversation').count()).toBe(1);
  });

  it('keeps everything up to the last token shown when the page reloads mid-answer', async () => {
    const { page } = app;
    await setSetting(page, '#set-max', '400');
    await page.fill('#composer-input', 'One more time, at length.');
    await page.press('#composer-input', 'Enter');
    await waitAnswerText(page, 12);
    const shown = (await lastAnswer(page)).text;
    await app.reload();
    await page.waitForSelector('.message-assistant');
    const after = await lastAnswer(page);
    // The view ends the last block with a line break, and the answer may have gone on in that same block while the
    // page was reloading.
    const kept = shown.trimEnd();
    expect(
      after.text.startsWith(kept),
      `shown: ${JSON.stringify(kept)}; after: ${JSON.stringify(after.text)}`,
    ).toBe(true);
    expect(after.status).toBe('interrupted');
    expect(after.stats).toContain('interrupted');
  });

  it('starts a new chat and switches back', async () => {
    const { page } = app;
    await page.click('button[aria-label="New chat"]');
    await page.waitForSelector('.empty-state');
    expect(await page.locator('.message').count()).toBe(0);
    await page.click('.conversation-open');
    await page.waitForSelector('.message-assistant');
    expect((await messages()).length).toBe(8);
  });

  it('sent no request outside localhost', () => {
    expect(app.browser.blockedRequests).toEqual([]);
  });
});
