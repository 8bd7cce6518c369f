// Owns opening the built app (index.html) in Chromium behind the local server for the UI tests, and the gestures
// tests need: dropping and pasting real files through DataTransfer. It must not judge results: tests do.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { launchBrowser } from '../harness/browser';
import type { LaunchOptions, TestBrowser } from '../harness/browser';
import { buildApp, projectRoot } from '../harness/build-app';
import { startStaticServer } from '../harness/static-server';
import type { Mount, StaticServer } from '../harness/static-server';
import { getTinyModel } from '../../fixtures/tiny-model';
import { modelHostsWith, securityHeaders } from '../../../src/shared/security-policy';
import { microModelDir } from '../../fixtures/micro-model';

export interface AppPage {
  browser: TestBrowser;
  server: StaticServer;
  page: Page;
  dist: string;
  /** Opens the app again in the same page (a reload keeps IndexedDB, the service worker and localStorage). */
  reload(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenAppOptions extends LaunchOptions {
  mounts?: Mount[];
  /** Settings a returning user would have (first-run screen seen, demo model chosen, greedy); false: a first visit. */
  welcomed?: boolean;
  /** Max new tokens in those settings (default 24: enough to watch it stream, quick on a software GPU). */
  maxNewTokens?: number;
  /** Exact settings to start from instead (a first visit with, say, greedy decoding); overrides `welcomed`. */
  settings?: Record<string, unknown>;
  viewport?: { width: number; height: number };
  colorScheme?: 'light' | 'dark';
  /** Origins the app's CSP admits besides the hub's, as a deployment whose users add a mirror configures them. */
  modelHosts?: readonly string[];
}

export const screenshotDir = path.join(projectRoot, 'test-results/screenshots');

/** The demo model's catalog address; the tests serve the same generated folder `npm run fixtures:demo` writes. */
export const DEMO_PREFIX = '/models/tiny-llava-random/';

/** The built-in micro model's address; the tests serve the folder `npm run fixtures:demo` exports there. */
export const BUILT_IN_PREFIX = '/models/micro-llava/';

/** Builds the app (cached), serves it with the generated demo model, and opens it in Chromium. */
export async function openApp(options: OpenAppOptions = {}): Promise<AppPage> {
  const modelHosts = options.modelHosts ?? [];
  const dist = await buildApp({ target: 'app', modelHosts });
  const hosts = modelHostsWith(modelHosts.join(' '));
  const demo = getTinyModel('tiny', { dtypes: ['fp32', 'q8', 'q4'] });
  const server = await startStaticServer(
    [
      ...(options.mounts ?? []),
      { prefix: DEMO_PREFIX, dir: demo.dir },
      { prefix: BUILT_IN_PREFIX, dir: microModelDir() },
      { prefix: '/', dir: dist },
    ],
    { headers: (urlPath: string) => securityHeaders(urlPath, hosts) },
  );
  const browser = await launchBrowser(options);
  const page = await browser.newPage();
  await page.setViewportSize(options.viewport ?? { width: 1280, height: 800 });
  if (options.colorScheme) await page.emulateMedia({ colorScheme: options.colorScheme });
  if (options.settings) {
    await page.addInitScript((value) => {
      const key = 'llava-browser:settings';
      if (!localStorage.getItem(key)) localStorage.setItem(key, value);
    }, JSON.stringify(options.settings));
  } else if (options.welcomed ?? true) {
    const settings = {
      welcomed: true,
      modelId: 'tiny-llava-random',
      temperature: 0,
      maxNewTokens: options.maxNewTokens ?? 24,
    };
    await page.addInitScript((value) => {
      const key = 'llava-browser:settings';
      if (!localStorage.getItem(key)) localStorage.setItem(key, value);
    }, JSON.stringify(settings));
  }
  const open = async () => {
    await page.goto(`${server.origin}/`);
    await page.waitForSelector('#composer-input', { timeout: 20_000 }).catch((error: unknown) => {
      throw new Error(`The app did not start: ${String(error)}\n${browser.logs.slice(-20).join('\n')}`);
    });
  };
  await open();
  return {
    browser,
    server,
    page,
    dist,
    reload: async () => {
      await page.reload();
      await page.waitForSelector('#composer-input');
    },
    close: async () => {
      await browser.close();
      // A test that went offline has closed the server already.
      await server.close().catch(() => undefined);
      // Every UI test runs under the app's CSP (meta tag and headers, as deployed); a feature it blocks fails here.
      if (browser.cspViolations.length > 0)
        throw new Error(
          `The app's Content-Security-Policy was violated:\n${browser.cspViolations.join('\n')}`,
        );
    },
  };
}

/**
 * Opens the app before the enclosing suite's tests and closes it after them (call it inside `describe`). The object
 * it returns stands for that app; reading it before `beforeAll` has run throws.
 */
export function appForSuite(options: OpenAppOptions = {}): AppPage {
  let app: AppPage | undefined;
  beforeAll(async () => {
    app = await openApp(options);
  });
  afterAll(async () => {
    await app?.close();
  });
  const current = (): AppPage => {
    if (!app) throw new Error('The app opens in beforeAll; use it inside a test or a later hook.');
    return app;
  };
  return {
    get browser() {
      return current().browser;
    },
    get server() {
      return current().server;
    },
    get page() {
      return current().page;
    },
    get dist() {
      return current().dist;
    },
    reload: () => current().reload(),
    close: () => current().close(),
  };
}

export interface FileSpec {
  name: string;
  type: string;
  /** File content, base64. */
  base64: string;
}

/** Drops files on the page the way a person does: dragenter, dragover, drop with a real DataTransfer. */
export async function dropFiles(page: Page, files: FileSpec[]): Promise<void> {
  await page.evaluate((specs) => {
    const dt = new DataTransfer();
    for (const s of specs) {
      const bytes = Uint8Array.from(atob(s.base64), (c) => c.charCodeAt(0));
      dt.items.add(new File([bytes], s.name, { type: s.type }));
    }
    const target = document.querySelector('.message-list, .empty-state') ?? document.body;
    for (const type of ['dragenter', 'dragover', 'drop']) {
      target.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt }));
    }
  }, files);
}

/** Pastes files into the message box like Ctrl+V with an image on the clipboard. */
export async function pasteFiles(page: Page, files: FileSpec[]): Promise<void> {
  await page.focus('#composer-input');
  await page.evaluate((specs) => {
    const dt = new DataTransfer();
    for (const s of specs) {
      const bytes = Uint8Array.from(atob(s.base64), (c) => c.charCodeAt(0));
      dt.items.add(new File([bytes], s.name, { type: s.type }));
    }
    document.activeElement?.dispatchEvent(
      new ClipboardEvent('paste', { bubbles: true, cancelable: true, clipboardData: dt }),
    );
  }, files);
}

/** Saves a screenshot under test-results/screenshots/NAME.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(screenshotDir, { recursive: true });
  const file = path.join(screenshotDir, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

/** What the last answer in the chat shows. */
export interface AnswerState {
  text: string;
  status: string | null;
  busy: boolean;
  /** The line under the answer, as shown: how long it took, how fast, how it ended. */
  stats: string;
  /** The technical details behind it (its tooltip): first-token time, tokens/s, prompt + answer tokens, reused. */
  details: string;
  error: string;
}

/** Text and state of the last answer in the chat. */
export async function lastAnswer(page: Page): Promise<AnswerState> {
  return page.evaluate(() => {
    const all = document.querySelectorAll('.message-assistant');
    const el = all[all.length - 1];
    return {
      text: el?.querySelector('.markdown')?.textContent ?? '',
      status: el?.getAttribute('data-status') ?? null,
      busy: el?.getAttribute('aria-busy') === 'true',
      stats: el?.querySelector('.answer-stats')?.textContent ?? '',
      details: el?.querySelector('.answer-summary')?.getAttribute('title') ?? '',
      error: el?.querySelector('.message-error')?.textContent ?? '',
    };
  });
}

/**
 * Starts recording what the last answer shows on every DOM change: its text length and whether the cursor is there.
 * `stop()` returns the samples.
 */
export async function watchAnswer(
  page: Page,
): Promise<{ stop(): Promise<{ length: number; cursor: boolean }[]> }> {
  await page.evaluate(() => {
    const samples: { length: number; cursor: boolean }[] = [];
    const observer = new MutationObserver(() => {
      const all = document.querySelectorAll('.message-assistant');
      const el = all[all.length - 1];
      if (!el) return;
      const length = el.querySelector('.markdown')?.textContent?.length ?? 0;
      const last = samples[samples.length - 1];
      const cursor = el.querySelector('.markdown .cursor') !== null;
      if (!last || last.length !== length || last.cursor !== cursor) samples.push({ length, cursor });
    });
    observer.observe(document.body, { subtree: true, childList: true, characterData: true });
    (
      globalThis as unknown as { __answerWatch: { observer: MutationObserver; samples: typeof samples } }
    ).__answerWatch = { observer, samples };
  });
  return {
    stop: () =>
      page.evaluate(() => {
        const w = (
          globalThis as unknown as {
            __answerWatch: { observer: MutationObserver; samples: { length: number; cursor: boolean }[] };
          }
        ).__answerWatch;
        w.observer.disconnect();
        return w.samples;
      }),
  };
}

/** Waits until no answer is streaming (the composer shows Send again). */
export async function waitAnswerDone(page: Page, timeout = 120_000): Promise<void> {
  await page.waitForFunction(
    () =>
      document.querySelector('.message-assistant[aria-busy="true"]') === null &&
      document.querySelector('.icon-button.stop') === null,
    null,
    {
      timeout,
    },
  );
}

/**
 * Waits until the answer shows at least `chars` characters, while it is generated or, on a backend fast enough to
 * finish between two polls (WASM with a short answer), once it is done.
 */
export async function waitAnswerText(page: Page, chars: number, timeout = 120_000): Promise<void> {
  await page.waitForFunction(
    (n) => {
      const answers = document.querySelectorAll('.message-assistant');
      const el = answers[answers.length - 1];
      return (el?.querySelector('.markdown')?.textContent?.length ?? 0) >= n;
    },
    chars,
    { timeout },
  );
}

declare global {
  interface Window {
    __answersEnded?: number;
  }
}

/**
 * Runs `action` (a Send, an edit, a regenerate) and waits until it has started an answer. An answer short enough to
 * start and end between two polls (WASM on a loaded machine) still counts: a page-side observer counts every answer
 * that stops being busy, so "busy now, or one more ended since the action" cannot be missed.
 */
export async function answerStarts(page: Page, action: () => Promise<void>, timeout = 60_000): Promise<void> {
  const endedBefore = await page.evaluate(() => {
    if (window.__answersEnded === undefined) {
      window.__answersEnded = 0;
      const wasBusy = (n: Node): boolean =>
        n instanceof Element &&
        (n.matches('[aria-busy="true"]') || n.querySelector('[aria-busy="true"]') !== null);
      new MutationObserver((records) => {
        for (const r of records) {
          if (r.type === 'attributes' && r.oldValue === 'true') window.__answersEnded! += 1;
          if (r.type === 'childList') window.__answersEnded! += [...r.removedNodes].filter(wasBusy).length;
        }
      }).observe(document.body, {
        subtree: true,
        childList: true,
        attributes: true,
        attributeFilter: ['aria-busy'],
        attributeOldValue: true,
      });
    }
    return window.__answersEnded;
  });
  await action();
  await page.waitForFunction(
    (n) =>
      (window.__answersEnded ?? 0) > n ||
      document.querySelector('.message-assistant[aria-busy="true"]') !== null,
    endedBefore,
    { timeout },
  );
}

/**
 * Clicks the empty chat's sample-scene starter of `seed` and `kind`, waits for its answer to begin (the model may
 * still be loading when the answer's message appears) and end, and returns it.
 */
export async function askSampleScene(page: Page, seed: number, kind: string): Promise<AnswerState> {
  await page.locator(`.scene-starter[data-seed="${seed}"][data-kind="${kind}"]`).click();
  await page.waitForSelector('.message-assistant');
  await waitAnswerText(page, 1);
  await waitAnswerDone(page);
  return lastAnswer(page);
}

/** Types `text` in the message box, sends it with Enter, waits for its answer to start and finish, and returns it. */
export async function sendAndWait(page: Page, text: string): Promise<AnswerState> {
  const before = await page.locator('.message-assistant').count();
  await page.fill('#composer-input', text);
  await page.press('#composer-input', 'Enter');
  // An answer that fails at once (e.g. refused before reaching the model) may never be seen busy: wait for the new
  // assistant message to reach a final status instead of for a busy state.
  await page.waitForFunction(
    (n) => {
      const all = document.querySelectorAll('.message-assistant');
      const status = all.length > n ? all[all.length - 1]?.getAttribute('data-status') : null;
      return status !== null && status !== undefined && status !== 'streaming';
    },
    before,
    { timeout: 120_000 },
  );
  await waitAnswerDone(page);
  return lastAnswer(page);
}

/** Drops files the page first fetches from the test server (for files too big to pass through the protocol). */
export async function dropUrls(
  page: Page,
  files: { url: string; name: string; type: string }[],
): Promise<void> {
  await page.evaluate(async (specs) => {
    const dt = new DataTransfer();
    for (const s of specs) {
      const blob = await (await fetch(s.url)).blob();
      dt.items.add(new File([blob], s.name, { type: s.type }));
    }
    const target = document.querySelector('.message-list, .empty-state') ?? document.body;
    for (const type of ['dragenter', 'dragover', 'drop']) {
      target.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt }));
    }
  }, files);
}

/** Opens the settings dialog from its header button, as a person does, and waits until it shows. */
export async function openSettings(page: Page): Promise<void> {
  await page.click('.settings-button');
  await page.waitForSelector('dialog.settings-dialog[open]');
}

/** Closes the settings dialog with Esc and waits until it is gone. */
export async function closeSettings(page: Page): Promise<void> {
  await page.keyboard.press('Escape');
  await page.waitForSelector('dialog.settings-dialog', { state: 'detached' });
}

/** Sets a number field of the settings dialog (opening and closing it). */
export async function setSetting(page: Page, field: string, value: string): Promise<void> {
  await openSettings(page);
  await page.fill(field, value);
  await page.press(field, 'Tab');
  await closeSettings(page);
}
