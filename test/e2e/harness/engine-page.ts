// Owns opening the engine test page (test/e2e/pages/engine.html) in Chromium behind the local server, and calling its
// `window.harness` from Node with types. It must not judge results: tests do.
import type { Page } from 'playwright-core';
import type { Harness } from '../pages/engine-page';
import { launchBrowser } from './browser';
import type { LaunchOptions, TestBrowser } from './browser';
import { buildApp } from './build-app';
import { startStaticServer } from './static-server';
import type { Mount, StaticServer } from './static-server';

export interface EnginePage {
  browser: TestBrowser;
  server: StaticServer;
  page: Page;
  /** Calls `window.harness[name](...args)` in the page and returns its (serialisable) result. */
  call<K extends keyof Harness>(
    name: K,
    ...args: Parameters<Harness[K]>
  ): Promise<Awaited<ReturnType<Harness[K]>>>;
  /** Opens a fresh page (and so a fresh worker) in the same browser. */
  reload(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenOptions extends LaunchOptions {
  /** Extra folders to serve, e.g. `{ prefix: '/models/tiny/', dir }`. */
  mounts?: Mount[];
}

/** Builds the test pages (cached), serves them with `mounts`, launches Chromium and opens the engine page. */
export async function openEnginePage(options: OpenOptions = {}): Promise<EnginePage> {
  const dist = await buildApp();
  const server = await startStaticServer([...(options.mounts ?? []), { prefix: '/', dir: dist }]);
  const browser = await launchBrowser(options);
  let page = await browser.newPage();
  const open = async () => {
    await page.goto(`${server.origin}/test/e2e/pages/engine.html`);
    await page.waitForFunction(() => 'harness' in globalThis);
  };
  await open();
  return {
    browser,
    server,
    get page() {
      return page;
    },
    call: (name, ...args) =>
      page.evaluate(
        ([method, params]) => {
          const harness = (globalThis as unknown as { harness: Record<string, (...a: unknown[]) => unknown> })
            .harness;
          return harness[method]!(...params);
        },
        [name, args] as [string, unknown[]],
      ) as never,
    async reload() {
      await page.close();
      page = await browser.newPage();
      await open();
    },
    async close() {
      await browser.close();
      await server.close();
    },
  };
}
