import { expect } from "vitest"

/** max |a - b| over two arrays of the same length. */
export const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length)
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!))
  return m
}

/** max |a - b| / max |b|: an error relative to the reference's scale (b must not be all zeros). */
export const relativeError = (a: Float32Array, b: Float32Array): number => {
  expect(a.length).toBe(b.length)
  let num = 0
  let den = 0
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!))
    den = Math.max(den, Math.abs(b[i]!))
  }
  expect(den).toBeGreaterThan(0)
  return num / den
}
