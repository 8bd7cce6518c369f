// The app built for a sub-path (`vite build --base /sub/`) and served only under /sub/: its demo model is fetched
// from /sub/models/…, downloaded into the weight store and answers a question; nothing is asked of the server root.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getTinyModel } from '../fixtures/tiny-model';
import { launchBrowser, type TestBrowser } from './harness/browser';
import { projectRoot } from './harness/build-app';
import { startStaticServer, type StaticServer } from './harness/static-server';
import { lastAnswer, waitAnswerDone } from './ui-harness/app-page';

const BASE = '/sub/';

describe('the app deployed under a sub-path', () => {
  let dist: string;
  let server: StaticServer;
  let browser: TestBrowser;

  beforeAll(async () => {
    dist = await mkdtemp(path.join(os.tmpdir(), 'llava-subpath-'));
    await build({
      root: projectRoot,
      configFile: path.join(projectRoot, 'vite.config.ts'),
      base: BASE,
      mode: 'production',
      logLevel: 'error',
      build: { outDir: dist, emptyOutDir: true },
    });
    const demo = getTinyModel('tiny', { dtypes: ['fp32', 'q8', 'q4'] });
    server = await startStaticServer([
      { prefix: `${BASE}models/tiny-llava-random/`, dir: demo.dir },
      { prefix: BASE, dir: dist },
    ]);
    browser = await launchBrowser({ webgpu: false });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (dist) await rm(dist, { recursive: true, force: true });
  });

  it('downloads the demo model from under its base and answers', async () => {
    const page = await browser.newPage();
    await page.addInitScript(() => {
      const settings = { welcomed: true, modelId: 'tiny-llava-random', temperature: 0, maxNewTokens: 8 };
      localStorage.setItem('llava-browser:settings', JSON.stringify(settings));
    });
    await page.goto(`${server.origin}${BASE}`);
    await page.waitForSelector('#composer-input', { timeout: 30_000 });
    await page.fill('#composer-input', 'Hello?');
    await page.press('#composer-input', 'Enter');
    await page.waitForSelector('.message-assistant', { timeout: 60_000 });
    await waitAnswerDone(page);
    const answer = await lastAnswer(page);
    expect(answer.error, browser.logs.slice(-20).join('\n')).toBe('');
    expect(answer.text.length).toBeGreaterThan(0);

    const paths = server.requests.map((r) => r.path);
    expect(paths).toContain(`${BASE}models/tiny-llava-random/config.json`);
    expect(paths.filter((p) => !p.startsWith(BASE))).toEqual([]);
    expect(server.requests.filter((r) => r.status >= 400 && r.method === 'GET')).toEqual([]);
    expect(browser.blockedRequests).toEqual([]);
  }, 180_000);
});
