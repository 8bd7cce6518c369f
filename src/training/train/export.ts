// Owns writing an exported micro model folder to disk: the files micro-files.ts builds, each hashed, and
// manifest.json last with the generator fingerprint of these sources. Node-only (fs, crypto).

import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generatorFingerprint, type Manifest, type ManifestFile } from '../../modelgen/llava/model-folder';
import { microManifestBytes, microModelFiles, type ExportOptions } from './micro-files';

/** Writes the folder (ONNX graphs, configs, micro tokenizer, manifest.json with sha256 of every file). */
export function writeMicroModelFolder(outDir: string, o: ExportOptions): Manifest {
  const files = microModelFiles(o);
  mkdirSync(path.join(outDir, 'onnx'), { recursive: true });
  const listed: ManifestFile[] = [];
  for (const [p, bytes] of files) {
    writeFileSync(path.join(outDir, p), bytes);
    listed.push({
      path: p,
      size: bytes.byteLength,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    });
  }
  const manifest = microManifestBytes(o, listed, generatorFingerprint());
  writeFileSync(path.join(outDir, 'manifest.json'), manifest);
  return JSON.parse(new TextDecoder().decode(manifest)) as Manifest;
}
