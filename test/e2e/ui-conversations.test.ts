// Managing conversations through the UI: import an export file (with a picture), rename, export as JSON (picture
// inlined as a data URL) and as Markdown through real downloads, delete, and import the exported file back.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { appForSuite } from './ui-harness/app-page';
import { makePng } from './ui-harness/images';

const app = appForSuite();
let dir: string;
const picture = makePng(40, 30, 7);

describe('conversation management', () => {
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ui-conv-'));
    const now = Date.now();
    const file = {
      format: 'llava-browser-conversations',
      version: 1,
      exportedAt: new Date(now).toISOString(),
      images: [
        {
          id: 'i1',
          name: 'pic.png',
          width: 40,
          height: 30,
          dataUrl: `data:image/png;base64,${picture.toString('base64')}`,
        },
      ],
      conversations: [
        {
          id: 'c1',
          title: 'Original title',
          createdAt: now,
          updatedAt: now,
          messages: [
            { id: 'm1', role: 'user', text: 'What is in this picture?', imageIds: ['i1'], createdAt: now },
            {
              id: 'm2',
              role: 'assistant',
              text: 'A gradient with a `block`.',
              imageIds: [],
              createdAt: now,
              status: 'done',
              usage: {
                promptTokens: 30,
                completionTokens: 7,
                timeToFirstTokenMs: 420,
                decodeTokensPerS: 15.5,
              },
            },
          ],
        },
      ],
    };
    await writeFile(path.join(dir, 'in.json'), JSON.stringify(file));
  });
  it('imports a file, shows its picture and stats, and renames it', async () => {
    const { page } = app;
    await page.setInputFiles('#import-chat', path.join(dir, 'in.json'));
    await page.waitForSelector('.message-images img');
    await page.waitForFunction(
      () => (document.querySelector('.message-images img') as HTMLImageElement).naturalWidth === 40,
    );
    expect(await page.locator('.answer-stats').textContent()).toContain('15.5 tokens/s');
    await page.click('button[aria-label="Rename chat"]');
    await page.fill('.rename-form input', 'Renamed chat');
    await page.press('.rename-form input', 'Enter');
    await page.waitForSelector('.conversation-title:has-text("Renamed chat")');
    await app.reload();
    await page.waitForSelector('.conversation-title:has-text("Renamed chat")');
  });

  it('exports JSON with the picture inlined, and Markdown', async () => {
    const { page } = app;
    const [json] = await Promise.all([
      page.waitForEvent('download'),
      page.click('button[aria-label="Export chat as JSON"]'),
    ]);
    const jsonPath = path.join(dir, 'out.json');
    await json.saveAs(jsonPath);
    const exported = JSON.parse(await readFile(jsonPath, 'utf8')) as {
      conversations: { title: string; messages: { text: string }[] }[];
      images: { dataUrl: string }[];
    };
    expect(exported.conversations[0]?.title).toBe('Renamed chat');
    expect(exported.conversations[0]?.messages.map((m) => m.text)).toEqual([
      'What is in this picture?',
      'A gradient with a `block`.',
    ]);
    // The picture travels inside the file, as the PNG the app stored.
    expect(exported.images[0]?.dataUrl).toMatch(/^data:image\/png;base64,/);

    const [md] = await Promise.all([
      page.waitForEvent('download'),
      page.click('button[aria-label="Export chat as MD (Markdown)"]'),
    ]);
    const mdPath = path.join(dir, 'out.md');
    await md.saveAs(mdPath);
    const text = await readFile(mdPath, 'utf8');
    expect(text).toContain('# Renamed chat');
    expect(text).toContain('![pic.png](data:image/png;base64,');
    expect(text).toContain('first token 420 ms · 15.5 tokens/s');
  });

  it('deletes after confirmation, then imports the export back', async () => {
    const { page } = app;
    await page.click('button[aria-label="Delete chat"]');
    await page.click('.conversation-actions button:has-text("Delete")');
    await page.waitForSelector('.conversations-empty');
    await page.waitForSelector('.empty-state');
    await app.reload();
    expect(await page.locator('.conversation').count()).toBe(0);

    await page.setInputFiles('#import-chat', path.join(dir, 'out.json'));
    await page.waitForSelector('.conversation-title:has-text("Renamed chat")');
    await page.waitForFunction(
      () => (document.querySelector('.message-images img') as HTMLImageElement | null)?.naturalWidth === 40,
    );
    expect(await page.locator('.message').count()).toBe(2);
  });

  it('refuses a file that is not an export, naming it', async () => {
    const { page } = app;
    await writeFile(path.join(dir, 'random.json'), '{"hello": "world"}');
    await page.setInputFiles('#import-chat', path.join(dir, 'random.json'));
    await page.waitForSelector('.notice-error:has-text("random.json")');
    expect(await page.locator('.conversation').count()).toBe(1);
    expect(app.browser.blockedRequests).toEqual([]);
  });
});
