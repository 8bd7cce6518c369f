// `npm run audit`: Lighthouse (the pinned npm package) against the built app in Debian's Chromium, served the way a
// deployment should serve it (the security headers of src/shared/security-policy.ts), on a first visit (first-run
// dialog) and a returning visit. Prints the category scores and CLS for mobile and desktop. Not part of `npm test`
// (about a minute per run); nothing leaves localhost.
//
//   npm run audit -- [--runs N]     (N runs per form factor; the median score is printed)

import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import lighthouse from 'lighthouse';
import { chromium } from 'playwright-core';
import { securityHeaders } from '../../src/shared/security-policy';
import { getTinyModel } from '../fixtures/tiny-model';
import { CHROMIUM_ARGS } from '../e2e/harness/browser';
import { buildApp } from '../e2e/harness/build-app';
import { startStaticServer } from '../e2e/harness/static-server';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '1' } } });
const runs = Math.max(1, Number(values.runs));

const CATEGORIES = ['performance', 'accessibility', 'best-practices', 'seo'] as const;

interface Row {
  formFactor: 'mobile' | 'desktop';
  scores: Record<string, number>;
  cls: number;
  failed: string[];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

async function main(): Promise<void> {
  const dist = await buildApp({ target: 'product' });
  const demo = getTinyModel('tiny', { dtypes: ['fp32', 'q8', 'q4'] });
  const server = await startStaticServer(
    [
      { prefix: '/models/tiny-llava-random/', dir: demo.dir },
      { prefix: '/', dir: dist },
    ],
    { headers: securityHeaders },
  );
  const port = 9300 + Math.floor(Math.random() * 500);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      ...CHROMIUM_ARGS,
      `--remote-debugging-port=${port}`,
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
    ],
  });
  const rows: Row[] = [];
  try {
    for (const formFactor of ['mobile', 'desktop'] as const) {
      const results: Row[] = [];
      for (let i = 0; i < runs; i++) {
        const result = await lighthouse(
          `${server.origin}/`,
          { port, output: 'json', logLevel: 'error', onlyCategories: [...CATEGORIES] },
          formFactor === 'desktop'
            ? {
                extends: 'lighthouse:default',
                settings: {
                  formFactor: 'desktop',
                  screenEmulation: {
                    mobile: false,
                    width: 1350,
                    height: 940,
                    deviceScaleFactor: 1,
                    disabled: false,
                  },
                  throttlingMethod: 'simulate',
                },
              }
            : undefined,
        );
        const lhr = result?.lhr;
        if (!lhr) throw new Error('Lighthouse returned no report');
        const scores: Record<string, number> = {};
        for (const c of CATEGORIES) scores[c] = Math.round((lhr.categories[c]?.score ?? 0) * 100);
        const failed = Object.values(lhr.audits)
          .filter((a) => a.score !== null && a.score < 1 && a.scoreDisplayMode === 'binary')
          .map((a) => a.id);
        results.push({
          formFactor,
          scores,
          cls: lhr.audits['cumulative-layout-shift']?.numericValue ?? NaN,
          failed,
        });
      }
      const scores: Record<string, number> = {};
      for (const c of CATEGORIES) scores[c] = median(results.map((r) => r.scores[c] ?? 0));
      rows.push({
        formFactor,
        scores,
        cls: median(results.map((r) => r.cls)),
        failed: [...new Set(results.flatMap((r) => r.failed))],
      });
    }
  } finally {
    await browser.close();
    await server.close();
  }
  const version = (createRequire(import.meta.url)('lighthouse/package.json') as { version: string }).version;
  console.log(`Lighthouse ${version}, ${runs} run(s) each, first visit`);
  console.log('| form factor | performance | accessibility | best practices | SEO | CLS |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const r of rows)
    console.log(
      `| ${r.formFactor} | ${r.scores.performance} | ${r.scores.accessibility} | ${r.scores['best-practices']} | ${r.scores.seo} | ${r.cls.toFixed(3)} |`,
    );
  for (const r of rows)
    if (r.failed.length > 0) console.log(`${r.formFactor}: failing audits: ${r.failed.join(', ')}`);
}

await main();
