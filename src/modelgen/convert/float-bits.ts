// Owns conversions between float32 and bfloat16, the 16-bit format checkpoints use besides IEEE half (which lives in
// src/shared/float16.ts). Pure: typed arrays in, typed arrays out. Assumes a little-endian host (x86, ARM).

/**
 * Widens bfloat16 bit patterns to float32 (exact: bf16 is the top half of a float32). When the source is 4-byte
 * aligned it is read two elements per 32-bit load (the low half is the even element on a little-endian host), which
 * halves the loads of the hottest loop of a bf16 conversion.
 */
export function bfloat16ToFloat32(bits: Uint16Array, out = new Float32Array(bits.length)): Float32Array {
  const n = bits.length;
  const u32 = new Uint32Array(out.buffer, out.byteOffset, out.length);
  if ((bits.byteOffset & 3) !== 0) {
    for (let i = 0; i < n; i++) u32[i] = (bits[i] as number) << 16;
    return out;
  }
  const pairs = n >>> 1;
  const words = new Uint32Array(bits.buffer, bits.byteOffset, pairs);
  for (let p = 0, i = 0; p < pairs; p++, i += 2) {
    const w = words[p] as number;
    u32[i] = w << 16;
    u32[i + 1] = w & 0xffff0000;
  }
  if ((n & 1) === 1) u32[n - 1] = (bits[n - 1] as number) << 16;
  return out;
}

/** Rounds float32 values to bfloat16 bit patterns, to nearest even (as torch's `.to(torch.bfloat16)`); NaN stays NaN. */
export function float32ToBfloat16(values: Float32Array, out = new Uint16Array(values.length)): Uint16Array {
  const u32 = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < values.length; i++) {
    const x = u32[i] as number;
    if ((x & 0x7fffffff) > 0x7f800000) {
      out[i] = (x >>> 16) | 0x40;
      continue;
    }
    out[i] = ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
  }
  return out;
}
