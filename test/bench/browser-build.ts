// Owns building the benchmark's own browser page (pages/tjs-bench.html: transformers.js) with Vite into
// .cache/bench/pages-<fingerprint>, reused while its inputs are unchanged. It must not touch the app's build.

import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'vite';
import { BENCH_CACHE, REPO_ROOT } from './bench-model';

const PAGES = path.join(REPO_ROOT, 'test/bench/pages');
const INPUTS = [
  PAGES,
  path.join(REPO_ROOT, 'test/bench/conversation.ts'),
  path.join(REPO_ROOT, 'src/engine/prompt.ts'),
  path.join(REPO_ROOT, 'package-lock.json'),
];

function fingerprint(): string {
  const hash = createHash('sha256');
  const visit = (entry: string) => {
    const info = statSync(entry);
    if (info.isDirectory()) for (const name of readdirSync(entry).sort()) visit(path.join(entry, name));
    else hash.update(`${entry}\0${info.size}\0${info.mtimeMs}\n`);
  };
  INPUTS.forEach(visit);
  return hash.digest('hex').slice(0, 16);
}

/** Builds (or reuses) the benchmark pages; returns the folder to serve at '/'. */
export async function buildBenchPages(): Promise<string> {
  const outDir = path.join(BENCH_CACHE, `pages-${fingerprint()}`);
  if (existsSync(path.join(outDir, '.complete'))) return outDir;
  const tmp = `${outDir}.tmp-${process.pid}`;
  await build({
    root: REPO_ROOT,
    configFile: false,
    logLevel: 'error',
    build: {
      outDir: tmp,
      emptyOutDir: true,
      target: 'esnext',
      rolldownOptions: { input: { tjs: path.join(PAGES, 'tjs-bench.html') } },
    },
  });
  await writeFile(path.join(tmp, '.complete'), 'ok');
  await rename(tmp, outDir).catch(async () => rm(tmp, { recursive: true, force: true }));
  return outDir;
}
