// Owns building the app (plus the test-only pages) once with Vite's JS API, reused while its inputs are unchanged.
// It must not change the product build: it only adds test/e2e/pages/* as extra inputs, in a separate output folder.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const buildsDir = path.join(projectRoot, '.cache/e2e/builds');

/** Files whose change means the app must be built again. */
const inputs = [
  'index.html',
  'train.html',
  'test/fixtures/micro-model',
  'vite.config.ts',
  'package-lock.json',
  'src',
  'workers',
  'public',
  'test/e2e/pages',
];

async function* walk(entry: string): AsyncGenerator<string> {
  const info = await stat(entry).catch(() => undefined);
  if (!info) return;
  if (!info.isDirectory()) {
    yield entry;
    return;
  }
  for (const name of (await readdir(entry)).sort()) yield* walk(path.join(entry, name));
}

/** A hash of the names, sizes and times of every file under `files` (paths relative to the project root). */
export async function fingerprint(files: readonly string[] = inputs): Promise<string> {
  const hash = createHash('sha256');
  for (const input of files) {
    for await (const file of walk(path.join(projectRoot, input))) {
      const info = await stat(file);
      hash.update(`${path.relative(projectRoot, file)}\0${info.size}\0${info.mtimeMs}\n`);
    }
  }
  return hash.digest('hex').slice(0, 16);
}

/** HTML entry points of the test build: every test page, plus the app's own page when asked for. */
async function testInputs(app: boolean): Promise<Record<string, string>> {
  const entries: Record<string, string> = {};
  if (app) entries.index = path.join(projectRoot, 'index.html');
  const pagesDir = path.join(projectRoot, 'test/e2e/pages');
  for (const name of await readdir(pagesDir)) {
    if (name.endsWith('.html')) entries[`test-${name.slice(0, -5)}`] = path.join(pagesDir, name);
  }
  return entries;
}

export interface BuildOptions {
  /**
   * 'pages' (default): the test pages only, mode 'e2e', for engine tests. 'app': the app's index.html plus the test
   * pages (UI tests). 'product': exactly what `npm run build` ships (index.html, mode 'production'), for bundle checks.
   */
  target?: 'pages' | 'app' | 'product';
  /** Origins the build's CSP admits besides the hub's (LLAVA_MODEL_HOSTS, as a deployment with a mirror sets it). */
  modelHosts?: readonly string[];
}

/**
 * Builds with the project's vite.config.ts into `.cache/e2e/builds/<target>-<fingerprint>` and returns that folder.
 * A build whose inputs did not change since is reused; concurrent callers each finish with a whole folder.
 */
export async function buildApp(options: BuildOptions = {}): Promise<string> {
  const target = options.target ?? 'pages';
  const hosts = (options.modelHosts ?? []).join(' ');
  const hostsKey =
    hosts === '' ? '' : `-hosts${createHash('sha256').update(hosts).digest('hex').slice(0, 8)}`;
  const key = `${target}${hostsKey}-${await fingerprint()}`;
  const outDir = path.join(buildsDir, key);
  if (existsSync(path.join(outDir, '.complete'))) return outDir;
  const tmpDir = `${outDir}.tmp-${process.pid}`;
  await mkdir(buildsDir, { recursive: true });
  const input = target === 'product' ? undefined : await testInputs(target === 'app');
  const previousHosts = process.env['LLAVA_MODEL_HOSTS'];
  if (hosts === '') delete process.env['LLAVA_MODEL_HOSTS'];
  else process.env['LLAVA_MODEL_HOSTS'] = hosts;
  await build({
    root: projectRoot,
    configFile: path.join(projectRoot, 'vite.config.ts'),
    mode: target === 'product' ? 'production' : 'e2e',
    logLevel: 'error',
    build: { outDir: tmpDir, emptyOutDir: true, ...(input ? { rolldownOptions: { input } } : {}) },
  }).finally(() => {
    if (previousHosts === undefined) delete process.env['LLAVA_MODEL_HOSTS'];
    else process.env['LLAVA_MODEL_HOSTS'] = previousHosts;
  });
  await writeFile(path.join(tmpDir, '.complete'), key);
  await rename(tmpDir, outDir).catch(async () => rm(tmpDir, { recursive: true, force: true }));
  await pruneOldBuilds(key);
  return outDir;
}

/** Keeps the cache from growing: drops other builds older than an hour. */
async function pruneOldBuilds(keep: string): Promise<void> {
  const hourAgo = Date.now() - 3_600_000;
  for (const name of await readdir(buildsDir)) {
    if (name === keep) continue;
    const dir = path.join(buildsDir, name);
    const info = await stat(dir).catch(() => undefined);
    if (info && info.mtimeMs < hourAgo) await rm(dir, { recursive: true, force: true });
  }
}
