import { BoundedCache } from "./bounded-cache.js"

/**
 * 1-D Gaussian blur with reflection padding as an n x n matrix.
 *
 * Taps (scipy `gaussian_filter(delta, std, truncate=6)` in closed form):
 *   g[k] = exp(-k^2 / (2 std^2)) / sum_{|j|<=r} exp(-j^2 / (2 std^2)),  |k| <= r,
 *   r = min(floor(6 std + 0.5), maxRadius)   (maxRadius = 30 for the 61-tap kernel).
 * Reflection without repeating the edge sample (PyTorch `ReflectionPad2d`,
 * numpy "reflect"): x[-k] = x[k], x[n-1+k] = x[n-1-k], extended periodically
 * (period 2(n-1)) when r >= n.
 * Matrix: B[i, j] = sum_{|k| <= r : reflect(i + k) = j} g[k], so the padded
 * "valid" convolution is y = B x and its exact adjoint is B^T y.
 */

export const blurRadius = (std: number, maxRadius: number): number => Math.min(Math.floor(6 * std + 0.5), maxRadius)

/** Normalised taps g[-r..r] (float64); std 0 gives the single tap [1]. */
export const gaussianTaps = (std: number, maxRadius: number): Float64Array => {
  const r = std > 0 ? blurRadius(std, maxRadius) : 0
  const taps = new Float64Array(2 * r + 1)
  if (r === 0) {
    taps[0] = 1
    return taps
  }
  let sum = 0
  for (let k = -r; k <= r; k++) sum += taps[k + r] = Math.exp(-(k * k) / (2 * std * std))
  for (let i = 0; i < taps.length; i++) taps[i]! /= sum
  return taps
}

/** Index of sample i of the reflected (not edge-repeating) extension of a length-n signal. */
export const reflectIndex = (i: number, n: number): number => {
  if (n === 1) return 0
  const period = 2 * (n - 1)
  const m = ((i % period) + period) % period
  return m < n ? m : period - m
}

export interface BlurMatrix {
  /** B, row-major n x n. */
  readonly forward: Float32Array
  /** B^T, row-major n x n. */
  readonly transposed: Float32Array
}

const build = (std: number, n: number, maxRadius: number): BlurMatrix => {
  const taps = gaussianTaps(std, maxRadius)
  const r = (taps.length - 1) / 2
  const b = new Float64Array(n * n)
  for (let i = 0; i < n; i++) {
    for (let k = -r; k <= r; k++) b[i * n + reflectIndex(i + k, n)]! += taps[k + r]!
  }
  const forward = Float32Array.from(b)
  const transposed = new Float32Array(n * n)
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) transposed[j * n + i] = forward[i * n + j]!
  return { forward, transposed }
}

const cache = new BoundedCache<string, BlurMatrix>(64)

/** The blur matrix for (std, n), cached by its arguments. */
export const reflectBlurMatrix = (std: number, n: number, maxRadius: number): BlurMatrix =>
  cache.getOrCreate(`${std}|${n}|${maxRadius}`, () => build(std, n, maxRadius))
