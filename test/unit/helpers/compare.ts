// Numeric comparisons the model tests share (generated graphs, converted folders, the float64 reference). Test-only:
// it measures differences; the tests choose the bounds.
import { expect } from 'vitest';

/** Largest |a[i] − b[i]|. Arrays of different lengths fail the calling test. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
