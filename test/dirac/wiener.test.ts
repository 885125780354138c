import * as tf from "@tensorflow/tfjs-core"
import { beforeAll, describe, expect, it } from "vitest"
import { dctI, LAMBDA_GRIDS, laplacianSpectrum, symmetricFilterSpectrum, tuneLambda, wiener } from "../../src/dirac/baselines/index.js"
import { psnr } from "../../src/dirac/metrics/mse-psnr.js"
import { gaussianBlurFamily } from "../../src/dirac/operators/gaussian-blur.js"
import { inpaintBoxFamily } from "../../src/dirac/operators/inpaint-box.js"
import { officialBlurSchedule } from "../../src/dirac/operators/official-blur-table.js"
import { degradationProcess, type DegradationProcess } from "../../src/dirac/operators/process.js"
import { gaussianTaps, reflectBlurMatrix } from "../../src/dirac/operators/reflect-blur-matrix.js"
import { initBackend } from "../../src/runtime/backend/select.js"
import { randomImages } from "./degradation-fixtures.js"

beforeAll(async () => {
  await initBackend("cpu")
})

const blur = (std: number, kernelSize = 61): DegradationProcess =>
  degradationProcess(gaussianBlurFamily({ stdMin: 0.3, stdMax: std, kernelSize }))

/** C^-1 diag(l) C as a float64 n x n matrix. */
const fromSpectrum = (n: number, l: Float64Array): Float64Array => {
  const { forward, inverse } = dctI(n)
  const m = new Float64Array(n * n)
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let sum = 0
      for (let k = 0; k < n; k++) sum += inverse[i * n + k]! * l[k]! * forward[k * n + j]!
      m[i * n + j] = sum
    }
  return m
}

/** A DCT-I mode cos(pi k i / (H-1)) cos(pi j m / (W-1)) on every channel, [1, H, W, 3]. */
const mode = (h: number, w: number, k: number, j: number): tf.Tensor4D => {
  const cos = (k: number, i: number, n: number) => (n === 1 ? 1 : Math.cos((Math.PI * k * i) / (n - 1)))
  const data = new Float32Array(h * w * 3)
  for (let i = 0; i < h; i++) for (let m = 0; m < w; m++) data.fill(cos(k, i, h) * cos(j, m, w), (i * w + m) * 3, (i * w + m + 1) * 3)
  return tf.tensor4d(data, [1, h, w, 3])
}

/** sum_ij w_i w_j (B x - y)^2 + lambda * prior, with w = 1/2 on the first and last sample of each axis. */
const weightedObjective = (process: DegradationProcess, y: tf.Tensor4D, lambda: number, prior: "identity" | "gradient") => {
  const [, h, w] = y.shape
  const weights = (n: number) => Float32Array.from({ length: n }, (_, i) => (n > 1 && (i === 0 || i === n - 1) ? 0.5 : 1))
  const wh = tf.tensor4d(weights(h), [1, h, 1, 1])
  const ww = tf.tensor4d(weights(w), [1, 1, w, 1])
  return (x: tf.Tensor4D): tf.Scalar => {
    const data = tf.sum(tf.mul(tf.mul(tf.square(tf.sub(process.A(x, 1), y)), wh), ww))
    if (prior === "identity") return tf.add(data, tf.mul(tf.sum(tf.mul(tf.mul(tf.square(x), wh), ww)), lambda))
    const dh = tf.sub(x.slice([0, 1, 0, 0], [-1, h - 1, -1, -1]), x.slice([0, 0, 0, 0], [-1, h - 1, -1, -1]))
    const dw = tf.sub(x.slice([0, 0, 1, 0], [-1, -1, w - 1, -1]), x.slice([0, 0, 0, 0], [-1, -1, w - 1, -1]))
    const smooth = tf.add(tf.sum(tf.mul(tf.square(dh), ww)), tf.sum(tf.mul(tf.square(dw), wh)))
    return tf.add(data, tf.mul(smooth, lambda))
  }
}

describe("wiener (closed-form Tikhonov for the reflect-padded Gaussian blur)", () => {
  it.each([
    [1, 1.5],
    [2, 0.8],
    [5, 1.5],
    [8, 3],
    [16, 0.3],
    [16, 1.5],
    [33, 3],
    [64, 2.2],
  ])("C^-1 diag(l) C is the operator's blur matrix (n %i, std %f), including radius >= n", (n, std) => {
    const maxRadius = 30
    const l = symmetricFilterSpectrum(gaussianTaps(std, maxRadius), n)
    const expected = reflectBlurMatrix(std, n, maxRadius).forward
    const actual = fromSpectrum(n, l)
    let error = 0
    for (let i = 0; i < n * n; i++) error = Math.max(error, Math.abs(actual[i]! - expected[i]!))
    expect(error).toBeLessThan(2e-6)
  })

  it("the Laplacian spectrum diagonalises the reflected second difference", () => {
    const n = 9
    const laplacian = fromSpectrum(n, laplacianSpectrum(n))
    // -x_{i-1} + 2 x_i - x_{i+1} with x_{-1} = x_1 and x_n = x_{n-2}
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        const neighbours = [i - 1 < 0 ? 1 : i - 1, i + 1 >= n ? n - 2 : i + 1].filter((k) => k === j).length
        expect(laplacian[i * n + j]!).toBeCloseTo((i === j ? 2 : 0) - neighbours, 5)
      }
  })

  it("recovers the image from a noiseless blur with a tiny lambda", () => {
    const process = blur(0.7)
    const x = randomImages([2, 12, 10, 3], 4)
    const y = process.A(x, 1)
    for (const prior of ["identity", "gradient"] as const) {
      const restored = wiener(process, y, { lambda: 1e-9, prior })
      expect(tf.max(tf.abs(tf.sub(restored, x))).dataSync()[0]!).toBeLessThan(1e-3)
    }
  })

  it.each(["identity", "gradient"] as const)("the gradient of the edge-weighted objective vanishes at the solution (%s prior)", (prior) => {
    const process = blur(1.5)
    const y = randomImages([2, 11, 14, 3], 9)
    const lambda = 0.05
    const objective = weightedObjective(process, y, lambda, prior)
    const solution = wiener(process, y, { lambda, prior })
    const size = (x: tf.Tensor4D) => tf.norm(tf.grad((v) => objective(v as tf.Tensor4D))(x)).dataSync()[0]!
    expect(size(solution)).toBeLessThan(1e-4 * size(y))
    expect(size(y)).toBeGreaterThan(0.1)
  })

  it.each([
    ["a linear blur to std 1.5", blur(1.5), 16, 24, 3, 5, 1.5],
    [
      "the official table (std 3 at t = 1), one row",
      degradationProcess(gaussianBlurFamily(), { schedule: officialBlurSchedule() }),
      1,
      9,
      0,
      2,
      3,
    ],
    ["a radius beyond the image", blur(3), 5, 4, 2, 1, 3],
  ])("the gain on a single DCT-I mode is l_k l_j / ((l_k l_j)^2 + lambda rho) exactly (%s)", (_, process, h, w, k, j, std) => {
    const lambda = 0.01
    const taps = gaussianTaps(std, 30)
    const l = symmetricFilterSpectrum(taps, h)[k]! * symmetricFilterSpectrum(taps, w)[j]!
    const cases = [
      ["identity", 1],
      ["gradient", laplacianSpectrum(h)[k]! + laplacianSpectrum(w)[j]!],
    ] as const
    for (const [prior, rho] of cases) {
      const input = mode(h, w, k, j)
      const output = wiener(process, input, { lambda, prior })
      const expected = tf.mul(input, l / (l * l + lambda * rho))
      expect(tf.max(tf.abs(tf.sub(output, expected))).dataSync()[0]!).toBeLessThan(1e-5 * Math.max(1, l / (l * l + lambda * rho)))
    }
  })

  it("beats the measurement on noisy blurred images with a moderate lambda", () => {
    const process = degradationProcess(gaussianBlurFamily({ stdMin: 0.3, stdMax: 1.5 }), { noise: { sigmaMin: 0.005, sigmaMax: 0.01 } })
    const x = tf.tidy(() => tf.image.resizeBilinear(randomImages([2, 4, 4, 3], 5), [16, 16]) as tf.Tensor4D)
    const y = tf.tidy(() => tf.add(process.A(x, 1), tf.mul(tf.randomNormal(x.shape, 0, 1, "float32", 1), 0.01)) as tf.Tensor4D)
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length
    expect(mean(psnr(wiener(process, y, { lambda: 1e-3, prior: "gradient" }), x))).toBeGreaterThan(mean(psnr(y, x)) + 2)
  })

  it("refuses a process that is not a Gaussian blur", () => {
    const process = degradationProcess(inpaintBoxFamily({ boxSize: 4 }))
    expect(() => wiener(process, randomImages([1, 8, 8, 3], 1), { lambda: 0.1, prior: "gradient" })).toThrow(/gaussian-blur.*inpaint-box/)
  })
})

describe("tuning wiener's lambda", () => {
  it("scores the same in batches of one as in one batch, and picks the grid's best", async () => {
    const process = degradationProcess(gaussianBlurFamily({ stdMin: 0.3, stdMax: 1.5 }), { noise: { sigmaMin: 0.01, sigmaMax: 0.05 } })
    const clean = tf.tidy(() => tf.image.resizeBilinear(randomImages([3, 4, 4, 3], 6), [16, 16]) as tf.Tensor4D)
    const y = tf.tidy(() => tf.add(process.A(clean, 1), tf.mul(tf.randomNormal(clean.shape, 0, 1, "float32", 2), 0.05)) as tf.Tensor4D)
    const options = { method: "wiener", prior: "gradient", iterations: 1 } as const
    const whole = await tuneLambda(process, y, clean, options)
    const batched = await tuneLambda(process, y, clean, options, undefined, 1)
    expect(whole.scores.map((s) => s.lambda)).toEqual(LAMBDA_GRIDS.wiener)
    batched.scores.forEach((s, i) => expect(s.psnr).toBeCloseTo(whole.scores[i]!.psnr, 4))
    const best = Math.max(...whole.scores.map((s) => s.psnr))
    expect(whole.scores.find((s) => s.lambda === whole.lambda)!.psnr).toBe(best)
    expect(whole.lambda).toBeGreaterThan(LAMBDA_GRIDS.wiener[0]!)
    expect(whole.lambda).toBeLessThan(LAMBDA_GRIDS.wiener.at(-1)!)
  })
})
