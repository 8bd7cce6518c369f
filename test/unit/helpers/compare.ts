// Numeric helpers the model tests share (generated graphs, converted folders, the float64 reference): seeded inputs
// and differences. Test-only: it measures; the tests choose the bounds.
import { expect } from 'vitest';

/** Largest |a[i] − b[i]|. Arrays of different lengths fail the calling test. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Seeded pixel_values [3, size, size] in [-2, 2) (an LCG, so the same seed gives the same image everywhere). */
export function seededPixels(size: number, seed: number): Float32Array {
  const out = new Float32Array(3 * size * size);
  let s = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 4 - 2;
  }
  return out;
}
