// Owns turning the committed micro weights into a ready model folder (ONNX through the generator's graph builder):
// cached under .cache/ by weights sha256 and generator fingerprint so repeated test runs reuse it, or written to a
// named folder (the app's built-in model under public/models/) only when that folder is out of date. Node-only.

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatorFingerprint, type Manifest } from '../modelgen/llava/model-folder';
import { FIXTURE_DIR, loadMicroModel } from './fixture';
import { writeMicroModelFolder } from './train/export';

const CACHE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../.cache/micro-model');

/** The manifest's `source` line naming the weights a folder was exported from. */
function sourceOf(sha256: string): string {
  return `micro-llava sha256 ${sha256}`;
}

/** True when `out` holds a complete export of these weights by this generator. */
function isCurrent(out: string, sha256: string): boolean {
  const file = path.join(out, 'manifest.json');
  if (!existsSync(file)) return false;
  const m = JSON.parse(readFileSync(file, 'utf8')) as Partial<Manifest>;
  return (
    Array.isArray(m.files) &&
    m.files.length > 0 &&
    m.source === sourceOf(sha256) &&
    m.generator?.fingerprint === generatorFingerprint() &&
    m.files.every((f) => existsSync(path.join(out, f.path)))
  );
}

/**
 * Exports the committed micro model (or the weights under `dir`) into `out` unless it is already current there.
 * Resolves with whether it wrote anything.
 * @throws Error when the weights fail their sha256 check.
 */
export function exportFixtureTo(out: string, dir = FIXTURE_DIR): { written: boolean; sha256: string } {
  const micro = loadMicroModel(dir);
  if (isCurrent(out, micro.sha256)) return { written: false, sha256: micro.sha256 };
  writeMicroModelFolder(out, {
    config: micro.config,
    weights: micro.weights,
    tokenizer: micro.tokenizer,
    source: sourceOf(micro.sha256),
  });
  return { written: true, sha256: micro.sha256 };
}

/**
 * Exports the committed micro model (or the weights under `dir`) to a cached model folder and returns its path.
 * @throws Error when the weights fail their sha256 check.
 */
export function exportFixture(dir = FIXTURE_DIR, cacheRoot = CACHE_ROOT): string {
  const micro = loadMicroModel(dir);
  const out = path.join(cacheRoot, `${micro.sha256.slice(0, 16)}-${generatorFingerprint()}`);
  exportFixtureTo(out, dir);
  return out;
}
