// Owns conversions between float32 and bfloat16, the 16-bit format checkpoints use besides IEEE half (which lives in
// src/shared/float16.ts). Pure: typed arrays in, typed arrays out. Assumes a little-endian host (x86, ARM).

/** Widens bfloat16 bit patterns to float32 (exact: bf16 is the top half of a float32). */
export function bfloat16ToFloat32(bits: Uint16Array, out = new Float32Array(bits.length)): Float32Array {
  const u32 = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < bits.length; i++) u32[i] = (bits[i] as number) << 16;
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
