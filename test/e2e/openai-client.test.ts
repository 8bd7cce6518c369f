// The official `openai` npm package (pinned in package.json), unchanged but for baseURL, in real Chromium: pointed at
// this page's own origin + '/v1', its requests are answered by the app's service worker route relaying to the page,
// which runs the trained micro LLaVA through the library. It streams an answer about a picture that names what is
// in it, its non-streaming call returns the same text, a refused field comes back as the client's APIError, and no
// request leaves the page's origin (none even reaches the static server under /v1).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from './harness/browser';
import { buildApp } from './harness/build-app';
import { startStaticServer, type StaticServer } from './harness/static-server';
import type { ClientRun, OpenAIClientHarness } from './pages/openai-client-page';
import { drawScene, microModelDir } from '../fixtures/micro-model';
import { encodePng } from '../../src/training/data/png';

let browser: TestBrowser;
let server: StaticServer;
let page: Page;
const requested: string[] = [];

beforeAll(async () => {
  const dist = await buildApp();
  server = await startStaticServer([
    { prefix: '/models/micro/', dir: microModelDir() },
    { prefix: '/', dir: dist },
  ]);
  browser = await launchBrowser({ webgpu: false });
  browser.context.on('request', (request) => requested.push(request.url()));
  page = await browser.newPage();
  await page.goto(`${server.origin}/test/e2e/pages/openai-client.html`);
  await page.waitForFunction(() => 'harness' in globalThis);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

function call<K extends keyof OpenAIClientHarness>(
  name: K,
  ...args: Parameters<OpenAIClientHarness[K]>
): Promise<Awaited<ReturnType<OpenAIClientHarness[K]>>> {
  return page.evaluate(
    ([method, params]) =>
      (globalThis as unknown as { harness: Record<string, (...a: unknown[]) => unknown> }).harness[method]!(
        ...params,
      ),
    [name, args] as [string, unknown[]],
  ) as never;
}

describe('the official openai client in Chromium', () => {
  it('streams an answer about a picture through the service-worker route, and the non-streaming call agrees', async () => {
    const modelId = await call('start', '/models/micro/');
    const picture = Buffer.from(
      encodePng(drawScene([{ slot: 'left', color: 'red', shape: 'circle' }])),
    ).toString('base64');
    const run: ClientRun = await call('ask', picture, 'Describe the image in detail.');
    expect(run.models[0]).toBe(modelId);
    expect(run.streamed.toLowerCase()).toContain('red');
    expect(run.streamed.toLowerCase()).toContain('circle');
    // A role chunk, content chunks, the finish chunk and the usage chunk.
    expect(run.chunks).toBeGreaterThan(3);
    expect(run.finish).toBe('stop');
    expect(run.usage!.completion_tokens).toBeGreaterThan(0);
    expect(run.whole).toBe(run.streamed);
    expect(run.refusal).toEqual({ status: 400, param: 'n' });

    expect(browser.blockedRequests).toEqual([]);
    const foreign = requested.filter((url) => !/^(data:|blob:)/.test(url) && !url.startsWith(server.origin));
    expect(foreign).toEqual([]);
    expect(requested.some((url) => url === `${server.origin}/v1/chat/completions`)).toBe(true);
    expect(server.requests.filter((r) => r.path.startsWith('/v1'))).toEqual([]);
  });
});
