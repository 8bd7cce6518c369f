// Owns exporting trained micro weights into a model folder in our ONNX layout, through the generator's own graph
// builders and config writers; only the tokenizer files are swapped for the micro tokenizer (the folder writer
// always builds its default-corpus tokenizer). Node-only (fs).

import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generationConfigJson, jsonBytes, tokenizerConfigJson } from '../../modelgen/llava/config-files';
import {
  generateModelFiles,
  manifestStamp,
  type Manifest,
  type ManifestFile,
} from '../../modelgen/llava/model-folder';
import type { GraphDtype } from '../../modelgen/llava/linear';
import type { BuiltTokenizer } from '../../modelgen/llava/tokenizer-builder';
import type { LlavaHfConfig, WeightMap } from '../../modelgen/llava/types';

export interface ExportOptions {
  config: LlavaHfConfig;
  weights: WeightMap;
  tokenizer: BuiltTokenizer;
  dtypes?: GraphDtype[];
  source?: string;
}

/** The folder's files in memory: path → bytes. */
export function microModelFiles(o: ExportOptions): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  const folderOptions = {
    config: o.config,
    weights: o.weights,
    dtypes: o.dtypes ?? ['fp32'],
    externalData: 'never' as const,
  };
  for (const f of generateModelFiles(folderOptions, { config: o.config, weights: o.weights }))
    files.set(f.path, f.bytes);
  files.set('tokenizer.json', jsonBytes(o.tokenizer.json));
  files.set('tokenizer_config.json', jsonBytes(tokenizerConfigJson(o.config, o.tokenizer)));
  files.set('generation_config.json', jsonBytes(generationConfigJson(o.config, o.tokenizer)));
  return files;
}

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
  listed.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const manifest: Manifest = {
    ...manifestStamp({
      config: o.config,
      weights: o.weights,
      dtypes: o.dtypes ?? ['fp32'],
      externalData: 'never',
      source: o.source ?? 'micro-training',
    }),
    files: listed,
  };
  writeFileSync(path.join(outDir, 'manifest.json'), jsonBytes(manifest));
  return manifest;
}
