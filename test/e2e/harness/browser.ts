// Owns launching Debian's Chromium for e2e tests (the recipe in docs/browser-limits.md) with every non-local request blocked and counted.
// It must not download browsers or reach the network: a test reads `blockedRequests` and fails if it is not empty.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';

export interface TestBrowser {
  context: BrowserContext;
  /** URLs of requests to anything but 127.0.0.1/localhost; each was aborted before reaching the network. */
  blockedRequests: string[];
  /** Console lines and uncaught errors of every page (and its workers), for failure messages. */
  logs: string[];
  /**
   * Content-Security-Policy violations Chromium reported for the app's own documents and workers (console lines
   * naming the policy). The HTML preview's documents (about:srcdoc, preview.html) are left out: blocking is their job.
   */
  cspViolations: string[];
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

export interface LaunchOptions {
  /** Adds `--enable-unsafe-webgpu` (Chromium's software adapter here). Default true. */
  webgpu?: boolean;
  /** Echo browser console lines to the test output. */
  echoConsole?: boolean;
}

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

function isLocal(url: string): boolean {
  const { protocol, hostname } = new URL(url);
  if (protocol === 'data:' || protocol === 'blob:' || protocol === 'about:') return true;
  return hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]';
}

/** Marks the console line a top-level page writes for each violation of its policy (see launchBrowser). */
const VIOLATION_TAG = '[csp-violation]';

/** Console lines of workers carry their script's URL; documents' lines (the preview frames' too) do not. */
function isScript(url: string): boolean {
  return /\.m?js(?:[?#]|$)/.test(url);
}

/** Headless Chromium as this project runs it: no sandbox (containers), nothing that calls home on its own. */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
];

/** Launches Chromium with a fresh profile; `close()` removes the profile. */
export async function launchBrowser(options: LaunchOptions = {}): Promise<TestBrowser> {
  const profile = await mkdtemp(path.join(os.tmpdir(), 'llava-e2e-'));
  const args = [
    ...CHROMIUM_ARGS,
    // A second fence behind the request router: no host but localhost resolves at all.
    '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
  ];
  if (options.webgpu ?? true) args.push('--enable-unsafe-webgpu');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args,
  });
  const blockedRequests: string[] = [];
  const logs: string[] = [];
  const cspViolations: string[] = [];
  // Each top-level page reports violations of its own policy; frames (the HTML preview) report to themselves.
  await context.addInitScript((tag) => {
    if (window !== window.top) return;
    document.addEventListener('securitypolicyviolation', (e) => {
      console.warn(
        `${tag} ${e.effectiveDirective} refused ${e.blockedURI || 'inline code'} (${e.sourceFile}:${e.lineNumber})`,
      );
    });
  }, VIOLATION_TAG);
  await context.route('**/*', async (route) => {
    const url = route.request().url();
    if (isLocal(url)) return route.continue();
    blockedRequests.push(url);
    return route.abort('blockedbyclient');
  });
  const watch = (page: Page) => {
    const log = (line: string) => {
      logs.push(line);
      if (options.echoConsole) console.log(line);
    };
    page.on('console', (message) => {
      log(`[${message.type()}] ${message.text()}`);
      const text = message.text();
      const from = message.location().url;
      if (text.startsWith(VIOLATION_TAG) || (/Content Security Policy/i.test(text) && isScript(from)))
        cspViolations.push(`${from}: ${text}`);
    });
    // Chromium reports a dedicated worker's console lines on its page too.
    page.on('pageerror', (error) => log(`[pageerror] ${error.message}`));
  };
  context.pages().forEach(watch);
  context.on('page', watch);
  return {
    context,
    blockedRequests,
    logs,
    cspViolations,
    newPage: () => context.newPage(),
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
