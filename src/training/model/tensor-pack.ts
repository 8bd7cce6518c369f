// Owns the layout of the compact weight file (float32 .bin + .json index) as pure data: the index types and unpacking
// a .bin by its index. No I/O and no hashing, so the browser's training worker can read the committed micro model.

import type { WeightMap } from '../../modelgen/llava/types';

export interface TensorIndexEntry {
  name: string;
  dims: number[];
  /** Offset in float32 elements. */
  offset: number;
}

export interface TensorFileIndex {
  format: 'micro-llava-tensors';
  version: 1;
  dtype: 'float32';
  /** sha256 of the .bin file. */
  sha256: string;
  bytes: number;
  tensors: TensorIndexEntry[];
  meta: Record<string, unknown>;
}

/** The tensors of a .bin (little-endian float32) as laid out by its index; copies the bytes. */
export function unpackTensors(index: TensorFileIndex, bin: Uint8Array): WeightMap {
  const all = new Float32Array(bin.slice().buffer);
  const weights: WeightMap = new Map();
  for (const t of index.tensors) {
    const size = t.dims.reduce((a, b) => a * b, 1);
    weights.set(t.name, { dims: t.dims, data: all.slice(t.offset, t.offset + size) });
  }
  return weights;
}
