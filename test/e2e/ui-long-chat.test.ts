// A chat longer than the model's context window keeps going: with the product's default answer budget (512 tokens)
// on the demo model (a 512-token window), an answer may take all the room the prompt leaves (and says, in words, that
// the context ended it), follow-ups are answered, and once the conversation no longer fits, its oldest turns are left
// out of the prompt (the answer says so) while the chat itself keeps every message.
import { describe, expect, it } from 'vitest';
import { appForSuite, dropFiles, sendAndWait } from './ui-harness/app-page';
import { makePng, spec } from './ui-harness/images';

const CONTEXT = 512;
const app = appForSuite({ maxNewTokens: 512 });

/** Prompt and answer tokens from an answer's stats details ("N + M tokens"). */
function tokens(stats: string): { prompt: number; answer: number } {
  const m = /(\d+) \+ (\d+) tokens/.exec(stats);
  return { prompt: Number(m?.[1] ?? NaN), answer: Number(m?.[2] ?? NaN) };
}

describe('a chat longer than the context window', () => {
  it('answers every follow-up, leaving the oldest middle turns out once the window is full', async () => {
    const { page } = app;
    await dropFiles(page, [spec('scene.png', 'image/png', makePng(120, 90, 2))]);
    await page.waitForSelector('.attachment img[alt="scene.png"]');
    const stats: string[] = [];
    const details: string[] = [];
    for (const question of ['Describe it.', 'And the colours?', 'What else?']) {
      const answer = await sendAndWait(page, question);
      expect(answer.error).toBe('');
      expect(answer.status).toBe('done');
      const t = tokens(answer.details);
      expect(t.answer).toBeGreaterThan(0);
      expect(t.prompt + t.answer).toBeLessThanOrEqual(CONTEXT);
      stats.push(answer.stats);
      details.push(answer.details);
    }
    // The first answer is longer than half the window: it stops only when the context is full, and says so.
    expect(tokens(details[0] ?? '').answer).toBeGreaterThan(CONTEXT / 2);
    expect(stats[0]).toContain('the model’s context is full: it holds 512 tokens and this chat used');
    expect(stats[0]).not.toContain('left out');
    expect(stats.some((s) => /\d+ earlier messages left out to fit the context/.test(s))).toBe(true);
    // Nothing was taken out of the chat itself.
    expect(await page.locator('.message-user').count()).toBe(3);
    expect(await page.locator('.message-assistant[data-status="done"]').count()).toBe(3);
    expect(await page.locator('.notice-error').count()).toBe(0);
    // Answers of several hundred tokens on a shared CPU take a while.
  }, 420_000);
});
