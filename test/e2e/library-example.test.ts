// The built library as a stranger's page uses it: examples/basic (plain JavaScript, no bundler) served next to the
// library build and a model folder, and nothing else (src/ is not served, so the page cannot reach it). In Chromium
// the page loads the trained micro LLaVA, streams an answer about a picture picked with its file input, and the
// answer names what is in the picture.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from './harness/browser';
import { projectRoot } from './harness/build-app';
import { buildLibrary } from './harness/build-lib';
import { startStaticServer, type StaticServer } from './harness/static-server';
import { drawScene, microModelDir } from '../fixtures/micro-model';
import { encodePng } from '../../src/training/data/png';

let browser: TestBrowser;
let server: StaticServer;
let page: Page;

beforeAll(async () => {
  const lib = await buildLibrary();
  server = await startStaticServer([
    { prefix: '/dist-lib/', dir: lib },
    { prefix: '/examples/', dir: path.join(projectRoot, 'examples') },
    { prefix: '/models/micro/', dir: microModelDir() },
  ]);
  browser = await launchBrowser({ webgpu: false });
  page = await browser.newPage();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('examples/basic with the built library', () => {
  it('loads the model and streams an answer about the picked picture', async () => {
    await page.goto(`${server.origin}/examples/basic/?model=/models/micro/`);
    await page.click('#load');
    await page.waitForFunction(
      () => document.getElementById('status')?.textContent?.startsWith('Ready'),
      null,
      {
        timeout: 120_000,
      },
    );
    const png = Buffer.from(encodePng(drawScene([{ slot: 'left', color: 'red', shape: 'circle' }])));
    await page.setInputFiles('#picture', { name: 'red-circle.png', mimeType: 'image/png', buffer: png });
    await page.click('#ask');
    await page.waitForSelector('#answer[data-finish]', { timeout: 120_000 });
    const answer = (await page.textContent('#answer'))!.toLowerCase();
    expect(answer).toContain('red');
    expect(answer).toContain('circle');
    expect(await page.getAttribute('#answer', 'data-finish')).toBe('stop');

    expect(browser.blockedRequests).toEqual([]);
    const paths = server.requests.map((r) => r.path);
    expect(paths.filter((p) => !/^\/(dist-lib|examples|models\/micro)\//.test(p))).toEqual([]);
    expect(paths.some((p) => /^\/dist-lib\/assets\/ort-wasm-simd-threaded\.asyncify-.*\.wasm$/.test(p))).toBe(
      true,
    );
    expect(server.requests.every((r) => r.status < 400)).toBe(true);
  });
});
