import * as tf from "@tensorflow/tfjs-core"
import { beforeAll, describe, expect, it } from "vitest"
import type { DegradationProcess } from "../../src/dirac/operators/process.js"
import { diracStep, incrementalReconstruction, lookAhead } from "../../src/dirac/sample/update-rule.js"
import type { UpdateRule } from "../../src/dirac/sample/types.js"
import { initBackend } from "../../src/runtime/backend/select.js"
import { maxAbsDiff } from "../numeric.js"

beforeAll(async () => {
  await initBackend("cpu")
})

// A_t x = (1 + t^2) x and sigma_t = 0.01 + 0.04 t: every term of the update has a closed form.
const gain = (t: number) => 1 + t * t
const sigma = (t: number) => 0.01 + 0.04 * t
const toyProcess = { A: (x: tf.Tensor4D, t: number) => tf.mul(x, gain(t)), sigma } as unknown as DegradationProcess
const shape: [number, number, number, number] = [2, 2, 2, 1]
const tensor = (values: number[]) => tf.tensor4d(values, shape)

describe("incremental reconstruction R(x^0)", () => {
  // With A(s) = 1 + s^2 for x^0 = 1, R is a number.
  const reconstruct = (update: UpdateRule, t: number, tNext: number, delT?: number) => {
    const rule = incrementalReconstruction({ update, dt: 0.1, delT })
    return tf.tidy(
      () =>
        rule((s) => tf.fill([1, 1, 1, 1], gain(s)) as tf.Tensor4D, tf.fill([1, 1, 1, 1], gain(t)) as tf.Tensor4D, t, tNext).dataSync()[0],
    )
  }
  it.each<[UpdateRule, number, number, number | undefined, number]>([
    ["look-ahead", 0.5, 0.4, undefined, gain(0.4) - gain(0.5)],
    ["small-look-ahead", 0.5, 0.4, 0.02, ((gain(0.48) - gain(0.5)) * 0.1) / 0.02],
    ["small-look-ahead", 0.5, 0.4, undefined, ((gain(0.45) - gain(0.5)) * 0.1) / 0.05],
    ["look-back", 0.5, 0.4, undefined, gain(0.5) - gain(0.6)],
    ["look-back", 0.95, 0.85, undefined, gain(0.85) - gain(0.95)],
    ["small-look-back", 0.5, 0.4, 0.02, ((gain(0.5) - gain(0.52)) * 0.1) / 0.02],
    ["small-look-back", 0.99, 0.89, 0.02, ((gain(0.97) - gain(0.99)) * 0.1) / 0.02],
  ])("%s at t = %f (t_next %f, delta %s)", (update, t, tNext, delT, expected) => {
    expect(reconstruct(update, t, tNext, delT)).toBeCloseTo(expected, 6)
  })
})

describe("diracStep", () => {
  const y = [0.2, -0.1, 0.7, 0.4, 1.1, 0.05, -0.3, 0.6]
  const x0 = [0.3, 0.1, 0.5, 0.9, 0.8, 0.2, 0.0, 0.4]
  const gradient = [1, -2, 0.5, 3, -1, 0.25, 2, -0.5]
  const weights = Float32Array.of(-100, 30)
  const unitNoise = (std: number) => tf.fill(shape, std) as tf.Tensor4D

  /** Algorithm 1 with look-ahead, element by element in double precision; noise z = 1. */
  const expected = (t: number, tNext: number, guided: boolean) => {
    const dVar = sigma(t) ** 2 - sigma(tNext) ** 2
    return y.map((yi, i) => {
      const yHat = gain(t) * x0[i]
      const guidance = guided ? dVar * weights[Math.floor(i / 4)] * gradient[i] : 0
      return yi + (gain(tNext) * x0[i] - yHat) + (dVar / sigma(t) ** 2) * (yHat - yi) + guidance + Math.sqrt(dVar)
    })
  }

  it.each([
    [1, 0.8, false],
    [0.6, 0.4, true],
  ])("moves y_t from t = %f to %f as Algorithm 1 says (guided: %s)", (t, tNext, guided) => {
    const state = { y: tensor(y), x0: tensor(x0), guidance: guided ? { gradient: tensor(gradient), weights } : undefined }
    const next = diracStep(toyProcess, lookAhead, unitNoise).step(state, t, tNext)
    expect(maxAbsDiff(next.dataSync(), expected(t, tNext, guided))).toBeLessThan(1e-6)
    tf.dispose([next, state.y, state.x0, state.guidance?.gradient])
  })

  it("adds no noise and no denoising when sigma does not change, and leaves no tensors behind", () => {
    const flat = { A: toyProcess.A, sigma: () => 0.05 } as unknown as DegradationProcess
    const [yt, x0t] = [tensor(y), tensor(x0)]
    const before = tf.memory().numTensors
    const next = diracStep(flat, lookAhead, unitNoise).step({ y: yt, x0: x0t }, 0.5, 0.3)
    expect(tf.memory().numTensors).toBe(before + 1)
    expect(
      maxAbsDiff(
        next.dataSync(),
        y.map((yi, i) => yi + (gain(0.3) - gain(0.5)) * x0[i]),
      ),
    ).toBeLessThan(1e-6)
    tf.dispose([next, yt, x0t])
  })
})
