// The training page (train.html) in Chromium, from the product build: stage 1 of the micro recipe runs in a worker on
// TF.js's WASM backend, the progress bar reaches the end, the loss falls, Stop ends a run cleanly, and the page
// loads neither ORT nor anything off this machine. Also checks, in Node, that the worker's transformers.js-free
// tokenizer encodes the caption prompts exactly as the engine's tokenizer does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from './harness/browser';
import { buildApp } from './harness/build-app';
import { startStaticServer, type StaticServer } from './harness/static-server';
import { loadMicroModel } from '../../src/training/fixture';
import { engineTokenizer } from '../../src/training/model/tokenizer';
import { wordTokenizer } from '../../src/training/model/word-tokenizer';
import { SYSTEM_PROMPTS } from '../../src/training/model/system-prompts';
import { renderLlavaConversation } from '../../src/engine/prompt';
import { BRIEF_PROMPTS, caption } from '../../src/training/data/language';
import { Rng } from '../../src/training/data/rng';
import { sampleScene } from '../../src/training/data/scene';

describe('the worker tokenizer', () => {
  it('encodes and decodes caption prompts exactly as the engine tokenizer does', () => {
    const micro = loadMicroModel();
    const engine = engineTokenizer(micro.tokenizer, micro.config);
    const word = wordTokenizer(micro.tokenizer);
    const rng = new Rng(5);
    for (let i = 0; i < 200; i++) {
      const scene = sampleScene(rng, `s${i}`);
      const text = renderLlavaConversation(
        [
          {
            role: 'user',
            content: [
              { type: 'image', image: { width: 1, height: 1, data: new Uint8Array(4) } },
              { type: 'text', text: BRIEF_PROMPTS[i % BRIEF_PROMPTS.length]! },
            ],
          },
          { role: 'assistant', content: caption(scene) },
        ],
        SYSTEM_PROMPTS[i % SYSTEM_PROMPTS.length]!,
        '<image>',
      ).text;
      for (const special of [true, false])
        expect(word.encodeCached(text, special)).toEqual(engine.encode(text, special));
      const ids = engine.encode(caption(scene), false);
      expect(word.decode(ids)).toBe(engine.decode(ids));
    }
  });
});

describe('train.html', () => {
  let browser: TestBrowser;
  let server: StaticServer;
  let page: Page;

  beforeAll(async () => {
    const dist = await buildApp({ target: 'product' });
    server = await startStaticServer([{ prefix: '/', dir: dist }]);
    browser = await launchBrowser({ webgpu: false });
    page = await browser.newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  const state = () => page.evaluate(() => document.body.dataset.state ?? '');
  const progress = () =>
    page.evaluate(() => {
      const bar = document.querySelector<HTMLProgressElement>('#progress')!;
      return { value: bar.value, max: bar.max };
    });

  it('runs 20 steps of stage 1 to the end of the progress bar, with the loss falling', async () => {
    await page.goto(`${server.origin}/train.html?steps=20`);
    // The way back to the chat, relative to the page's own address.
    expect(await page.evaluate(() => document.querySelector<HTMLAnchorElement>('#back-to-chat')?.href)).toBe(
      `${server.origin}/`,
    );
    await page.click('#start');
    await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state ?? ''), null, {
      timeout: 150_000,
    });
    expect(await state(), browser.logs.join('\n')).toBe('done');
    expect(await progress()).toEqual({ value: 20, max: 20 });
    expect(await page.textContent('#step')).toBe('step 20 / 20');
    const { first, last } = await page.evaluate(() => {
      const loss = document.querySelector<HTMLElement>('#loss')!.dataset;
      return { first: Number(loss.first), last: Number(loss.loss) };
    });
    expect(last).toBeLessThan(first);
    // Exact match before and after on the same fresh scenes, with their pictures.
    expect(await page.textContent('#before .exact-match')).toMatch(/Caption exact match: \d+ \/ 20/);
    expect(await page.textContent('#after .exact-match')).toMatch(/Caption exact match: \d+ \/ 20/);
    expect(await page.locator('#after .sample canvas').count()).toBeGreaterThan(0);
    const perStep = await page.textContent('#rate');
    console.log(`[train-page] 20 steps: ${perStep}; ${await page.textContent('#status')}`);
  });

  it('stops cleanly mid-run and can start again', async () => {
    await page.fill('#steps', '300');
    await page.click('#start');
    await page.waitForFunction(
      () => (document.querySelector<HTMLProgressElement>('#progress')?.value ?? 0) >= 3,
      null,
      { timeout: 60_000 },
    );
    await page.click('#stop');
    await page.waitForFunction(() => document.body.dataset.state === 'stopped', null, { timeout: 30_000 });
    const { value, max } = await progress();
    expect(max).toBe(300);
    expect(value).toBeGreaterThanOrEqual(3);
    expect(value).toBeLessThan(300);
    expect(await page.textContent('#status')).toBe(`Stopped after ${value} steps.`);
    // No step lands after the stop, and Start is offered again.
    await page.waitForTimeout(1000);
    expect((await progress()).value).toBe(value);
    expect(await page.isEnabled('#start')).toBe(true);
    expect(await page.isDisabled('#stop')).toBe(true);
  });

  it('loads no ORT and nothing from outside this machine', () => {
    expect(browser.blockedRequests).toEqual([]);
    const paths = server.requests.map((r) => r.path);
    expect(paths.filter((p) => /ort-wasm|onnx|engine\.worker|service-worker/.test(p))).toEqual([]);
    expect(paths.some((p) => /\/assets\/tfjs-backend-wasm-simd-[\w-]+\.wasm$/.test(p))).toBe(true);
    expect(paths.some((p) => /\/assets\/micro-llava-[\w-]+\.bin$/.test(p))).toBe(true);
  });
});

describe('the way there from the app', () => {
  it("the model panel links to the training page, relative to the app's own address", async () => {
    const dist = await buildApp({ target: 'product' });
    const server = await startStaticServer([{ prefix: '/', dir: dist }]);
    const browser = await launchBrowser({ webgpu: false });
    try {
      const page = await browser.newPage();
      await page.goto(`${server.origin}/`);
      // A first visit shows the welcome screen; "Choose later" closes it and opens the model panel.
      await page.locator('.first-run-actions button').first().click();
      await page.waitForSelector('.model-panel');
      const link = page.locator('.training-link a');
      expect(await link.getAttribute('href')).toBe('train.html');
      const [popup] = await Promise.all([page.waitForEvent('popup'), link.click()]);
      await popup.waitForSelector('#start');
      expect(new URL(popup.url()).pathname).toBe('/train.html');
      expect(browser.blockedRequests).toEqual([]);
    } finally {
      await browser.close();
      await server.close();
    }
  });
});
