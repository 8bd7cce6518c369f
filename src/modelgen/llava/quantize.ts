// Owns the pure weight quantisers behind the `_q4` and `_quantized` (q8) graph variants and their exact inverses.
// No graph building here (linear.ts wires these into operators).
import { transposeBlocked } from './transpose';
import type { F32Tensor } from './types';

/**
 * A Linear weight quantised for com.microsoft `MatMulNBits` (bits 4), in onnxruntime's layout.
 *
 * The weight is the PyTorch Linear weight W [N = out_features, K = in_features]; K is split into
 * `blocksPerRow = ceil(K / blockSize)` blocks (the tail block is zero-padded). For row n and block b:
 * - `scales[n * blocksPerRow + b]` is a float32 scale `s` (input `scales`, shape [N, blocksPerRow]);
 * - the 4-bit zero point `z` sits in `zeroPoints[n * zpBytesPerRow + (b >> 1)]`, low nibble for even b, high nibble
 *   for odd b, with `zpBytesPerRow = ceil(blocksPerRow / 2)` (input `zero_points`, shape [N, zpBytesPerRow]);
 * - the codes of elements k = b * blockSize + j (j = 0..blockSize-1) sit in
 *   `packed[(n * blocksPerRow + b) * blockSize / 2 + (j >> 1)]`, low nibble for even j, high nibble for odd j
 *   (input `B`, shape [N, blocksPerRow, blockSize / 2]).
 * Dequantised value: (code - z) * s. Codes use asymmetric min/max quantisation over the block's range widened to
 * include 0, so every weight is reproduced within s / 2.
 */
export interface Q4Weight {
  n: number;
  k: number;
  blockSize: number;
  blocksPerRow: number;
  packed: Uint8Array;
  scales: Float32Array;
  zeroPoints: Uint8Array;
}

/**
 * Quantises a [N, K] float weight to 4 bits per {@link Q4Weight}. blockSize must be a power of two ≥ 16.
 *
 * Hot loop of a q4 conversion: full blocks take a path without tail checks per element, four codes a step, each
 * computed with exactly the arithmetic of the tail path, so both give the same bytes.
 */
export function quantizeQ4(weight: F32Tensor, blockSize = 32): Q4Weight {
  const [n, k] = matrixDims(weight);
  if (blockSize < 16 || (blockSize & (blockSize - 1)) !== 0)
    throw new RangeError(`bad q4 block size ${blockSize}`);
  const blocksPerRow = Math.ceil(k / blockSize);
  const fullBlocks = Math.floor(k / blockSize);
  const blob = blockSize / 2;
  const zpBytesPerRow = Math.ceil(blocksPerRow / 2);
  const packed = new Uint8Array(n * blocksPerRow * blob);
  const scales = new Float32Array(n * blocksPerRow);
  const zeroPoints = new Uint8Array(n * zpBytesPerRow);
  const w = weight.data;
  for (let row = 0; row < n; row++) {
    const rowBase = row * k;
    for (let b = 0; b < blocksPerRow; b++) {
      const from = rowBase + b * blockSize;
      const full = b < fullBlocks;
      const to = full ? from + blockSize : rowBase + k;
      let min = 0;
      let max = 0;
      for (let i = from; i < to; i++) {
        const v = w[i] as number;
        if (v < min) min = v;
        if (v > max) max = v;
      }
      const scale = max > min ? Math.fround((max - min) / 15) : 1;
      const zp = Math.min(15, Math.max(0, Math.round(-min / scale)));
      const blockIndex = row * blocksPerRow + b;
      scales[blockIndex] = scale;
      const zpAt = row * zpBytesPerRow + (b >> 1);
      zeroPoints[zpAt] = (zeroPoints[zpAt] as number) | (zp << ((b & 1) * 4));
      // Round half up via floor(x + 0.5); the clamp keeps codes in [0, 15] (no Math calls per element).
      const inv = 1 / scale;
      const bias = zp + 0.5;
      let out = blockIndex * blob;
      if (full) {
        // Four elements (two bytes) per step; a full block's length is a multiple of 16.
        for (let at = from; at < to; at += 4, out += 2) {
          const x0 = (w[at] as number) * inv + bias;
          const x1 = (w[at + 1] as number) * inv + bias;
          const x2 = (w[at + 2] as number) * inv + bias;
          const x3 = (w[at + 3] as number) * inv + bias;
          const c0 = x0 < 0 ? 0 : x0 >= 15 ? 15 : x0 | 0;
          const c1 = x1 < 0 ? 0 : x1 >= 15 ? 15 : x1 | 0;
          const c2 = x2 < 0 ? 0 : x2 >= 15 ? 15 : x2 | 0;
          const c3 = x3 < 0 ? 0 : x3 >= 15 ? 15 : x3 | 0;
          packed[out] = c0 | (c1 << 4);
          packed[out + 1] = c2 | (c3 << 4);
        }
        continue;
      }
      // The tail block: elements past K quantise as 0 (code zp).
      for (let j = 0; j < blockSize; j += 2) {
        const at = from + j;
        let lo = at < to ? (w[at] as number) * inv + bias : bias;
        let hi = at + 1 < to ? (w[at + 1] as number) * inv + bias : bias;
        lo = lo < 0 ? 0 : lo >= 15 ? 15 : lo | 0;
        hi = hi < 0 ? 0 : hi >= 15 ? 15 : hi | 0;
        packed[out++] = lo | (hi << 4);
      }
    }
  }
  return { n, k, blockSize, blocksPerRow, packed, scales, zeroPoints };
}

/** Reconstructs the [N, K] float weight a {@link Q4Weight} stands for, exactly as MatMulNBits dequantises it. */
export function dequantizeQ4(q: Q4Weight): F32Tensor {
  const { n, k, blockSize, blocksPerRow } = q;
  const zpBytesPerRow = Math.ceil(blocksPerRow / 2);
  const data = new Float32Array(n * k);
  for (let row = 0; row < n; row++) {
    for (let col = 0; col < k; col++) {
      const b = Math.floor(col / blockSize);
      const j = col % blockSize;
      const blockIndex = row * blocksPerRow + b;
      const byte = q.packed[blockIndex * (blockSize / 2) + (j >> 1)] as number;
      const code = (byte >> ((j & 1) * 4)) & 0xf;
      const zp = ((q.zeroPoints[row * zpBytesPerRow + (b >> 1)] as number) >> ((b & 1) * 4)) & 0xf;
      data[row * k + col] = (code - zp) * (q.scales[blockIndex] as number);
    }
  }
  return { dims: [n, k], data };
}

/**
 * A per-tensor asymmetric uint8 weight for `MatMulInteger` (what onnxruntime's dynamic quantisation emits with
 * per_channel off), stored transposed as B [K, N] so that Y = X · B. Value = (q - zeroPoint) * scale.
 */
export interface Q8Weight {
  k: number;
  n: number;
  /** uint8 codes, row-major [K, N]. */
  data: Uint8Array;
  scale: number;
  zeroPoint: number;
}

/** Quantises a PyTorch-layout [N, K] weight to per-tensor uint8, transposed to [K, N]. */
export function quantizeQ8Linear(weight: F32Tensor): Q8Weight {
  const [n, k] = matrixDims(weight);
  const { scale, zeroPoint, codes } = quantizeU8(weight.data);
  return { k, n, data: transposeBlocked(codes, n, k, new Uint8Array(n * k), 64), scale, zeroPoint };
}

/** Per-tensor asymmetric uint8 codes of `values` (range widened to include 0, as onnxruntime does). */
export function quantizeU8(values: Float32Array): { scale: number; zeroPoint: number; codes: Uint8Array } {
  let min = 0;
  let max = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const scale = max > min ? Math.fround((max - min) / 255) : 1;
  const zeroPoint = Math.min(255, Math.max(0, Math.round(-min / scale)));
  const codes = new Uint8Array(values.length);
  const inv = 1 / scale;
  const bias = zeroPoint + 0.5;
  for (let i = 0; i < values.length; i++) {
    const q = (values[i] as number) * inv + bias;
    codes[i] = q < 0 ? 0 : q >= 255 ? 255 : q | 0;
  }
  return { scale, zeroPoint, codes };
}

/** Reconstructs the PyTorch-layout [N, K] float weight a {@link Q8Weight} stands for. */
export function dequantizeQ8Linear(q: Q8Weight): F32Tensor {
  const data = new Float32Array(q.n * q.k);
  for (let kk = 0; kk < q.k; kk++) {
    for (let nn = 0; nn < q.n; nn++) {
      data[nn * q.k + kk] = ((q.data[kk * q.n + nn] as number) - q.zeroPoint) * q.scale;
    }
  }
  return { dims: [q.n, q.k], data };
}

function matrixDims(t: F32Tensor): [number, number] {
  const [n, k] = t.dims;
  if (t.dims.length !== 2 || n === undefined || k === undefined) {
    throw new RangeError(`expected a 2-D weight, got [${t.dims.join(', ')}]`);
  }
  return [n, k];
}
