// Owns turning the committed micro weights into a ready model folder (ONNX through the generator's graph builder),
// cached under .cache/ by weights sha256 and generator fingerprint so repeated test runs reuse it. Node-only.

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatorFingerprint } from '../modelgen/llava/model-folder';
import { FIXTURE_DIR, loadMicroModel } from './fixture';
import { writeMicroModelFolder } from './train/export';

const CACHE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../.cache/micro-model');

/**
 * Exports the committed micro model (or the weights under `dir`) to a model folder and returns its path.
 * @throws Error when the weights fail their sha256 check.
 */
export function exportFixture(dir = FIXTURE_DIR, cacheRoot = CACHE_ROOT): string {
  const micro = loadMicroModel(dir);
  const out = path.join(cacheRoot, `${micro.sha256.slice(0, 16)}-${generatorFingerprint()}`);
  const manifest = path.join(out, 'manifest.json');
  if (existsSync(manifest)) {
    const m = JSON.parse(readFileSync(manifest, 'utf8')) as { files?: unknown[] };
    if (Array.isArray(m.files) && m.files.length > 0) return out;
  }
  writeMicroModelFolder(out, {
    config: micro.config,
    weights: micro.weights,
    tokenizer: micro.tokenizer,
    source: `micro-llava sha256 ${micro.sha256}`,
  });
  return out;
}
