// Owns the compact weight file format (a little-endian float32 .bin plus a .json index with sha256) used for stage
// checkpoints and the committed micro model. Node-only (fs, crypto); no TF.js.

import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { WeightMap } from '../../modelgen/llava/types';
import { unpackTensors, type TensorFileIndex, type TensorIndexEntry } from './tensor-pack';

export type { TensorFileIndex, TensorIndexEntry } from './tensor-pack';

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Packs tensors in the given order (sorted by name when none is given). */
export function packTensors(
  weights: WeightMap,
  meta: Record<string, unknown> = {},
): { bin: Uint8Array; index: TensorFileIndex } {
  const names = [...weights.keys()].sort();
  const total = names.reduce((s, n) => s + weights.get(n)!.data.length, 0);
  const all = new Float32Array(total);
  const tensors: TensorIndexEntry[] = [];
  let offset = 0;
  for (const name of names) {
    const t = weights.get(name)!;
    all.set(t.data, offset);
    tensors.push({ name, dims: t.dims.slice(), offset });
    offset += t.data.length;
  }
  const bin = new Uint8Array(all.buffer);
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1)
    throw new Error('big-endian hosts are not supported');
  return {
    bin,
    index: {
      format: 'micro-llava-tensors',
      version: 1,
      dtype: 'float32',
      sha256: sha256Hex(bin),
      bytes: bin.length,
      tensors,
      meta,
    },
  };
}

/** Writes `<base>.bin` and `<base>.json` atomically (temp file + rename), so a killed run never leaves half a file. */
export function writeTensorFile(
  base: string,
  weights: WeightMap,
  meta: Record<string, unknown> = {},
): TensorFileIndex {
  const { bin, index } = packTensors(weights, meta);
  mkdirSync(path.dirname(base), { recursive: true });
  writeFileSync(`${base}.bin.tmp`, bin);
  writeFileSync(`${base}.json.tmp`, `${JSON.stringify(index, null, 1)}\n`);
  renameSync(`${base}.bin.tmp`, `${base}.bin`);
  renameSync(`${base}.json.tmp`, `${base}.json`);
  return index;
}

/**
 * Reads `<base>.bin` / `<base>.json` and checks the sha256.
 * @throws Error when the file does not match its recorded sha256.
 */
export function readTensorFile(base: string): { weights: WeightMap; index: TensorFileIndex } {
  const index = JSON.parse(readFileSync(`${base}.json`, 'utf8')) as TensorFileIndex;
  const raw = readFileSync(`${base}.bin`);
  const bin = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  const digest = sha256Hex(bin);
  if (digest !== index.sha256)
    throw new Error(`${base}.bin: sha256 ${digest} does not match ${index.sha256}`);
  const weights = unpackTensors(index, bin);
  return { weights, index };
}
