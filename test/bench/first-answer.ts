// First-answer benchmark (not a test): a newcomer's first visit to the built app in headless Chromium on WASM, each
// run in a fresh browser profile (nothing cached): "Try it now" on the first-run screen, then at once the detailed
// sample scene (seed 3). Prints, per run, the wall time from that first click to the finished answer (model start
// included), the answer's own first-token time and tokens/s, and the same for a second question (model warm).
// Run: npm run bench:first-answer [-- --runs 3]
import { buildApp } from '../e2e/harness/build-app';
import { launchBrowser } from '../e2e/harness/browser';
import { startStaticServer } from '../e2e/harness/static-server';
import { microModelDir } from '../fixtures/micro-model';
import { modelHostsWith, securityHeaders } from '../../src/shared/security-policy';
import { FIRST_SEEDS } from '../../src/ui/lib/sample-scenes';
import type { Page } from 'playwright-core';

const at = process.argv.indexOf('--runs');
const RUNS = at >= 0 && Number(process.argv[at + 1]) > 0 ? Number(process.argv[at + 1]) : 3;

interface Answer {
  wallMs: number;
  stats: string;
  text: string;
}

/** Clicks a sample starter and waits for its answer to finish; returns the wall time and the answer's stats line. */
async function askSample(page: Page, seed: number, kind: string, clickedAt?: number): Promise<Answer> {
  const count = await page.locator('.message-assistant').count();
  const t0 = clickedAt ?? performance.now();
  await page.click(`.scene-starter[data-seed="${seed}"][data-kind="${kind}"]`);
  await page.waitForFunction(
    (n) => {
      const all = document.querySelectorAll('.message-assistant');
      const el = all[all.length - 1];
      return all.length > n && el?.getAttribute('data-status') === 'done';
    },
    count,
    { timeout: 300_000, polling: 20 },
  );
  const wallMs = performance.now() - t0;
  const last = page.locator('.message-assistant').last();
  return {
    wallMs,
    stats: (await last.locator('.answer-stats > *').allTextContents()).map((t) => t.trim()).join(' · '),
    text: ((await last.locator('.markdown').textContent()) ?? '').trim(),
  };
}

const dist = await buildApp({ target: 'app' });
const hosts = modelHostsWith('');
const server = await startStaticServer(
  [
    { prefix: '/models/micro-llava/', dir: microModelDir() },
    { prefix: '/', dir: dist },
  ],
  { headers: (urlPath: string) => securityHeaders(urlPath, hosts) },
);
try {
  for (let run = 1; run <= RUNS; run++) {
    const browser = await launchBrowser({ webgpu: false });
    try {
      const page = await browser.newPage();
      await page.setViewportSize({ width: 1100, height: 760 });
      // Greedy, like the README's screenshot; everything else as a first visit has it.
      await page.addInitScript(() => localStorage.setItem('llava-browser:settings', '{"temperature":0}'));
      await page.goto(`${server.origin}/`);
      await page.waitForSelector('.first-run button:has-text("Try it now")');
      const clicked = performance.now();
      await page.click('.first-run button:has-text("Try it now")');
      await page.waitForSelector('.scene-starter');
      const first = await askSample(page, FIRST_SEEDS[2]!, 'detail', clicked);
      await page.click('button[aria-label="New chat"]');
      await page.waitForSelector('.scene-starter');
      const second = await askSample(page, FIRST_SEEDS[1]!, 'count');
      const backend = (await page.textContent('.model-button')) ?? '';
      console.log(
        `run ${run} (${/WASM/.test(backend) ? 'WASM' : backend.trim()}): first answer ${(first.wallMs / 1000).toFixed(1)} s ` +
          `after "Try it now" [${first.stats}] "${first.text}"; second answer ${(second.wallMs / 1000).toFixed(1)} s ` +
          `[${second.stats}]`,
      );
    } finally {
      await browser.close();
    }
  }
} finally {
  await server.close();
}
