// Owns the blocked 2-D transpose the weight writers share (float weights and quantized codes alike). It must not
// know what the numbers mean.

/** The typed arrays the weight writers transpose. */
type NumberArray = Float32Array | Uint8Array;

/**
 * Writes the transpose of `src`, a row-major [rows, cols] matrix, into `out` as [cols, rows]. Works in square tiles
 * of `block` elements a side, so that both the reads and the scattered writes stay in cache for large weights.
 * Each element type has its own loop (one shape of array per function keeps V8's element access monomorphic);
 * byte matrices whose sides are multiples of 4 move 4×4 bytes per four 32-bit loads and stores.
 */
export function transposeBlocked<T extends NumberArray>(
  src: T,
  rows: number,
  cols: number,
  out: T,
  block: number,
): T {
  if (src instanceof Float32Array) transposeF32(src, rows, cols, out as Float32Array, block);
  else if (rows % 4 === 0 && cols % 4 === 0 && src.byteOffset % 4 === 0 && out.byteOffset % 4 === 0)
    transposeU8Words(src, rows, cols, out as Uint8Array, Math.max(4, block - (block % 4)));
  else transposeU8(src, rows, cols, out as Uint8Array, block);
  return out;
}

/** Eight source rows per pass: each column step writes 8 neighbouring outputs and reads 8 rows in cache. */
function transposeF32(src: Float32Array, rows: number, cols: number, out: Float32Array, block: number): void {
  for (let r0 = 0; r0 < rows; r0 += block) {
    const r1 = Math.min(r0 + block, rows);
    for (let c0 = 0; c0 < cols; c0 += block) {
      const c1 = Math.min(c0 + block, cols);
      let r = r0;
      for (; r + 8 <= r1; r += 8) {
        for (let c = c0, s = r * cols + c0, o = c0 * rows + r; c < c1; c++, s++, o += rows) {
          let at = s;
          out[o] = src[at] as number;
          out[o + 1] = src[(at += cols)] as number;
          out[o + 2] = src[(at += cols)] as number;
          out[o + 3] = src[(at += cols)] as number;
          out[o + 4] = src[(at += cols)] as number;
          out[o + 5] = src[(at += cols)] as number;
          out[o + 6] = src[(at += cols)] as number;
          out[o + 7] = src[at + cols] as number;
        }
      }
      for (; r < r1; r++) {
        const base = r * cols;
        for (let c = c0; c < c1; c++) out[c * rows + r] = src[base + c] as number;
      }
    }
  }
}

/** The plain element loop, for byte matrices the word kernel cannot take. */
function transposeU8(src: Uint8Array, rows: number, cols: number, out: Uint8Array, block: number): void {
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
}

/**
 * Byte transpose in 4×4 squares: four little-endian words (one per source row) hold the square; output word j
 * gathers byte j of each (row 0's byte lowest). Needs rows, cols and both offsets to be multiples of 4.
 */
function transposeU8Words(src: Uint8Array, rows: number, cols: number, out: Uint8Array, block: number): void {
  const s32 = new Uint32Array(src.buffer, src.byteOffset, (rows * cols) >>> 2);
  const o32 = new Uint32Array(out.buffer, out.byteOffset, (rows * cols) >>> 2);
  const rowWords = cols >>> 2;
  const outRowWords = rows >>> 2;
  for (let r0 = 0; r0 < rows; r0 += block) {
    const r1 = Math.min(r0 + block, rows);
    for (let c0 = 0; c0 < cols; c0 += block) {
      const c1 = Math.min(c0 + block, cols);
      for (let r = r0; r < r1; r += 4) {
        const rw = r >>> 2;
        let s = r * rowWords + (c0 >>> 2);
        let o = c0 * outRowWords + rw;
        for (let c = c0; c < c1; c += 4, s++, o += 4 * outRowWords) {
          const a = s32[s] as number;
          const b = s32[s + rowWords] as number;
          const d = s32[s + 2 * rowWords] as number;
          const e = s32[s + 3 * rowWords] as number;
          o32[o] = (a & 0xff) | ((b & 0xff) << 8) | ((d & 0xff) << 16) | (e << 24);
          o32[o + outRowWords] =
            ((a >>> 8) & 0xff) | (b & 0xff00) | ((d & 0xff00) << 8) | ((e & 0xff00) << 16);
          o32[o + 2 * outRowWords] =
            ((a >>> 16) & 0xff) | ((b >>> 8) & 0xff00) | (d & 0xff0000) | ((e & 0xff0000) << 8);
          o32[o + 3 * outRowWords] =
            (a >>> 24) | ((b >>> 16) & 0xff00) | ((d >>> 8) & 0xff0000) | (e & 0xff000000);
        }
      }
    }
  }
}
