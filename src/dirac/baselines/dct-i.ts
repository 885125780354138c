import { BoundedCache } from "../operators/bounded-cache.js"

/**
 * The DCT-I of length n as dense matrices: the DFT of the whole-sample symmetric extension
 * x_0 x_1 ... x_{n-1} x_{n-2} ... x_1 (period N = 2(n-1)) restricted to its n distinct samples and frequencies,
 *
 *   (C x)_k = sum_j c_j cos(pi k j / (n-1)) x_j,              c_0 = c_{n-1} = 1, c_j = 2 otherwise,
 *   (C^-1 X)_j = sum_k c_k cos(pi k j / (n-1)) X_k / N.
 *
 * n = 1 is the identity.
 */
export interface DctI {
  /** C, row-major n x n. */
  readonly forward: Float32Array
  /** C^-1, row-major n x n. */
  readonly inverse: Float32Array
  /** C^T and (C^-1)^T, for right multiplication. */
  readonly forwardTransposed: Float32Array
  readonly inverseTransposed: Float32Array
}

const transpose = (m: Float64Array, n: number): Float32Array => {
  const t = new Float32Array(n * n)
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) t[j * n + i] = m[i * n + j]!
  return t
}

const build = (n: number): DctI => {
  const forward = new Float64Array(n * n)
  const inverse = new Float64Array(n * n)
  if (n === 1) {
    forward[0] = inverse[0] = 1
  } else {
    const period = 2 * (n - 1)
    const weight = (j: number) => (j === 0 || j === n - 1 ? 1 : 2)
    for (let k = 0; k < n; k++)
      for (let j = 0; j < n; j++) {
        const cos = Math.cos((Math.PI * ((k * j) % period)) / (n - 1))
        forward[k * n + j] = weight(j) * cos
        inverse[j * n + k] = (weight(k) * cos) / period
      }
  }
  return {
    forward: Float32Array.from(forward),
    inverse: Float32Array.from(inverse),
    forwardTransposed: transpose(forward, n),
    inverseTransposed: transpose(inverse, n),
  }
}

const cache = new BoundedCache<number, DctI>(16)

/** The DCT-I matrices of length n, cached by n. */
export const dctI = (n: number): DctI => cache.getOrCreate(n, () => build(n))

/**
 * The DCT-I eigenvalues of a symmetric filter with taps g[-r..r] under whole-sample reflection of a length-n
 * signal: l_k = sum_m g_m cos(pi k m / (n-1)) (taps beyond the period wrap around, as the reflection does).
 */
export const symmetricFilterSpectrum = (taps: Float64Array, n: number): Float64Array => {
  const r = (taps.length - 1) / 2
  const spectrum = new Float64Array(n)
  if (n === 1) {
    spectrum[0] = taps.reduce((a, b) => a + b, 0)
    return spectrum
  }
  for (let k = 0; k < n; k++) {
    let sum = 0
    for (let m = -r; m <= r; m++) sum += taps[m + r]! * Math.cos((Math.PI * k * m) / (n - 1))
    spectrum[k] = sum
  }
  return spectrum
}

/** DCT-I eigenvalues of the second difference -x_{i-1} + 2 x_i - x_{i+1} under the same reflection: 2 - 2 cos(pi k / (n-1)). */
export const laplacianSpectrum = (n: number): Float64Array =>
  Float64Array.from({ length: n }, (_, k) => (n === 1 ? 0 : 2 - 2 * Math.cos((Math.PI * k) / (n - 1))))
