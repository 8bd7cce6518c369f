// "Too many pictures for this model": the engine reports how many pictures the loaded model can read (maxImages);
// attaching more shows why the message cannot go, blocks sending, and keeps the draft, the pictures and the chat.
// When the limit is only learnt by loading the model for the answer, the answer explains it and keeps the message.
// The demo model is served with a 200-token context window here, so that its limit is 8 pictures, not 28.
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getTinyModel } from '../fixtures/tiny-model';
import {
  DEMO_PREFIX,
  dropFiles,
  openApp,
  screenshot,
  sendAndWait,
  type AppPage,
} from './ui-harness/app-page';
import { makePng, spec } from './ui-harness/images';

const CONTEXT = 200;
/** The engine's rule: (context − 64 tokens for text) / 16 features a picture. */
const MAX_PICTURES = Math.floor((CONTEXT - 64) / 16);

/** A copy of the demo model whose config.json declares a short context window (manifest updated to match). */
async function shortContextModel(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ui-pictures-limit-'));
  await cp(getTinyModel('tiny', { dtypes: ['fp32', 'q8', 'q4'] }).dir, dir, { recursive: true });
  const configPath = path.join(dir, 'config.json');
  const config = JSON.parse(await readFile(configPath, 'utf8')) as {
    text_config: { max_position_embeddings: number };
  };
  config.text_config.max_position_embeddings = CONTEXT;
  const bytes = Buffer.from(JSON.stringify(config, null, 2));
  await writeFile(configPath, bytes);
  const manifestPath = path.join(dir, 'manifest.json');
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as {
    files: { path: string; size: number; sha256?: string }[];
  };
  for (const f of manifest.files) {
    if (f.path !== 'config.json') continue;
    f.size = (await stat(configPath)).size;
    f.sha256 = createHash('sha256').update(bytes).digest('hex');
  }
  await writeFile(manifestPath, JSON.stringify(manifest));
  return dir;
}

const pictures = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => spec(`p${from + i}.png`, 'image/png', makePng(40, 30, from + i)));

let app: AppPage;
let modelDir: string;

async function state() {
  return app.page.evaluate(() => ({
    messages: [...document.querySelectorAll('.message')].map((m) => m.textContent ?? ''),
    sentPictures: document.querySelectorAll('.message-user img').length,
    draft: (document.querySelector('#composer-input') as HTMLTextAreaElement).value,
    attachments: [...document.querySelectorAll('.attachment img')].map((i) => i.getAttribute('alt') ?? ''),
    warning: document.querySelector('.composer-warning')?.textContent ?? null,
    sendDisabled: (document.querySelector('.icon-button.send') as HTMLButtonElement | null)?.disabled ?? null,
  }));
}

describe('too many pictures for the model', () => {
  beforeAll(async () => {
    modelDir = await shortContextModel();
    app = await openApp({ mounts: [{ prefix: DEMO_PREFIX, dir: modelDir }], maxNewTokens: 4 });
  });
  afterAll(async () => {
    await app?.close();
    await rm(modelDir, { recursive: true, force: true });
  });

  it('shows the limit once the model is loaded', async () => {
    const { page } = app;
    await dropFiles(page, pictures(0, 1));
    await page.waitForSelector('.attachment img[alt="p0.png"]');
    expect((await sendAndWait(page, 'What is this?')).error).toBe('');
    await page.click('.model-button');
    const limits = await page.locator('[data-testid="model-limits"]').textContent();
    expect(limits).toBe(`up to ${MAX_PICTURES} per conversation · ${CONTEXT} tokens of context`);
    await page.keyboard.press('Escape');
  });

  it('explains, blocks sending and loses nothing when more pictures are attached than the model reads', async () => {
    const { page } = app;
    // The conversation holds one picture already: 8 more make 9, one over the limit.
    await dropFiles(page, pictures(1, MAX_PICTURES));
    await page.waitForFunction(
      (n) => document.querySelectorAll('.attachment img').length === n,
      MAX_PICTURES,
    );
    await page.fill('#composer-input', 'And all of these?');
    const before = await state();
    expect(before.warning).toBe(
      `This model can look at up to ${MAX_PICTURES} pictures in one conversation; this one already has one picture. ` +
        'Remove one picture to send this message, or start a new chat for it.',
    );
    expect(before.sendDisabled).toBe(true);
    // The message box points at the explanation for screen readers.
    expect(await page.getAttribute('#composer-input', 'aria-describedby')).toContain('composer-warning');
    await page.press('#composer-input', 'Enter');
    await page.click('.icon-button.send', { force: true });
    await page.waitForTimeout(300);
    const after = await state();
    expect(after.messages).toEqual(before.messages);
    expect(after.draft).toBe('And all of these?');
    expect(after.attachments).toEqual(before.attachments);
    expect(after.attachments).toHaveLength(MAX_PICTURES);
    await screenshot(page, 'too-many-pictures');

    await page.click(`.attachment-remove[aria-label="Remove p${MAX_PICTURES}.png"]`);
    await page.waitForFunction(() => document.querySelector('.composer-warning') === null);
    const fixed = await state();
    expect(fixed.sendDisabled).toBe(false);
    expect(fixed.draft).toBe('And all of these?');
    expect(fixed.attachments).toHaveLength(MAX_PICTURES - 1);
    // A new chat starts with room for all of them again.
    await page.click('.sidebar button:has-text("New chat")');
    await dropFiles(page, pictures(100, 1));
    await page.waitForFunction(
      (n) => document.querySelectorAll('.attachment img').length === n,
      MAX_PICTURES,
    );
    expect((await state()).warning).toBeNull();
  });

  it('explains it on the answer when the limit is only known after loading, keeping the message', async () => {
    const { page } = app;
    await page.click('.model-button');
    await page.click('.backend button:has-text("Unload model")');
    await page.waitForFunction(() =>
      document.querySelector('[data-testid="loaded-model"]')?.textContent?.includes('none loaded'),
    );
    await page.keyboard.press('Escape');
    // With no model loaded the limit is unknown: all of these can be sent.
    await dropFiles(page, pictures(200, 1));
    await page.waitForFunction(
      (n) => document.querySelectorAll('.attachment img').length === n,
      MAX_PICTURES + 1,
    );
    expect((await state()).warning).toBeNull();
    const answer = await sendAndWait(page, 'So many pictures');
    expect(answer.status).toBe('error');
    expect(answer.text).toBe('');
    expect(answer.error).toBe(
      `This model can look at up to ${MAX_PICTURES} pictures in one conversation, and this message has ` +
        `${MAX_PICTURES + 1} pictures. Nothing was sent to the model. Your pictures are kept in the message above: ` +
        `start a new chat with at most ${MAX_PICTURES} pictures.`,
    );
    await page.waitForFunction(
      (n) => document.querySelectorAll('.message-user img').length === n,
      MAX_PICTURES + 1,
    );
    expect((await state()).messages[0]).toContain('So many pictures');
    expect(app.browser.blockedRequests).toEqual([]);
  });
});
