// Model output is untrusted: a conversation holding hostile Markdown is imported through the product's own import
// and rendered by the product's renderer. Nothing in it runs; an HTML block previews in a sandbox, scripts off until
// the user turns them on, and even then it cannot read the app's localStorage or IndexedDB, nor reach the network.
import { writeFile, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { appForSuite, closeSettings, openSettings, screenshot } from './ui-harness/app-page';

const app = appForSuite();
let file: string;

const hostile = [
  'Here is some **bold** text and a table:',
  '',
  '| a | b |',
  '|---|---|',
  '| 1 | 2 |',
  '',
  '<script>window.__pwned = "script"</script>',
  '',
  '<img src=x onerror="window.__pwned = \'img-onerror\'">',
  '',
  'Inline <img src=x onerror=window.__pwned=1> and <a href="javascript:void(window.__pwned=\'raw-link\')">raw link</a>.',
  '',
  '[a markdown link](javascript:void(window.__pwned=%27md-link%27)) and [another](JaVaScRiPt:void(window.__pwned=2))',
  '',
  '![remote picture](http://203.0.113.9/track.png)',
  '',
  '<iframe src="javascript:window.parent.__pwned=3"></iframe><svg onload="window.__pwned=4"></svg>',
].join('\n');

const previewHtml = [
  '<!doctype html>',
  '<html><body><h1 id="t">Hello from the preview</h1>',
  '<script>',
  '  const report = { ran: true, storage: "readable", idb: "readable", parent: "readable", fetch: "pending" };',
  '  try { localStorage.getItem("llava-browser:settings"); } catch (e) { report.storage = e.name; }',
  '  try { indexedDB.open("llava-chat-conversations"); } catch (e) { report.idb = e.name; }',
  '  try { void parent.document.title; } catch (e) { report.parent = e.name; }',
  '  fetch(location.origin === "null" ? "PROBE_URL" : "PROBE_URL").then(() => { report.fetch = "ok"; }, (e) => { report.fetch = e.name; })',
  '    .finally(() => parent.postMessage({ previewReport: report }, "*"));',
  '</script></body></html>',
].join('\n');

function exportFile(probeUrl: string): string {
  const now = Date.now();
  return JSON.stringify({
    format: 'llava-browser-conversations',
    version: 1,
    exportedAt: new Date(now).toISOString(),
    images: [],
    conversations: [
      {
        id: 'c-hostile',
        title: 'Hostile output',
        createdAt: now,
        updatedAt: now,
        messages: [
          { id: 'm1', role: 'user', text: 'Make me a web page.', imageIds: [], createdAt: now },
          {
            id: 'm2',
            role: 'assistant',
            text: `${hostile}\n\n\`\`\`html\n${previewHtml.replaceAll('PROBE_URL', probeUrl)}\n\`\`\`\n`,
            imageIds: [],
            createdAt: now,
            status: 'done',
          },
        ],
      },
    ],
  });
}

describe('untrusted model output', () => {
  beforeAll(async () => {
    file = path.join(await mkdtemp(path.join(os.tmpdir(), 'ui-sec-')), 'hostile.json');
    await writeFile(file, exportFile(`${app.server.origin}/preview-probe.txt`));
    await app.page.evaluate(() => localStorage.setItem('secret-for-test', 'app data'));
    await app.page.setInputFiles('#import-chat', file);
    await app.page.waitForSelector('.message-assistant .markdown table');
  });
  it('renders Markdown but runs no script, event handler or javascript: link', async () => {
    const { page } = app;
    // Give any handler a chance to fire, then try the links a person could click.
    await page.waitForTimeout(300);
    expect(
      await page.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned ?? null),
    ).toBeNull();
    const links = page.locator('.message-assistant .markdown a');
    for (let i = 0; i < (await links.count()); i++)
      await links
        .nth(i)
        .click({ modifiers: [] })
        .catch(() => undefined);
    await page.waitForTimeout(300);
    const result = await page.evaluate(() => {
      const md = document.querySelector('.message-assistant .markdown');
      return {
        pwned: (window as unknown as { __pwned?: unknown }).__pwned ?? null,
        scripts: md?.querySelectorAll('script').length ?? -1,
        iframes: md?.querySelectorAll('iframe').length ?? -1,
        handlers: [...(md?.querySelectorAll('*') ?? [])]
          .flatMap((el) => [...el.attributes].map((a) => a.name))
          .filter((n) => n.startsWith('on')),
        hrefs: [...(md?.querySelectorAll('a') ?? [])].map((a) => a.getAttribute('href')),
        imgs: [...(md?.querySelectorAll('img') ?? [])].map((i) => i.getAttribute('src')),
        bold: md?.querySelector('strong')?.textContent ?? null,
        text: md?.textContent ?? '',
      };
    });
    expect(result.pwned).toBeNull();
    expect(result.scripts).toBe(0);
    expect(result.iframes).toBe(0);
    expect(result.handlers).toEqual([]);
    expect(result.hrefs.every((h) => h === null || /^(https?:|mailto:|#)/.test(h))).toBe(true);
    expect(result.imgs).toEqual([]);
    // The Markdown itself still renders, and hostile HTML is shown as text instead of vanishing silently.
    expect(result.bold).toBe('bold');
    expect(result.text).toContain('<script>window.__pwned');
    expect(result.text).toContain('[image: remote picture]');
  });

  it('previews an HTML block in a sandbox without the app’s storage or network', async () => {
    const { page } = app;
    const report = page.evaluate(
      () =>
        new Promise<Record<string, unknown>>((resolve) => {
          window.addEventListener('message', (e: MessageEvent) => {
            const data = e.data as { previewReport?: Record<string, unknown> };
            if (data.previewReport) resolve(data.previewReport);
          });
        }),
    );
    await page.click('button[aria-label^="Preview HTML code block"]');
    const frame = page.locator('iframe.html-preview-frame');
    await frame.waitFor();
    // Scripts are off until the user turns them on for this preview.
    expect(await frame.getAttribute('sandbox')).toBe('');
    expect(await page.frameLocator('iframe.html-preview-frame').locator('#t').textContent()).toBe(
      'Hello from the preview',
    );
    await page.check('.html-preview-scripts input');
    await page.locator('iframe.html-preview-frame[sandbox="allow-scripts"]').waitFor();
    const got = await report;
    expect(got.ran).toBe(true);
    expect(got.storage).toBe('SecurityError');
    expect(got.idb).toBe('SecurityError');
    expect(got.parent).toBe('SecurityError');
    expect(got.fetch).toBe('TypeError');
    expect(app.server.requests.some((r) => r.path === '/preview-probe.txt')).toBe(false);
    const heading = await page.frameLocator('iframe.html-preview-frame').locator('#t').textContent();
    expect(heading).toBe('Hello from the preview');
    expect(await page.evaluate(() => localStorage.getItem('secret-for-test'))).toBe('app data');
    await page.locator('.html-preview').scrollIntoViewIfNeeded();
    await screenshot(page, 'preview');
  });

  it('keeps a hub access token on the device only: saved, never shown back, not in localStorage, removable', async () => {
    const { page } = app;
    const token = 'hf_uiTestToken0123456789abcdef';
    await openSettings(page);
    const field = page.locator('#set-hub-token');
    await field.scrollIntoViewIfNeeded();
    await field.fill(`  Bearer ${token} `);
    await page.getByRole('button', { name: 'Save token' }).click();
    await expect
      .poll(() => page.locator('#set-hub-token-hint').textContent())
      .toBe('Token saved on this device.');
    expect(await field.inputValue()).toBe('');
    expect(await field.getAttribute('placeholder')).toContain('A token is saved');
    await screenshot(page, 'settings-hub-token');
    const stored = await page.evaluate(
      () =>
        new Promise<unknown>((resolve, reject) => {
          const open = indexedDB.open('llava-settings');
          open.onsuccess = () => {
            const get = open.result.transaction('kv').objectStore('kv').get('hub-token');
            get.onsuccess = () => resolve(get.result);
            get.onerror = () => reject(get.error);
          };
          open.onerror = () => reject(open.error);
        }),
    );
    // Trimmed, without the "Bearer " a pasted header line may carry; and nowhere in localStorage.
    expect(stored).toBe(token);
    expect(await page.evaluate(() => JSON.stringify({ ...localStorage }))).not.toContain(token);
    expect(await page.content()).not.toContain(token);
    await page.getByRole('button', { name: 'Remove token' }).click();
    await expect
      .poll(() => page.locator('#set-hub-token-hint').textContent())
      .toBe('Token removed from this device.');
    expect(await field.getAttribute('placeholder')).not.toContain('A token is saved');
    await closeSettings(page);
  });

  it('sent no request outside localhost', () => {
    expect(app.browser.blockedRequests).toEqual([]);
  });
});
