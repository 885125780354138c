import * as tf from "@tensorflow/tfjs-core"
import { beforeAll, describe, expect, it } from "vitest"
import { paperInpaintProcess } from "../../src/dirac/operators/process.js"
import { GuidanceNeedsGradient, type Denoiser } from "../../src/dirac/sample/denoiser.js"
import { dataConsistencyGuidance, noGuidance } from "../../src/dirac/sample/guidance.js"
import { initBackend } from "../../src/runtime/backend/select.js"
import { maxAbsDiff } from "../numeric.js"

beforeAll(async () => {
  await initBackend("cpu")
})

// Inpainting is A_1 x = m x for a mask m; with the denoiser Phi(y) = 2 y the loss ||y~ - 2 m y||^2 has the
// gradient -4 m (y~ - 2 m y) with respect to y.
const process = paperInpaintProcess()
const shape: [number, number, number, number] = [2, 16, 16, 3]
const double: Denoiser = (y) => tf.mul<tf.Tensor4D>(y, 2)

const fixture = () => {
  const y = tf.randomUniform(shape, 0, 1, "float32", 1) as tf.Tensor4D
  const yTilde = tf.randomUniform(shape, 0, 1, "float32", 2) as tf.Tensor4D
  const mask = process.A(tf.ones(shape) as tf.Tensor4D, 1)
  const residual = tf.sub(yTilde, tf.mul(mask, tf.mul(y, 2)))
  const closedForm = tf.mul(tf.mul(mask, residual), -4)
  const norms = Array.from(tf.sqrt(tf.sum(tf.square(residual), [1, 2, 3])).dataSync())
  const dispose = () => tf.dispose([y, yTilde, mask, residual, closedForm])
  return { y, yTilde, closedForm, norms, dispose }
}

describe("dataConsistencyGuidance", () => {
  it("gives x^0 and the gradient of ||y~ - A_1(x^0)||^2 through the denoiser, with the std step size and the paper's sign", async () => {
    const { y, yTilde, closedForm, dispose } = fixture()
    const guidance = dataConsistencyGuidance(yTilde, process, { step: 0.5, scaling: "std", sign: "paper" }, 0.05)
    const { x0, guidance: g } = await guidance.estimate(double, y, 0.03)
    expect(maxAbsDiff(x0.dataSync(), tf.mul(y, 2).dataSync())).toBe(0)
    expect(maxAbsDiff(g!.gradient.dataSync(), closedForm.dataSync())).toBeLessThan(1e-5)
    expect(Array.from(g!.weights)).toEqual([-100, -100].map(Math.fround))
    tf.dispose([x0, g!.gradient])
    dispose()
  })

  it("scales by the error norm per image with the official sign, and leaves no tensors behind", async () => {
    const { y, yTilde, norms, dispose } = fixture()
    const guidance = dataConsistencyGuidance(yTilde, process, { step: 1, scaling: "error", sign: "official" }, 0.05)
    const before = tf.memory().numTensors
    const { x0, guidance: g } = await guidance.estimate(double, y, 0.03)
    expect(tf.memory().numTensors).toBe(before + 2)
    expect(g!.weights[0]).toBeCloseTo(1 / norms[0], 6)
    expect(g!.weights[1]).toBeCloseTo(1 / norms[1], 6)
    tf.dispose([x0, g!.gradient])
    dispose()
  })

  it("refuses a denoiser it cannot differentiate", async () => {
    const { y, yTilde, dispose } = fixture()
    const guidance = dataConsistencyGuidance(yTilde, process, { step: 1, scaling: "std", sign: "paper" }, 0.05)
    await expect(guidance.estimate(async (yt) => tf.clone(yt), y, 0.03)).rejects.toBeInstanceOf(GuidanceNeedsGradient)
    dispose()
  })
})

describe("noGuidance", () => {
  it("gives the denoiser's x^0 and no gradient", async () => {
    const y = tf.ones(shape) as tf.Tensor4D
    const estimate = await noGuidance.estimate(async (yt) => double(yt, 0), y, 0.03)
    expect(estimate.guidance).toBeUndefined()
    expect(estimate.x0.dataSync()[0]).toBe(2)
    tf.dispose([y, estimate.x0])
  })
})
