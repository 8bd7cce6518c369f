// Managing conversations through the UI: import an export file (with a picture), rename, export as JSON (picture
// inlined as a data URL) and as Markdown with the picture as a file of its own (into a picked folder, else separate
// downloads), delete, import the exported file back, import more chats next to those here, export every chat at
// once, and find chats by title and message text with the keyboard.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { appForSuite, screenshot } from './ui-harness/app-page';
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
    // In words: 0.42 s to the first token, 6 more at 15.5 tokens/s; 5 words. The figures behind it in the tooltip.
    expect(await page.locator('.answer-summary').textContent()).toBe('Answered in 807 ms · 6.2 words/s');
    const details = (await page.locator('.answer-summary').getAttribute('title')) ?? '';
    expect(details).toContain('first token 420 ms');
    expect(details).toContain('15.5 tokens/s');
    expect(details).toContain('30 + 7 tokens');
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

    // Markdown into a folder the user picks: the browser's picker stands in for a folder of the page's own storage.
    await page.evaluate(() => {
      (
        window as unknown as { showDirectoryPicker: () => Promise<FileSystemDirectoryHandle> }
      ).showDirectoryPicker = async () =>
        (await navigator.storage.getDirectory()).getDirectoryHandle('picked', { create: true });
    });
    await page.click('button[aria-label="Export chat as MD (Markdown)"]');
    await page.waitForSelector(
      '.notice-info:has-text("Saved chat.md and 1 picture in “picked/Renamed-chat”")',
    );
    const folder = await page.evaluate(async () => {
      const root = await (await navigator.storage.getDirectory()).getDirectoryHandle('picked');
      const chat = await root.getDirectoryHandle('Renamed-chat');
      const images = await chat.getDirectoryHandle('images');
      const names: string[] = [];
      for await (const name of (images as unknown as { keys(): AsyncIterable<string> }).keys())
        names.push(name);
      const picture = await (await images.getFileHandle(names[0] ?? '')).getFile();
      return {
        markdown: await (await (await chat.getFileHandle('chat.md')).getFile()).text(),
        names,
        picture: Array.from(new Uint8Array(await picture.arrayBuffer())),
      };
    });
    expect(folder.markdown).toContain('# Renamed chat');
    expect(folder.markdown).toContain('![pic.png](images/01-pic.png)');
    expect(folder.markdown).not.toContain('base64');
    expect(folder.markdown).toContain('first token 420 ms · 15.5 tokens/s');
    expect(folder.names).toEqual(['01-pic.png']);
    expect(Buffer.from(folder.picture).equals(picture)).toBe(true);

    // A browser without folder access gets the Markdown and its picture as two downloads side by side.
    await page.evaluate(() => {
      delete (window as unknown as { showDirectoryPicker?: unknown }).showDirectoryPicker;
    });
    const downloads: { name: string; path: string }[] = [];
    const collect = page.waitForEvent('download').then(async (first) => {
      const second = await page.waitForEvent('download');
      for (const d of [first, second]) {
        const saved = path.join(dir, d.suggestedFilename());
        await d.saveAs(saved);
        downloads.push({ name: d.suggestedFilename(), path: saved });
      }
    });
    await page.click('button[aria-label="Export chat as MD (Markdown)"]');
    await collect;
    expect(downloads.map((d) => d.name).sort()).toEqual(['Renamed-chat-01-pic.png', 'Renamed-chat.md']);
    const flat = await readFile(path.join(dir, 'Renamed-chat.md'), 'utf8');
    expect(flat).toContain('![pic.png](Renamed-chat-01-pic.png)');
    expect((await readFile(path.join(dir, 'Renamed-chat-01-pic.png'))).equals(picture)).toBe(true);
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

  it('refuses a file that is not an export, naming it, and keeps every chat', async () => {
    const { page } = app;
    await writeFile(path.join(dir, 'random.json'), '{"hello": "world"}');
    await page.setInputFiles('#import-chat', path.join(dir, 'random.json'));
    await page.waitForSelector('.notice-error:has-text("random.json")');
    expect(await page.locator('.notice-error').textContent()).toContain('Your chats are unchanged.');
    expect(await page.locator('.conversation').count()).toBe(1);
    await page.click('.notice-error button[aria-label="Dismiss message"]');
  });

  it('imports more chats next to the one here, and exports every chat at once with branches and pictures', async () => {
    const { page } = app;
    const now = Date.now();
    const more = {
      format: 'llava-browser-conversations',
      version: 1,
      exportedAt: new Date(now).toISOString(),
      images: [],
      conversations: [
        {
          id: 'zoo',
          title: 'Trip to the zoo',
          createdAt: now - 5000,
          updatedAt: now - 5000,
          messages: [
            {
              id: 'z1',
              role: 'user',
              text: 'Which animal has stripes?',
              imageIds: [],
              createdAt: now,
              parentId: null,
            },
            {
              id: 'z2',
              role: 'assistant',
              text: 'The zebra, grazing near the fence.',
              imageIds: [],
              createdAt: now,
              parentId: 'z1',
              status: 'done',
            },
          ],
          // An earlier answer kept as a branch.
          branches: [
            {
              id: 'z2old',
              role: 'assistant',
              text: 'A tiger asleep.',
              imageIds: [],
              createdAt: now,
              parentId: 'z1',
              status: 'done',
              shownAt: now - 9000,
            },
          ],
        },
        {
          id: 'recipe',
          title: 'Soup recipe',
          createdAt: now - 4000,
          updatedAt: now - 4000,
          messages: [
            {
              id: 'r1',
              role: 'user',
              text: 'Leek and potato, please.',
              imageIds: [],
              createdAt: now,
              parentId: null,
            },
          ],
        },
      ],
    };
    await writeFile(path.join(dir, 'more.json'), JSON.stringify(more));
    await page.setInputFiles('#import-chat', path.join(dir, 'more.json'));
    await page.waitForSelector('.notice-info:has-text("Imported 2 chats from “more.json”.")');
    await page.waitForFunction(() => document.querySelectorAll('.conversation').length === 3);

    const [all] = await Promise.all([page.waitForEvent('download'), page.click('button.export-all')]);
    expect(all.suggestedFilename()).toMatch(/^llava-chats-\d{4}-\d{2}-\d{2}\.json$/);
    const allPath = path.join(dir, 'all.json');
    await all.saveAs(allPath);
    const exported = JSON.parse(await readFile(allPath, 'utf8')) as {
      conversations: { title: string; branches?: { text: string }[] }[];
      images: { name: string }[];
    };
    expect(exported.conversations.map((c) => c.title).sort()).toEqual([
      'Renamed chat',
      'Soup recipe',
      'Trip to the zoo',
    ]);
    expect(
      exported.conversations.find((c) => c.title === 'Trip to the zoo')?.branches?.map((m) => m.text),
    ).toEqual(['A tiger asleep.']);
    expect(exported.images.map((i) => i.name)).toEqual(['pic.png']);

    // Importing the same file again adds nothing; after a delete, it brings back only what is missing.
    await page.setInputFiles('#import-chat', allPath);
    await page.waitForSelector(
      '.notice-info:has-text("Nothing new in “all.json”: all 3 of its chats are already here.")',
    );
    expect(await page.locator('.conversation').count()).toBe(3);
    await page.click('.conversation-open:has-text("Soup recipe")');
    await page.click('button[aria-label="Delete chat"]');
    await page.click('.conversation-actions button:has-text("Delete")');
    await page.waitForFunction(() => document.querySelectorAll('.conversation').length === 2);
    await page.setInputFiles('#import-chat', allPath);
    await page.waitForSelector(
      '.notice-info:has-text("Imported 1 chat from “all.json” (2 chats already here")',
    );
    await page.waitForFunction(() => document.querySelectorAll('.conversation').length === 3);
    await screenshot(page, 'chats-export-all');
  });

  it('finds chats by title and by message text, from the keyboard', async () => {
    const { page } = app;
    await page.click('.message-list');
    await page.keyboard.press('Control+K');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('chat-search');
    // A word only in an answer's text.
    await page.keyboard.type('zebra');
    await page.waitForSelector('.search-results .conversation-title:has-text("Trip to the zoo")');
    expect(await page.locator('.search-results .conversation').count()).toBe(1);
    expect(await page.locator('.search-snippet').textContent()).toContain(
      'The zebra, grazing near the fence.',
    );
    await screenshot(page, 'chat-search');
    // Enter opens the first result.
    await page.keyboard.press('Enter');
    await page.waitForSelector('.message-assistant:has-text("The zebra, grazing near the fence.")');

    // A title word; ↓ walks into the results, Enter on one opens it.
    await page.fill('#chat-search', 'SOUP');
    await page.waitForSelector('.search-results .conversation-title:has-text("Soup recipe")');
    await page.keyboard.press('ArrowDown');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toContain('Soup recipe');
    await page.keyboard.press('Enter');
    await page.waitForSelector('.message-user:has-text("Leek and potato")');

    // Nothing found says so; Esc clears the search and the whole list is back.
    await page.fill('#chat-search', 'giraffe');
    await page.waitForSelector('.conversations-empty:has-text("No chat contains “giraffe”")');
    await page.focus('#chat-search');
    await page.keyboard.press('Escape');
    expect(await page.inputValue('#chat-search')).toBe('');
    expect(await page.locator('.conversation').count()).toBe(3);
    expect(app.browser.blockedRequests).toEqual([]);
  });
});
