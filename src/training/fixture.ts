// Owns the committed micro model (test/fixtures/micro-model): installing trained weights there, and loading them
// back (weights with sha256 check, config, tokenizer) for export and tests. Node-only (fs).

import { copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuiltTokenizer, TokenizerJson } from '../modelgen/llava/tokenizer-builder';
import { builtTokenizerFromJson } from './fixture-tokenizer';
import type { LlavaHfConfig, WeightMap } from '../modelgen/llava/types';
import { readTensorFile } from './model/tensor-file';

export { builtTokenizerFromJson } from './fixture-tokenizer';

/** Where the committed weights live. */
export const FIXTURE_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../test/fixtures/micro-model',
);
export const FIXTURE_BASE = 'micro-llava';
export const FIXTURE_TOKENIZER = 'micro-llava-tokenizer.json';

/**
 * Copies a trained `<base>.bin/.json` and the tokenizer beside it into the fixture folder, with the JSON files in the
 * repository's Prettier style.
 */
export async function installFixture(
  weightsBase: string,
  dir = FIXTURE_DIR,
): Promise<{ bin: string; bytes: number; sha256: string }> {
  mkdirSync(dir, { recursive: true });
  const bin = path.join(dir, `${FIXTURE_BASE}.bin`);
  copyFileSync(`${weightsBase}.bin`, bin);
  const { format, resolveConfig } = await import('prettier');
  const jsonFiles: Array<[string, string]> = [
    [`${weightsBase}.json`, path.join(dir, `${FIXTURE_BASE}.json`)],
    [path.join(path.dirname(weightsBase), FIXTURE_TOKENIZER), path.join(dir, FIXTURE_TOKENIZER)],
  ];
  for (const [from, to] of jsonFiles) {
    const style = (await resolveConfig(to)) ?? {};
    writeFileSync(to, await format(readFileSync(from, 'utf8'), { ...style, parser: 'json' }));
  }
  const { index } = readTensorFile(path.join(dir, FIXTURE_BASE));
  return { bin, bytes: statSync(bin).size, sha256: index.sha256 };
}

export interface MicroModel {
  config: LlavaHfConfig;
  weights: WeightMap;
  tokenizer: BuiltTokenizer;
  sha256: string;
  bytes: number;
}

/**
 * Loads the micro model's weights (sha256-checked), config and tokenizer.
 * @throws Error when the weights do not match their recorded sha256.
 */
export function loadMicroModel(dir = FIXTURE_DIR, base = FIXTURE_BASE): MicroModel {
  const { weights, index } = readTensorFile(path.join(dir, base));
  const config = index.meta.config as LlavaHfConfig;
  const tokenizerFile = String(index.meta.tokenizer ?? FIXTURE_TOKENIZER);
  const json = JSON.parse(readFileSync(path.join(dir, tokenizerFile), 'utf8')) as TokenizerJson;
  return {
    config,
    weights,
    tokenizer: builtTokenizerFromJson(json),
    sha256: index.sha256,
    bytes: index.bytes,
  };
}
