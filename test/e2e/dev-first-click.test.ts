// The first model load after `npm run dev` on a fresh clone: Vite starts with an empty dependency-optimisation cache,
// the user clicks the first-run button on the first frame it is there, and the model must load in that same page
// (no reload that would swallow the click). Runs the project's own vite.config.ts with an empty cache folder.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportFixtureTo } from '../../src/training/fixture-export';
import { projectRoot } from './harness/build-app';
import { launchBrowser, type TestBrowser } from './harness/browser';
import { askSampleScene } from './ui-harness/app-page';
import { FIRST_SEEDS, sampleSceneFor } from '../../src/ui/lib/sample-scenes';

let server: ViteDevServer;
let browser: TestBrowser;
let cacheDir = '';

beforeAll(async () => {
  // What `npm run dev` writes before starting Vite (the built-in model's folder).
  exportFixtureTo(path.join(projectRoot, 'public/models/micro-llava'));
  cacheDir = await mkdtemp(path.join(os.tmpdir(), 'llava-vite-cache-'));
  server = await createServer({
    root: projectRoot,
    configFile: path.join(projectRoot, 'vite.config.ts'),
    cacheDir,
    logLevel: 'warn',
    server: { host: '127.0.0.1', port: 0, strictPort: false, watch: null },
  });
  await server.listen();
  browser = await launchBrowser({ webgpu: false });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
});

describe('a fresh dev server', () => {
  it('loads the built-in model on the first click, without reloading the page', async () => {
    const url = server.resolvedUrls?.local[0];
    expect(url).toBeTruthy();
    const page = await browser.newPage();
    let navigations = 0;
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) navigations++;
    });
    await page.goto(url!);
    const button = page.locator('.first-run button:has-text("Try it now")');
    await button.waitFor({ timeout: 120_000 });
    await button.click();
    await page.waitForFunction(
      () => document.querySelector('.model-button-label')?.textContent === 'Micro LLaVA',
      null,
      { timeout: 150_000 },
    );
    // Vite's optimiser would have reloaded the page while the worker's dependencies were discovered.
    expect(navigations).toBe(1);
    expect(await page.locator('.first-run').count()).toBe(0);

    // The next click, a sample scene, is answered in the same page too.
    const sample = sampleSceneFor(FIRST_SEEDS[0]!, 'color');
    const answer = await askSampleScene(page, sample.seed, sample.kind);
    expect(answer.error).toBe('');
    expect(answer.text.toLowerCase()).toContain(sample.scene.objects[0]!.color);
    expect(navigations).toBe(1);
    expect(browser.blockedRequests).toEqual([]);
  });
});
