// The converter's compute kernels as they were before they were tuned, kept only as the baseline that
// convert-kernels.ts times side by side with the shipped ones (and checks byte for byte against them). Not imported
// by the product.
import { float32ToHalfBits } from '../../src/shared/float16';

/** bf16 → f32, one 16-bit load and one shift per element. */
export function bfloat16ToFloat32Before(
  bits: Uint16Array,
  out = new Float32Array(bits.length),
): Float32Array {
  const u32 = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < bits.length; i++) u32[i] = (bits[i] as number) << 16;
  return out;
}

/** One generic tile loop for every element type. */
export function transposeBlockedBefore<T extends Float32Array | Uint8Array>(
  src: T,
  rows: number,
  cols: number,
  out: T,
  block: number,
): T {
  for (let r0 = 0; r0 < rows; r0 += block) {
    const r1 = Math.min(r0 + block, rows);
    for (let c0 = 0; c0 < cols; c0 += block) {
      const c1 = Math.min(c0 + block, cols);
      for (let r = r0; r < r1; r++) {
        const base = r * cols;
        for (let c = c0; c < c1; c++) out[c * rows + r] = src[base + c] as number;
      }
    }
  }
  return out;
}

/** f32 → IEEE half through a per-element call that writes a scratch Float32Array. */
export function float32ToHalfBefore(
  values: ArrayLike<number>,
  out = new Uint16Array(values.length),
): Uint16Array {
  for (let i = 0; i < values.length; i++) out[i] = float32ToHalfBits(values[i] as number);
  return out;
}

/** q4 with the tail checks on every element of every block. */
export function quantizeQ4Before(
  w: Float32Array,
  n: number,
  k: number,
  blockSize = 32,
): { packed: Uint8Array; scales: Float32Array; zeroPoints: Uint8Array } {
  const blocksPerRow = Math.ceil(k / blockSize);
  const blob = blockSize / 2;
  const zpBytesPerRow = Math.ceil(blocksPerRow / 2);
  const packed = new Uint8Array(n * blocksPerRow * blob);
  const scales = new Float32Array(n * blocksPerRow);
  const zeroPoints = new Uint8Array(n * zpBytesPerRow);
  for (let row = 0; row < n; row++) {
    const rowBase = row * k;
    for (let b = 0; b < blocksPerRow; b++) {
      const start = b * blockSize;
      const end = Math.min(start + blockSize, k);
      let min = 0;
      let max = 0;
      for (let i = rowBase + start; i < rowBase + end; i++) {
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
      const inv = 1 / scale;
      const bias = zp + 0.5;
      let out = blockIndex * blob;
      for (let j = 0; j < blockSize; j += 2) {
        const at = rowBase + start + j;
        let lo = start + j < end ? (w[at] as number) * inv + bias : bias;
        let hi = start + j + 1 < end ? (w[at + 1] as number) * inv + bias : bias;
        lo = lo < 0 ? 0 : lo >= 15 ? 15 : lo | 0;
        hi = hi < 0 ? 0 : hi >= 15 ? 15 : hi | 0;
        packed[out++] = lo | (hi << 4);
      }
    }
  }
  return { packed, scales, zeroPoints };
}
