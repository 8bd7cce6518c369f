// "Add a model by address": malformed input gets a message naming what to fix; a folder URL and a hub repo id (on a
// mirror endpoint, a local hub look-alike on another origin) are listed like catalog entries, download with the
// same progress UI into the weight store, load, answer, and stay listed after a reload. Nothing leaves localhost.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONVERT_RECIPES } from '../../src/store/catalog';
import { formatBytes } from '../../src/ui/lib/format';
import { getTinyModel } from '../fixtures/tiny-model';
import { openApp, screenshot, sendAndWait, type AppPage } from './ui-harness/app-page';

const REPO = 'test-org/tiny-llava';

interface FakeHub {
  origin: string;
  /** Paths asked for, in order (query strings left out). */
  requests: string[];
  close(): Promise<void>;
}

async function readFolder(dir: string, prefix = ''): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const rel = `${prefix}${entry.name}`;
    if (entry.isDirectory())
      for (const [p, b] of await readFolder(path.join(dir, entry.name), `${rel}/`)) out.set(p, b);
    else if (entry.name !== 'manifest.json') out.set(rel, await readFile(path.join(dir, entry.name)));
  }
  return out;
}

/**
 * A hub look-alike on its own origin, as a mirror would be: the tree API (LFS files with sha256, the others with
 * their git blob sha1), resolve URLs (LFS ones redirect to a "CDN" path), Range, and the CORS headers the hub sends.
 */
async function startFakeHub(files: Map<string, Buffer>): Promise<FakeHub> {
  const requests: string[] = [];
  const isLfs = (p: string) => p.startsWith('onnx/');
  const hex = (algo: string, ...parts: (string | Buffer)[]) => {
    const h = createHash(algo);
    for (const part of parts) h.update(part);
    return h.digest('hex');
  };
  const tree = [...files].map(([p, b]) =>
    isLfs(p)
      ? {
          type: 'file',
          path: p,
          size: b.length,
          oid: hex('sha1', `pointer ${p}`),
          lfs: { oid: hex('sha256', b), size: b.length, pointerSize: 134 },
        }
      : { type: 'file', path: p, size: b.length, oid: hex('sha1', `blob ${b.length}\0`, b) },
  );
  const sendFile = (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = range ? Number(range[1]) : 0;
    if (start >= body.length && body.length > 0) {
      res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
      return;
    }
    const headers: Record<string, string> = {
      'content-type': 'application/octet-stream',
      'content-length': String(body.length - start),
      'accept-ranges': 'bytes',
      etag: `"${hex('sha256', body).slice(0, 16)}"`,
    };
    if (range) headers['content-range'] = `bytes ${start}-${body.length - 1}/${body.length}`;
    res.writeHead(range ? 206 : 200, headers).end(body.subarray(start));
  };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const p = decodeURIComponent(url.pathname);
    requests.push(p);
    res.setHeader('access-control-allow-origin', '*');
    res.setHeader(
      'access-control-expose-headers',
      'content-range, content-length, accept-ranges, etag, link, x-error-code',
    );
    if (req.method === 'OPTIONS') {
      res
        .writeHead(204, {
          'access-control-allow-methods': 'GET, HEAD',
          'access-control-allow-headers': 'range, if-range',
          'access-control-max-age': '600',
        })
        .end();
      return;
    }
    if (p === `/api/models/${REPO}/tree/main`) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(tree));
      return;
    }
    const resolve = `/${REPO}/resolve/main/`;
    const rel = p.startsWith(resolve) ? p.slice(resolve.length) : p.startsWith('/cdn/') ? p.slice(5) : null;
    const body = rel === null ? undefined : files.get(rel);
    if (rel === null || !body) {
      res.writeHead(404, { 'x-error-code': 'EntryNotFound' }).end();
      return;
    }
    if (p.startsWith(resolve) && isLfs(rel)) {
      res.writeHead(302, { location: `/cdn/${rel}` }).end();
      return;
    }
    sendFile(req, res, body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function openPanel(page: Page): Promise<void> {
  if ((await page.locator('.model-panel').count()) === 0) await page.click('.model-button');
  await page.waitForSelector('.model-panel');
  if (!(await page.locator('details.add-model').evaluate((d) => (d as HTMLDetailsElement).open)))
    await page.click('details.add-model summary');
}

async function add(page: Page, address: string, revision = '', endpoint = ''): Promise<void> {
  await page.fill('#add-model-address', address);
  await page.fill('#add-model-revision', revision);
  await page.fill('#add-model-endpoint', endpoint);
  await page.click('.add-model-form button[type="submit"]');
}

/** Loads a listed model from its card and waits until the engine reports it loaded. */
async function downloadAndLoad(page: Page, cardName: string, modelId: string): Promise<void> {
  const card = page.locator('.model-card', { has: page.locator('h4', { hasText: cardName }) });
  await card.locator('button:has-text("Download and load")').click();
  await page.waitForFunction(
    (id) => document.querySelector('[data-testid="loaded-model"]')?.textContent?.startsWith(`${id} ·`),
    modelId,
    { timeout: 120_000 },
  );
  await card.locator('.model-cached:has-text("On this device")').waitFor();
}

async function ask(page: Page, text: string): Promise<void> {
  await page.keyboard.press('Escape');
  await page.waitForSelector('.model-panel', { state: 'detached' });
  const answer = await sendAndWait(page, text);
  expect(answer.error).toBe('');
  expect(answer.status).toBe('done');
}

let app: AppPage;
let hub: FakeHub;

describe('add a model by address', () => {
  beforeAll(async () => {
    const tiny = getTinyModel('tiny', { dtypes: ['fp32', 'q8', 'q4'] });
    hub = await startFakeHub(await readFolder(tiny.dir));
    // The mirror is another local origin: like a deployment whose users add a mirror, this one lists it in the
    // app's CSP (LLAVA_MODEL_HOSTS); the policy refuses hosts it does not name.
    app = await openApp({
      mounts: [{ prefix: '/mirror/tiny/', dir: tiny.dir }],
      maxNewTokens: 8,
      modelHosts: ['http://127.0.0.1:*'],
    });
  });
  afterAll(async () => {
    await app?.close();
    await hub?.close();
  });

  it('explains malformed addresses, naming the field to fix', async () => {
    const { page } = app;
    await openPanel(page);
    await add(page, 'just-a-name');
    const error = page.locator('#add-model-error');
    expect(await error.textContent()).toContain('owner/name');
    expect(await page.getAttribute('#add-model-address', 'aria-invalid')).toBe('true');
    // Focus goes to the field to fix, so a keyboard or screen-reader user lands on it.
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('add-model-address');

    await add(page, 'owner/name', 'two words');
    expect(await error.textContent()).toMatch(/revision .*branch, tag or commit/);
    expect(await page.getAttribute('#add-model-revision', 'aria-invalid')).toBe('true');

    await add(page, 'owner/name', '', 'mirror.example.org');
    expect(await error.textContent()).toContain('not a valid web address');

    await add(page, 'file:///home/me/llava/');
    expect(await error.textContent()).toContain('https://');
    await screenshot(page, 'add-model-error');
    // Nothing malformed reached the list.
    expect(await page.locator('.model-card:has(.badge:has-text("Added by you"))').count()).toBe(0);
  });

  it('adds a folder URL, downloads it with progress, loads it and answers with it', async () => {
    const { page } = app;
    const folder = `${app.server.origin}/mirror/tiny/`;
    const id = folder.replace(/\/$/, '');
    await openPanel(page);
    await add(page, folder);
    const added = page.locator('.model-card', { hasText: 'Added by you' });
    await added.waitFor();
    expect(await added.locator('h4').textContent()).toBe(`tiny (${new URL(folder).host})`);
    expect(await added.textContent()).toContain('size known once its files are listed');
    expect(await added.locator('.model-address').textContent()).toBe(folder);
    expect(await page.inputValue('#add-model-address')).toBe('');
    // A model the app serves itself is loaded, not downloaded; one from elsewhere says it downloads.
    const builtIn = page.locator('.model-card', { hasText: 'Served by this app' }).first();
    expect(await builtIn.locator('.model-actions button.primary').textContent()).toBe('Load');
    expect(await added.locator('.model-actions button.primary').textContent()).toBe('Download and load');

    // The same address again is refused, not listed twice.
    await add(page, folder.replace(/\/$/, ''));
    expect(await page.locator('#add-model-error').textContent()).toContain('already in the list');

    await page.context().route('**/mirror/tiny/onnx/decoder_model_merged.onnx', async (route) => {
      await new Promise((r) => setTimeout(r, 1500));
      await route.continue();
    });
    const loading = downloadAndLoad(page, 'tiny (', id);
    // The download shows in the same progress block as catalog models, in bytes.
    await page.waitForFunction(() =>
      /\d+(\.\d+)? (B|KB|MB) of \d+(\.\d+)? (KB|MB)/.test(
        document.querySelector('.download-numbers')?.textContent ?? '',
      ),
    );
    expect(await page.locator('#download-title').textContent()).toMatch(
      /^(Downloading|Checking|Starting the model): tiny$/,
    );
    // The card that was clicked shows the progress too (the block above may be scrolled out of sight).
    const card = page.locator('.model-card', { hasText: 'Added by you' });
    await card.locator('.model-progress progress').waitFor();
    await card.scrollIntoViewIfNeeded();
    // Let the bar's 0.2 s width transition finish, so that the picture shows the value the page holds.
    await page.waitForTimeout(400);
    await screenshot(page, 'add-model-downloading');
    await loading;
    await page.context().unroute('**/mirror/tiny/onnx/decoder_model_merged.onnx');

    const served = app.server.requests.map((r) => r.path);
    expect(served).toContain('/mirror/tiny/config.json');
    expect(served).toContain('/mirror/tiny/onnx/decoder_model_merged.onnx');
    // The weights came from the added folder, not from the demo model's copy.
    expect(served.filter((p) => p.startsWith('/models/') && !p.endsWith('/manifest.json'))).toEqual([]);
    await ask(page, 'Hello from a model added by address');
  });

  it('adds a hub repo on a mirror endpoint and fetches it through the tree and resolve URLs', async () => {
    const { page } = app;
    await openPanel(page);
    await add(page, REPO, '', `${hub.origin}/`);
    const name = `${REPO} (via ${new URL(hub.origin).host})`;
    await page.locator('.model-card h4', { hasText: name }).waitFor();
    expect(await page.locator('.model-card', { hasText: name }).locator('.model-address').textContent()).toBe(
      `${hub.origin}/${REPO}`,
    );
    await downloadAndLoad(page, name, REPO);
    expect(hub.requests[0]).toBe(`/api/models/${REPO}/tree/main`);
    expect(hub.requests).toContain(`/${REPO}/resolve/main/config.json`);
    expect(hub.requests).toContain(`/${REPO}/resolve/main/onnx/decoder_model_merged.onnx`);
    // LFS files went through the redirect, as on the real hub.
    expect(hub.requests).toContain('/cdn/onnx/decoder_model_merged.onnx');
    expect(hub.requests.filter((p) => p.includes('_q4') || p.includes('_quantized'))).toEqual([]);
    await ask(page, 'Hello from the mirror');
  });

  it('shows convert-it-yourself recipes with their exact commands, a copy button and the folder import', async () => {
    const { page } = app;
    await openPanel(page);
    const cards = page.locator('.recipe-card');
    expect(await cards.count()).toBe(CONVERT_RECIPES.length);
    expect(CONVERT_RECIPES.map((r) => r.key)).toEqual(['llava-1.5-7b-convert', 'llava-1.5-13b-convert']);
    for (const [i, recipe] of CONVERT_RECIPES.entries()) {
      const card = cards.nth(i);
      const convert = recipe.convert!;
      expect(recipe.label).toBe(`${await card.locator('h4').textContent()} — convert it yourself`);
      // Shown with shell line continuations before each option; joined back, exactly the recipe's commands.
      const shown = (await card.locator('pre').textContent()) ?? '';
      expect(shown).toContain(' \\\n    --');
      expect(shown.replaceAll(' \\\n    ', ' ')).toBe(convert.commands.join('\n'));
      // Wrapped to fit the panel: no line needs scrolling sideways.
      expect(await card.locator('pre').evaluate((el) => el.scrollWidth <= el.clientWidth)).toBe(true);
      const facts = (await card.locator('.model-facts').textContent()) ?? '';
      expect(facts).toContain(`needs ~${formatBytes(recipe.gpuMemoryBytes.value)} of GPU memory`);
      expect(facts).toContain(`Converted folder ${formatBytes(convert.outputBytes.value)}`);
      expect(facts).toContain(`Checkpoint ${formatBytes(convert.downloadBytes.value)} to download`);
      expect(await card.locator('.model-desc code').last().textContent()).toBe(convert.outputFolder);
    }
    // The copy button puts the commands, exactly, on the clipboard.
    await page
      .context()
      .grantPermissions(['clipboard-read', 'clipboard-write'], { origin: app.server.origin });
    await cards.nth(1).locator('.recipe-copy').click();
    await page.waitForFunction(() =>
      document.querySelector('.recipe-card:nth-child(2) .recipe-copy')?.textContent?.includes('Copied'),
    );
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(
      CONVERT_RECIPES[1]!.convert!.commands.join('\n'),
    );
    // "Import the converted folder…" opens the same folder picker as the import button.
    const chooser = page.waitForEvent('filechooser');
    await cards.nth(0).locator('button:has-text("Import the converted folder")').click();
    const picker = await chooser;
    expect(picker.isMultiple()).toBe(true);
    expect(await picker.element().getAttribute('id')).toBe('import-model-folder');
    await cards.nth(0).scrollIntoViewIfNeeded();
    await screenshot(page, 'convert-recipes');
    // On a phone the panel takes the screen: the form and the recipes fit its width.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.locator('details.add-model').scrollIntoViewIfNeeded();
    const overflow = await page.evaluate(() =>
      [...document.querySelectorAll('.model-panel, .add-model, .recipe-card, .recipe-commands')]
        .filter((el) => el.scrollWidth > el.clientWidth + 1)
        .map((el) => el.className),
    );
    expect(overflow).toEqual([]);
    await screenshot(page, 'add-model-phone');
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('remembers added models across a reload, and takes one off the list on request', async () => {
    const { page } = app;
    await app.reload();
    await openPanel(page);
    const added = page.locator('.model-card:has(.badge:has-text("Added by you"))');
    await page.waitForFunction(
      () => document.querySelectorAll('.model-card .model-cached').length >= 2,
      null,
      { timeout: 20_000 },
    );
    expect(await added.count()).toBe(2);
    expect(await added.locator('.model-cached').allTextContents()).toEqual([
      expect.stringContaining('On this device'),
      expect.stringContaining('On this device'),
    ]);
    await screenshot(page, 'add-model-panel');
    await added.first().locator('button:has-text("Remove from list")').click();
    await page.waitForFunction(
      () => document.querySelectorAll('.model-card:has(.badge-added)').length === 1,
      null,
      { timeout: 20_000 },
    );
    // Its downloaded files went with it: it is not listed as an imported folder either.
    expect(await page.locator('.model-card').filter({ hasText: 'Imported folder' }).count()).toBe(0);
    expect(app.browser.blockedRequests).toEqual([]);
  });
});
