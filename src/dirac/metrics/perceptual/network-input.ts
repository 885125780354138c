import * as tf from "@tensorflow/tfjs-core"
import type { Images } from "../image-pixels.js"

/** How images in [0, 1] are mapped to what a network takes. */
export interface NetworkInput {
  /** [height, width] the network needs; null: any size (no resizing). */
  readonly size: readonly [number, number] | null
  /** Value range the network expects for [0, 1] images: x -> lo + (hi - lo) x. */
  readonly range: readonly [number, number]
  /**
   * Bilinear resizing with align_corners (as nsfwjs does: tf.image.resizeBilinear(…,
   * alignCorners = true)), or without ("half-pixel" = PyTorch's / PIL-free default).
   */
  readonly alignCorners: boolean
}

export const imagesShape = (x: Images): readonly [number, number, number, number] => {
  if (x.shape.length !== 4) throw new RangeError(`expected NHWC images [batch, height, width, channels], got shape [${x.shape}]`)
  return x.shape as readonly [number, number, number, number]
}

export const checkPair = (a: Images, b: Images): void => {
  const sa = imagesShape(a)
  const sb = imagesShape(b)
  if (sa.some((d, i) => d !== sb[i])) throw new RangeError(`images differ in shape: [${sa}] vs [${sb}]`)
}

/** Images [start, end) as a tensor (a slice of a tensor, or built from pixels). */
export const imageSlice = (x: Images, start: number, end: number): tf.Tensor4D => {
  const [n, h, w, c] = imagesShape(x)
  if (x instanceof tf.Tensor) return start === 0 && end === n ? tf.clone(x) : tf.slice(x, [start, 0, 0, 0], [end - start, h, w, c])
  const size = h * w * c
  return tf.tensor4d(x.pixels.subarray(start * size, end * size), [end - start, h, w, c])
}

/**
 * Clip to [0, 1], grey -> RGB (1 channel tiled to 3), resize to the network's size,
 * map to its value range. Call inside tf.tidy.
 */
export const toNetworkInput = (x: tf.Tensor4D, input: NetworkInput): tf.Tensor4D => {
  const [, h, w, c] = x.shape
  if (c !== 3 && c !== 1) throw new RangeError(`expected 1 or 3 channels, got ${c}`)
  let y: tf.Tensor4D = tf.clipByValue(x, 0, 1)
  if (c === 1) y = tf.tile(y, [1, 1, 1, 3])
  if (input.size !== null && (h !== input.size[0] || w !== input.size[1])) {
    y = tf.image.resizeBilinear(y, [input.size[0], input.size[1]], input.alignCorners, !input.alignCorners)
  }
  const [lo, hi] = input.range
  if (lo !== 0 || hi !== 1) y = tf.add(tf.mul(y, hi - lo), lo)
  return y
}

/** Runs `fn` on batches of at most `batchSize` images and returns the results in order. */
export const inBatches = async <R>(x: Images, batchSize: number, fn: (batch: tf.Tensor4D) => Promise<R>): Promise<R[]> => {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batch size must be a positive integer, got ${batchSize}`)
  const [n] = imagesShape(x)
  const out: R[] = []
  for (let start = 0; start < n; start += batchSize) {
    // Reading a batch's result resolves in microtasks only; let timers (the live view) run between batches.
    if (start > 0) await new Promise((resolve) => setImmediate(resolve))
    const batch = imageSlice(x, start, Math.min(n, start + batchSize))
    try {
      out.push(await fn(batch))
    } finally {
      batch.dispose()
    }
  }
  return out
}
