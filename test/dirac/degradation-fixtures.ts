import * as tf from "@tensorflow/tfjs-core"

/**
 * The reference's 256 x 256 test image, NHWC: channel 0 = j / 255, channel 1 = i / 255,
 * channel 2 = ((i + j) mod 32) / 31 (the reference indexes it NCHW as x[c, i, j]).
 */
export const referenceImage = (size = 256): tf.Tensor4D => {
  const data = new Float32Array(size * size * 3)
  for (let i = 0; i < size; i++)
    for (let j = 0; j < size; j++) {
      const p = (i * size + j) * 3
      data[p] = j / 255
      data[p + 1] = i / 255
      data[p + 2] = ((i + j) % 32) / 31
    }
  return tf.tensor4d(data, [1, size, size, 3])
}

/** Value at NCHW index [b, c, i, j] of an NHWC array. */
export const atNchw = (data: ArrayLike<number>, shape: readonly number[], b: number, c: number, i: number, j: number): number => {
  const [, h, w, ch] = shape as [number, number, number, number]
  return data[((b * h + i) * w + j) * ch + c]!
}

/** Deterministic values in [0, 1) from a linear congruential generator (independent of src/dirac/random.ts). */
export const lcgValues = (n: number, seed: number): Float32Array => {
  const out = new Float32Array(n)
  let s = seed >>> 0 || 1
  for (let k = 0; k < n; k++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    out[k] = s / 2 ** 32
  }
  return out
}

export const randomImages = (shape: [number, number, number, number], seed: number): tf.Tensor4D =>
  tf.tensor4d(
    lcgValues(
      shape.reduce((a, b) => a * b, 1),
      seed,
    ),
    shape,
  )

export const dot = (a: tf.Tensor, b: tf.Tensor): number => {
  const x = a.dataSync()
  const y = b.dataSync()
  let s = 0
  for (let k = 0; k < x.length; k++) s += x[k]! * y[k]!
  return s
}

/** Smooth gradients plus a few hard-edged rectangles per image (NHWC in [0, 1]). */
export const smoothPlusEdges = (n: number, size: number, seed: number): tf.Tensor4D => {
  const r = lcgValues(n * 32, seed)
  const data = new Float32Array(n * size * size * 3)
  for (let b = 0; b < n; b++) {
    const p = (k: number) => r[b * 32 + k]!
    for (let i = 0; i < size; i++)
      for (let j = 0; j < size; j++)
        for (let c = 0; c < 3; c++) {
          let v = 0.2 + 0.3 * p(c) * (i / size) + 0.3 * p(c + 3) * (j / size)
          for (let q = 0; q < 3; q++) {
            const [i0, j0, side] = [p(6 + q * 4) * size * 0.7, p(7 + q * 4) * size * 0.7, 4 + p(8 + q * 4) * size * 0.3]
            if (i >= i0 && i < i0 + side && j >= j0 && j < j0 + side) v = 0.1 + 0.8 * p(20 + q * 3 + c)
          }
          data[((b * size + i) * size + j) * 3 + c] = v
        }
  }
  return tf.tensor4d(data, [n, size, size, 3])
}
