// Owns the benchmark's model: the generator's `bench` preset (ViT-B/16 224 px → 196 image tokens, LLaMA 1024 × 16
// layers, vocab 32000) in fp32 and q4, built once into .cache/bench, plus the byte counts the bandwidth bound needs.
// Node-only.

import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  folderIsCurrent,
  resolveModel,
  writeModelFolder,
  type ModelFolderOptions,
} from '../../src/modelgen/llava/model-folder';
import type { LlavaHfConfig } from '../../src/modelgen/llava/types';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BENCH_CACHE = path.join(REPO_ROOT, '.cache/bench');

const OPTIONS: ModelFolderOptions = { preset: 'bench', seed: 0, dtypes: ['fp32', 'q8', 'q4'] };

export interface BenchModel {
  dir: string;
  config: LlavaHfConfig;
  /** Seconds the build took (0 when the cached folder was current). */
  builtInS: number;
}

/** The bench model folder, built when missing or made by another generator version. */
export function ensureBenchModel(log: (line: string) => void): BenchModel {
  const dir = path.join(BENCH_CACHE, 'bench-s0-fp32_q8_q4');
  if (folderIsCurrent(dir, OPTIONS)) return { dir, config: resolveModel(OPTIONS).config, builtInS: 0 };
  log(`building the bench model into ${path.relative(REPO_ROOT, dir)} (about 20–60 s)…`);
  const t0 = performance.now();
  const built = writeModelFolder(dir, OPTIONS);
  return { dir, config: built.config, builtInS: (performance.now() - t0) / 1000 };
}

const SUFFIX: Record<string, string> = { fp32: '', q4: '_q4', q8: '_quantized' };

/** Bytes of one component file and its external data in a dtype. */
export function componentBytes(dir: string, component: string, dtype: string): number {
  const base = `${component}${SUFFIX[dtype] ?? ''}.onnx`;
  const onnxDir = path.join(dir, 'onnx');
  let total = 0;
  for (const name of readdirSync(onnxDir)) {
    if (name === base || name.startsWith(`${base}_data`)) total += statSync(path.join(onnxDir, name)).size;
  }
  return total;
}

/**
 * Bytes a decode step must read: every decoder weight (all layers, final norm, lm_head; the embedding table is
 * only gathered one row at a time, so it does not count) plus the KV cache of `context` positions.
 */
export function bytesPerToken(
  model: BenchModel,
  dtype: string,
  context: number,
): { weights: number; kv: number } {
  const t = model.config.text_config;
  const headDim = t.hidden_size / t.num_attention_heads;
  const kvPerPosition = 2 * t.num_hidden_layers * t.num_key_value_heads * headDim * 4;
  return { weights: componentBytes(model.dir, 'decoder_model_merged', dtype), kv: kvPerPosition * context };
}
