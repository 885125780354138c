import * as tf from "@tensorflow/tfjs-core"
import { beforeAll, describe, expect, it } from "vitest"
import {
  baseline,
  gradient,
  gradientAdjoint,
  LAMBDA_GRIDS,
  operatorNormSquared,
  tikhonov,
  tikhonovNormal,
  tuneLambda,
} from "../../src/dirac/baselines/index.js"
import { psnr } from "../../src/dirac/metrics/mse-psnr.js"
import { gaussianBlurFamily } from "../../src/dirac/operators/gaussian-blur.js"
import { inpaintBoxFamily } from "../../src/dirac/operators/inpaint-box.js"
import { inpaintGaussianFamily } from "../../src/dirac/operators/inpaint-gaussian.js"
import { degradationProcess, type DegradationProcess } from "../../src/dirac/operators/process.js"
import { initBackend } from "../../src/runtime/backend/select.js"
import { lcgValues } from "./degradation-fixtures.js"

beforeAll(async () => {
  await initBackend("cpu")
})

/** 16 x 16 piecewise-constant images: a few flat squares on a flat background, different per image and channel. */
const squares = (count: number, size = 16): tf.Tensor4D => {
  const data = new Float32Array(count * size * size * 3)
  for (let b = 0; b < count; b++)
    for (let i = 0; i < size; i++)
      for (let j = 0; j < size; j++)
        for (let c = 0; c < 3; c++) {
          const inA = i >= 2 + b && i < 9 + b && j >= 3 && j < 10
          const inB = i >= 8 && i < 14 && j >= 9 - b && j < 15 - b
          data[(((b * size + i) * size + j) * 3 + c) as number] = inA ? 0.85 - 0.1 * c : inB ? 0.2 + 0.15 * c : 0.45
        }
  return tf.tensor4d(data, [count, size, size, 3])
}

const blur = (sigma = 0.02): DegradationProcess =>
  degradationProcess(gaussianBlurFamily({ stdMin: 0.3, stdMax: 1.5 }), { noise: { sigmaMin: sigma / 2, sigmaMax: sigma } })

/** y = A_1 x + sigma_1 z with fixed noise. */
const measure = (process: DegradationProcess, x: tf.Tensor4D): tf.Tensor4D =>
  tf.tidy(() => tf.add(process.A(x, 1), tf.mul(tf.randomNormal(x.shape, 0, 1, "float32", 3), process.sigma(1))) as tf.Tensor4D)

/** Half the points of a grid, to keep the tuning tests short. */
const everyOther = (grid: ReadonlyArray<number>) => grid.filter((_, i) => i % 2 === 0)
const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length
const dot = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.sum(tf.mul(a, b)).dataSync()[0]!)
const random = (shape: [number, number, number, number], seed: number) =>
  tf.tensor4d(
    lcgValues(
      shape.reduce((a, b) => a * b),
      seed,
    ),
    shape,
  )

describe("baselines", () => {
  it("gradientAdjoint is the adjoint of gradient", () => {
    const x = random([2, 5, 7, 3], 1)
    const ph = random([2, 5, 7, 3], 2)
    const pw = random([2, 5, 7, 3], 3)
    const [gh, gw] = gradient(x)
    const lhs = dot(gh, ph) + dot(gw, pw)
    const rhs = dot(x, gradientAdjoint(ph, pw))
    expect(Math.abs(lhs - rhs)).toBeLessThan(1e-4 * Math.abs(lhs))
  })

  it("||A_1||^2 of the reflect-padded blur is a little above 1 (columns near the border sum to more than 1)", () => {
    // rows sum to 1, so ||A||_inf = 1, but reflection makes ||A||_1 > 1: TV estimates the norm rather than assuming 1
    const squared = operatorNormSquared(blur(), [1, 16, 16, 3], 60) / 1.02
    expect(squared).toBeGreaterThan(1)
    expect(squared).toBeLessThan(1.2)
  })

  it.each([
    ["gaussian mask", degradationProcess(inpaintGaussianFamily({ widthMax: 6 }))],
    ["box", degradationProcess(inpaintBoxFamily({ boxSize: 8 }))],
  ])("||A_1|| <= 1 for the %s (entries in [0, 1])", (_, process) => {
    const squared = operatorNormSquared(process, [1, 16, 16, 3], 60) / 1.02
    expect(squared).toBeGreaterThan(0.1)
    expect(squared).toBeLessThanOrEqual(1 + 1e-5)
  })

  it("tikhonov CG satisfies the normal equations", () => {
    const process = blur()
    const x0 = squares(2)
    const y = measure(process, x0)
    for (const prior of ["identity", "gradient"] as const) {
      const lambda = 0.01
      const x = tikhonov(process, y, { lambda, prior, iterations: 200, tolerance: 1e-7 })
      const residual = tf.tidy(() => tf.norm(tf.sub(tikhonovNormal(process, lambda, prior)(x), process.AT(y, 1))).dataSync()[0]!)
      const scale = tf.tidy(() => tf.norm(process.AT(y, 1)).dataSync()[0]!)
      expect(residual / scale).toBeLessThan(1e-3)
    }
  })

  it("tikhonov also reconstructs inpainting measurements", () => {
    const process = degradationProcess(inpaintBoxFamily({ boxSize: 6 }), { noise: { sigmaMin: 0.005, sigmaMax: 0.01 } })
    const x0 = squares(2)
    const y = measure(process, x0)
    const x = baseline(process, y, { method: "tikhonov", prior: "gradient", lambda: 0.01, iterations: 50 })
    expect(mean(psnr(x, x0))).toBeGreaterThan(mean(psnr(y, x0)) + 3)
  })

  it("TV with a blur recovers piecewise-constant images better than the measurement and than Tikhonov-identity (wiener)", async () => {
    const process = blur()
    const x0 = squares(2)
    const y = measure(process, x0)
    const decades = LAMBDA_GRIDS.tv.filter((_, i) => i % 4 === 0)
    const tvChoice = await tuneLambda(process, y, x0, { method: "tv", iterations: 100 }, decades)
    const tikChoice = await tuneLambda(process, y, x0, { method: "wiener", prior: "identity", iterations: 1 })
    const score = (choice: { lambda: number; scores: ReadonlyArray<{ lambda: number; psnr: number }> }) =>
      choice.scores.find((s) => s.lambda === choice.lambda)!.psnr
    const yPsnr = mean(psnr(y, x0))
    expect(score(tvChoice)).toBeGreaterThan(yPsnr + 2)
    expect(score(tvChoice)).toBeGreaterThan(score(tikChoice) + 1)
  })

  it("lambda tuning picks an interior grid point where both ends are worse, and the best PSNR of the grid", async () => {
    const process = blur(0.05)
    const x0 = squares(2)
    const y = measure(process, x0)
    const grid = everyOther(LAMBDA_GRIDS.tv)
    const choice = await tuneLambda(process, y, x0, { method: "tv", iterations: 40 }, grid)
    expect(choice.scores.map((s) => s.lambda)).toEqual(grid)
    const index = grid.indexOf(choice.lambda)
    expect(index).toBeGreaterThan(0)
    expect(index).toBeLessThan(grid.length - 1)
    for (const s of choice.scores) expect(choice.scores[index]!.psnr).toBeGreaterThanOrEqual(s.psnr)
    expect(choice.scores[0]!.psnr).toBeLessThan(choice.scores[index]!.psnr)
    expect(choice.scores.at(-1)!.psnr).toBeLessThan(choice.scores[index]!.psnr)
  })

  it("the tuned lambda scores at least as well as every fixed grid value, each solved on its own", async () => {
    const process = blur(0.05)
    const x0 = squares(2)
    const y = measure(process, x0)
    const options = { method: "tikhonov", prior: "gradient", iterations: 30 } as const
    const grid = everyOther(LAMBDA_GRIDS.tikhonov)
    const choice = await tuneLambda(process, y, x0, options, grid)
    const tuned = baseline(process, y, { ...options, lambda: choice.lambda })
    const best = mean(psnr(tuned, x0))
    for (const lambda of grid) {
      const x = baseline(process, y, { ...options, lambda })
      expect(best).toBeGreaterThanOrEqual(mean(psnr(x, x0)) - 1e-9)
      x.dispose()
    }
  })
})
