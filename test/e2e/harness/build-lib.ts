// Owns building the library (`vite.lib.config.ts`, what `npm run build:lib` bundles) once into .cache/e2e, reused
// while its inputs are unchanged. It must not change the library build: only the output folder differs.
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'vite';
import { fingerprint, projectRoot } from './build-app';

const inputs = ['vite.lib.config.ts', 'vite.config.ts', 'package-lock.json', 'src', 'workers'];

/** Builds dist-lib's JavaScript (no .d.ts) into `.cache/e2e/lib-<fingerprint>` and returns that folder. */
export async function buildLibrary(): Promise<string> {
  const key = `lib-${await fingerprint(inputs)}`;
  const outDir = path.join(projectRoot, '.cache/e2e', key);
  if (existsSync(path.join(outDir, '.complete'))) return outDir;
  const tmpDir = `${outDir}.tmp-${process.pid}`;
  await mkdir(path.dirname(outDir), { recursive: true });
  await build({
    root: projectRoot,
    configFile: path.join(projectRoot, 'vite.lib.config.ts'),
    logLevel: 'error',
    build: { outDir: tmpDir, emptyOutDir: true },
  });
  await writeFile(path.join(tmpDir, '.complete'), key);
  await rename(tmpDir, outDir).catch(async () => rm(tmpDir, { recursive: true, force: true }));
  return outDir;
}
