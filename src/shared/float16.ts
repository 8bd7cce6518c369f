// Owns IEEE half-precision (float16) bit conversions, for the engine's fp16 tensors and the converter's fp16
// weights alike. Pure: numbers and typed arrays in, typed arrays out. float16 travels as raw Uint16 bit patterns.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Rounds one float32 to an IEEE half bit pattern, to nearest even; overflow gives ±Infinity, as numpy does. */
export function float32ToHalfBits(value: number): number {
  f32[0] = value;
  const x = u32[0] as number;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half (or zero): shift the full mantissa, rounding to nearest even.
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = m & ((1 << shift) - 1);
    let r = m >>> shift;
    if (rest > half || (rest === half && (r & 1) === 1)) r++;
    return sign | r;
  }
  let r = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (r & 1) === 1)) r++; // may carry into the exponent: still correct
  return sign | r;
}

/** The number whose IEEE half bits are `h` (exact: every half is a float32). */
export function halfBitsToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

let halfTable: Float32Array | undefined;

/** float32 value of every half bit pattern, built on first use (256 KiB), so widening is one lookup an element. */
function halfToFloatTable(): Float32Array {
  if (halfTable !== undefined) return halfTable;
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) table[h] = halfBitsToNumber(h);
  halfTable = table;
  return table;
}

/** Widens IEEE half bit patterns to float32. */
export function halfToFloat32(bits: Uint16Array, out = new Float32Array(bits.length)): Float32Array {
  const table = halfToFloatTable();
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i] as number] as number;
  return out;
}

/**
 * Rounds numbers to IEEE half bit patterns (see {@link float32ToHalfBits}). A Float32Array is read through a Uint32
 * view with the rounding inlined (no call and no scratch write per element); the common normal-range case takes one
 * branch; anything else goes through {@link float32ToHalfBits} so both paths give the same bits.
 */
export function float32ToHalf(values: ArrayLike<number>, out = new Uint16Array(values.length)): Uint16Array {
  if (!(values instanceof Float32Array)) {
    for (let i = 0; i < values.length; i++) out[i] = float32ToHalfBits(values[i] as number);
    return out;
  }
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < bits.length; i++) {
    const x = bits[i] as number;
    const exp = (x >>> 23) & 0xff;
    // Half normals: float32 exponents 113..142 (e = exp - 112 in 1..30).
    if (exp > 112 && exp < 143) {
      const mant = x & 0x7fffff;
      let r = ((exp - 112) << 10) | (mant >>> 13);
      const rest = mant & 0x1fff;
      if (rest > 0x1000 || (rest === 0x1000 && (r & 1) === 1)) r++;
      out[i] = ((x >>> 16) & 0x8000) | r;
    } else {
      out[i] = float32ToHalfBits(values[i] as number);
    }
  }
  return out;
}
