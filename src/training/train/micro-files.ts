// Owns the files of an exported micro model, in memory: the generator's ONNX graphs and configs with the micro
// tokenizer swapped in (the generator always builds its default-corpus tokenizer), and the manifest's object.
// Runtime-agnostic: Node writes the folder (export.ts), the training page's worker hands it to the weight store.

import { generationConfigJson, jsonBytes, tokenizerConfigJson } from '../../modelgen/llava/config-files';
import {
  folderManifest,
  folderStamp,
  generateModelFiles,
  type Manifest,
  type ManifestFile,
} from '../../modelgen/llava/folder-files';
import type { GraphDtype } from '../../modelgen/llava/linear';
import type { BuiltTokenizer } from '../../modelgen/llava/tokenizer-json';
import type { LlavaHfConfig, WeightMap } from '../../modelgen/llava/types';

export interface ExportOptions {
  config: LlavaHfConfig;
  weights: WeightMap;
  tokenizer: BuiltTokenizer;
  dtypes?: GraphDtype[];
  source?: string;
}

/** The folder's files in memory, manifest.json aside: path → bytes. */
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

/** manifest.json's bytes for the files listed (each with its size and sha256), stamped with `fingerprint`. */
export function microManifestBytes(
  o: ExportOptions,
  listed: readonly ManifestFile[],
  fingerprint: string,
): Uint8Array {
  const stamp = folderStamp(
    {
      config: o.config,
      weights: o.weights,
      dtypes: o.dtypes ?? ['fp32'],
      externalData: 'never',
      source: o.source ?? 'micro-training',
    },
    fingerprint,
  );
  const manifest: Manifest = folderManifest(stamp, listed);
  return jsonBytes(manifest);
}
