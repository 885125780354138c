import * as tf from "@tensorflow/tfjs-core"
import { beforeAll, describe, expect, it } from "vitest"
import { initBackend } from "../../src/runtime/backend/select.js"
import { mse, psnr } from "../../src/dirac/metrics/mse-psnr.js"
import { ssim } from "../../src/dirac/metrics/ssim.js"
import { lcgValues } from "./degradation-fixtures.js"

beforeAll(async () => {
  await initBackend("cpu")
})

/** SSIM straight from the definition: 2-D 11 x 11 window, valid positions, float64. */
const naiveSsim = (a: Float32Array, b: Float32Array, h: number, w: number, c: number): number => {
  const g1 = Array.from({ length: 11 }, (_, k) => Math.exp(-((k - 5) ** 2) / 4.5))
  const norm = g1.reduce((s, v) => s + v, 0) ** 2
  const clip = (v: number) => Math.min(1, Math.max(0, v))
  let total = 0
  for (let ch = 0; ch < c; ch++) {
    let channelSum = 0
    for (let i = 0; i + 10 < h; i++)
      for (let j = 0; j + 10 < w; j++) {
        let [ma, mb, saa, sbb, sab] = [0, 0, 0, 0, 0]
        for (let u = 0; u < 11; u++)
          for (let v = 0; v < 11; v++) {
            const weight = (g1[u]! * g1[v]!) / norm
            const x = clip(a[((i + u) * w + j + v) * c + ch]!)
            const y = clip(b[((i + u) * w + j + v) * c + ch]!)
            ma += weight * x
            mb += weight * y
            saa += weight * x * x
            sbb += weight * y * y
            sab += weight * x * y
          }
        const [c1, c2] = [1e-4, 9e-4]
        channelSum += ((2 * ma * mb + c1) * (2 * (sab - ma * mb) + c2)) / ((ma * ma + mb * mb + c1) * (saa - ma * ma + sbb - mb * mb + c2))
      }
    total += channelSum / ((h - 10) * (w - 10))
  }
  return total / c
}

const images = (n: number, h: number, w: number, seed: number, scale = 1, offset = 0) =>
  tf.tensor4d(
    lcgValues(n * h * w * 3, seed).map((v) => v * scale + offset),
    [n, h, w, 3],
  )

describe("MSE and PSNR", () => {
  it("use the official per-image formula 20 log10(1 / sqrt(MSE))", () => {
    const a = images(2, 9, 7, 1)
    const b = images(2, 9, 7, 2)
    const x = a.dataSync()
    const y = b.dataSync()
    const size = 9 * 7 * 3
    const expected = [0, 1].map((k) => {
      let s = 0
      for (let p = 0; p < size; p++) s += (x[k * size + p]! - y[k * size + p]!) ** 2
      return s / size
    })
    mse(a, b).forEach((m, k) => expect(m).toBeCloseTo(expected[k]!, 12))
    psnr(a, b).forEach((p, k) => expect(p).toBeCloseTo(20 * Math.log10(1 / Math.sqrt(expected[k]!)), 10))
  })

  it("give 20 dB for a constant offset of 0.1 and Infinity for equal images", () => {
    const a = images(1, 8, 8, 3, 0.8)
    expect(psnr(a, tf.add(a, 0.1) as tf.Tensor4D)[0]).toBeCloseTo(20, 4)
    expect(psnr(a, a)[0]).toBe(Infinity)
  })

  it("clip inputs to [0, 1] first", () => {
    const a = tf.fill([1, 4, 4, 3], 1.5) as tf.Tensor4D
    const b = tf.fill([1, 4, 4, 3], -0.5) as tf.Tensor4D
    expect(mse(a, b)[0]).toBe(1)
    expect(psnr(a, b)[0]).toBeCloseTo(0, 12)
  })
})

describe("SSIM", () => {
  it("matches a direct implementation of the definition (valid window, per image, mean over channels)", () => {
    const a = images(2, 19, 16, 5)
    const noise = lcgValues(a.size, 6)
    const b = tf.tensor4d(
      a.dataSync().map((v, k) => v * 0.7 + 0.3 * noise[k]! - 0.05),
      a.shape,
    )
    const got = ssim(a, b)
    const x = a.dataSync() as Float32Array
    const y = b.dataSync() as Float32Array
    const size = 19 * 16 * 3
    got.forEach((value, k) => {
      expect(
        Math.abs(value - naiveSsim(x.subarray(k * size, (k + 1) * size), y.subarray(k * size, (k + 1) * size), 19, 16, 3)),
      ).toBeLessThan(1e-6)
    })
  })

  it("is 1 for equal images, symmetric, and below 1 otherwise", () => {
    const a = images(2, 24, 24, 9)
    const b = images(2, 24, 24, 10)
    ssim(a, a).forEach((v) => expect(v).toBeCloseTo(1, 6))
    const ab = ssim(a, b)
    ssim(b, a).forEach((v, k) => expect(v).toBeCloseTo(ab[k]!, 6))
    ab.forEach((v) => expect(v).toBeLessThan(0.1))
  })

  it("reduces to the luminance term for constant images", () => {
    const a = tf.fill([1, 12, 12, 3], 0.2) as tf.Tensor4D
    const b = tf.fill([1, 12, 12, 3], 0.6) as tf.Tensor4D
    const expected = (2 * 0.2 * 0.6 + 1e-4) / (0.04 + 0.36 + 1e-4)
    expect(ssim(a, b)[0]).toBeCloseTo(expected, 6)
  })

  it("needs images larger than the window", () => {
    const a = tf.zeros([1, 10, 30, 3]) as tf.Tensor4D
    expect(() => ssim(a, a)).toThrow(RangeError)
  })
})
