import * as tf from "@tensorflow/tfjs-core"
import { beforeAll, describe, expect, it } from "vitest"
import { initBackend } from "../../src/runtime/backend/select.js"
import { measure, measurementNoise } from "../../src/dirac/noise/measurement.js"
import { sigmaAt } from "../../src/dirac/operators/noise-levels.js"
import { degradationProcess, paperDeblurProcess } from "../../src/dirac/operators/process.js"
import { gaussianBlurFamily } from "../../src/dirac/operators/gaussian-blur.js"
import { randomImages } from "./degradation-fixtures.js"
import { maxAbsDiff } from "../numeric.js"

beforeAll(async () => {
  await initBackend("cpu")
})

describe("noise levels", () => {
  it("sigma_t = 0.01 * 5^t", () => {
    const noise = { sigmaMin: 0.01, sigmaMax: 0.05 }
    const expected: [number, number][] = [
      [0, 0.01],
      [0.25, 0.0149535],
      [0.5, 0.0223607],
      [0.98, 0.0484162],
      [1, 0.05],
    ]
    for (const [t, sigma] of expected) expect(Math.abs(sigmaAt(noise, t) - sigma)).toBeLessThan(1e-7)
  })

  it("is 0 without noise and rejects invalid levels", () => {
    expect(sigmaAt({ sigmaMin: 0, sigmaMax: 0 }, 0.3)).toBe(0)
    const family = gaussianBlurFamily()
    expect(() => degradationProcess(family, { noise: { sigmaMin: 0, sigmaMax: 0.05 } })).toThrow(RangeError)
    expect(() => degradationProcess(family, { noise: { sigmaMin: 0.05, sigmaMax: 0.01 } })).toThrow(RangeError)
  })
})

describe("measurement noise", () => {
  it("is a fixed function of the image id (same values in every run and on every machine)", () => {
    const z = measurementNoise("/00000/00000", [2, 1, 3]).dataSync()
    // seedFromString("/00000/00000") = 268956909; values also reproduced by an independent Python port.
    expect(Array.from(z)).toEqual([
      1.7618780136108398, 0.3149056136608124, -0.17825940251350403, 1.2052630186080933, -1.303478479385376, -0.09683984518051147,
    ])
    expect(maxAbsDiff(measurementNoise("img-7", [8, 8, 3]).dataSync(), measurementNoise("img-7", [8, 8, 3]).dataSync())).toBe(0)
    expect(maxAbsDiff(measurementNoise("img-7", [8, 8, 3]).dataSync(), measurementNoise("img-8", [8, 8, 3]).dataSync())).toBeGreaterThan(
      0.5,
    )
  })

  it("y~ = A_1 x + sigma_1 z, independent of the batch composition", () => {
    const process = paperDeblurProcess()
    const x = randomImages([3, 16, 16, 3], 3)
    const ids = ["a", "b", "c"]
    const y = measure(process, x, ids)
    const clean = process.A(x, 1)
    const z = tf.stack(ids.map((id) => measurementNoise(id, [16, 16, 3])))
    expect(maxAbsDiff(y.dataSync(), tf.add(clean, tf.mul(z, 0.05)).dataSync())).toBeLessThan(1e-7)

    const alone = measure(process, tf.slice(x, [1, 0, 0, 0], [1, -1, -1, -1]), ["b"])
    expect(maxAbsDiff(alone.dataSync(), tf.slice(y, [1, 0, 0, 0], [1, -1, -1, -1]).dataSync())).toBe(0)
    const reordered = measure(process, tf.reverse(x, 0), ["c", "b", "a"])
    expect(maxAbsDiff(tf.reverse(reordered, 0).dataSync(), y.dataSync())).toBe(0)
    expect(() => measure(process, x, ["a"])).toThrow(RangeError)
  })

  it("is noiseless when sigma_1 = 0", () => {
    const process = degradationProcess(gaussianBlurFamily(), { noise: { sigmaMin: 0, sigmaMax: 0 } })
    const x = randomImages([1, 8, 8, 3], 1)
    expect(maxAbsDiff(measure(process, x, ["q"]).dataSync(), process.A(x, 1).dataSync())).toBe(0)
  })
})
