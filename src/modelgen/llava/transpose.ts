// Owns the blocked 2-D transpose the weight writers share (float weights and quantized codes alike). It must not
// know what the numbers mean.

/** The typed arrays the weight writers transpose. */
type NumberArray = Float32Array | Uint8Array;

/**
 * Writes the transpose of `src`, a row-major [rows, cols] matrix, into `out` as [cols, rows]. Works in square tiles
 * of `block` elements a side, so that both the reads and the scattered writes stay in cache for large weights.
 */
export function transposeBlocked<T extends NumberArray>(
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
