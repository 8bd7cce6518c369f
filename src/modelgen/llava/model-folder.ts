// Owns writing a complete transformers.js-layout LLaVA folder to disk (its files come from folder-files.ts), the
// manifest's generator fingerprint over this generator's sources, and checking whether a folder on disk is current.
// Node-only (node:fs, node:crypto).

import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { jsonBytes } from './config-files';
import {
  folderManifest,
  folderStamp,
  generateModelFiles,
  GENERATOR_VERSION,
  resolveModel,
  type Manifest,
  type ManifestFile,
  type ModelFolderOptions,
} from './folder-files';
import type { LlavaHfConfig, WeightMap } from './types';

export * from './folder-files';

export interface ModelFolderResult {
  dir: string;
  config: LlavaHfConfig;
  weights: WeightMap;
  manifest: Manifest;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

let cachedFingerprint: string | null = null;

/**
 * A sha256 over the generator's own sources (src/modelgen/{llava,onnx}), so that caches and the demo folder's stamp
 * notice any change to the graphs, tokenizer or configs without anyone remembering to bump a version.
 */
export function generatorFingerprint(): string {
  if (cachedFingerprint !== null) return cachedFingerprint;
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.name.endsWith('.ts')) files.push(p);
    }
  };
  walk(path.join(root, 'llava'));
  walk(path.join(root, 'onnx'));
  const h = createHash('sha256').update(`v${GENERATOR_VERSION}\n`);
  for (const f of files.sort()) h.update(`${path.relative(root, f)}\n`).update(readFileSync(f));
  cachedFingerprint = h.digest('hex').slice(0, 16);
  return cachedFingerprint;
}

/** The manifest fields that decide whether an existing folder can be reused (fingerprint of these sources). */
export function manifestStamp(options: ModelFolderOptions): Omit<Manifest, 'files'> {
  return folderStamp(options, generatorFingerprint());
}

/**
 * Writes the whole folder under `outDir` (created if needed; existing files of the same names are replaced) and
 * `manifest.json` last, so a folder with a manifest is complete. Returns the config and weights used.
 */
export function writeModelFolder(outDir: string, options: ModelFolderOptions = {}): ModelFolderResult {
  const resolved = resolveModel(options);
  // An old manifest must not vouch for a half-rewritten folder if this run dies midway.
  rmSync(path.join(outDir, 'manifest.json'), { force: true });
  const files: ManifestFile[] = [];
  for (const f of generateModelFiles(options, resolved)) {
    const target = path.join(outDir, f.path);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, f.bytes);
    files.push({ path: f.path, size: f.bytes.byteLength, sha256: sha256(f.bytes) });
  }
  const manifest = folderManifest(manifestStamp(options), files);
  writeFileSync(path.join(outDir, 'manifest.json'), jsonBytes(manifest));
  return { dir: outDir, config: resolved.config, weights: resolved.weights, manifest };
}

/** Reads `outDir/manifest.json`, or null when it is missing or unreadable. */
export function readManifest(outDir: string): Manifest | null {
  try {
    return JSON.parse(readFileSync(path.join(outDir, 'manifest.json'), 'utf8')) as Manifest;
  } catch {
    return null;
  }
}

/**
 * True when `outDir` already holds a complete folder for these options: same stamp (generator fingerprint, preset,
 * seed, dtypes, external-data mode) and every listed file present with its recorded size. Sizes, not hashes, so the
 * check stays instant for large presets; the stamp is what guards against stale contents.
 */
export function folderIsCurrent(outDir: string, options: ModelFolderOptions): boolean {
  const manifest = readManifest(outDir);
  if (!manifest) return false;
  const { files, ...stamp } = manifest;
  if (JSON.stringify(stamp) !== JSON.stringify(manifestStamp(options))) return false;
  return files.every((f) => {
    try {
      return statSync(path.join(outDir, f.path)).size === f.size;
    } catch {
      return false;
    }
  });
}
