import * as tf from "@tensorflow/tfjs-core"
import { beforeAll, describe, expect, it } from "vitest"
import { initBackend } from "../../src/runtime/backend/select.js"
import { gaussianBlurFamily } from "../../src/dirac/operators/gaussian-blur.js"
import { paperDeblurProcess } from "../../src/dirac/operators/process.js"
import { blurRadius, gaussianTaps, reflectBlurMatrix, reflectIndex } from "../../src/dirac/operators/reflect-blur-matrix.js"
import { atNchw, dot, randomImages, referenceImage } from "./degradation-fixtures.js"
import { maxAbsDiff } from "../numeric.js"

beforeAll(async () => {
  await initBackend("wasm", { threads: 1 })
})

/** Direct 2-D convolution with the 61 x 61 kernel g (x) g after PyTorch reflection padding by 30. */
const naiveOfficialBlur = (x: Float32Array, h: number, w: number, c: number, std: number): Float64Array => {
  const taps = gaussianTaps(std, 30)
  const r = (taps.length - 1) / 2
  const pad = 30
  const reflect = (i: number, n: number) => (i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i)
  const out = new Float64Array(h * w * c)
  for (let i = 0; i < h; i++)
    for (let j = 0; j < w; j++)
      for (let ch = 0; ch < c; ch++) {
        let s = 0
        for (let u = -pad; u <= pad; u++)
          for (let v = -pad; v <= pad; v++) {
            if (Math.abs(u) > r || Math.abs(v) > r) continue
            s += taps[u + r]! * taps[v + r]! * x[(reflect(i + u, h) * w + reflect(j + v, w)) * c + ch]!
          }
        out[(i * w + j) * c + ch] = s
      }
  return out
}

describe("gaussian taps", () => {
  it("match the reference 1-D taps (centre, +-1, +-2, +-3)", () => {
    const expected: Record<number, number[]> = {
      0.3: [0.992327482, 3.8362588e-3, 2.2165e-10],
      1.0: [0.39894228, 0.24197072, 0.05399097, 0.00443185],
      3.0: [0.13298076, 0.12579441, 0.10648267, 0.08065691],
    }
    for (const [std, values] of Object.entries(expected)) {
      const taps = gaussianTaps(Number(std), 30)
      const r = (taps.length - 1) / 2
      values.forEach((v, k) => {
        expect(taps[r + k]).toBeCloseTo(v, 8)
        expect(taps[r - k]).toBe(taps[r + k])
      })
    }
  })

  it("use r = int(6 std + 0.5), capped at 30, and sum to 1", () => {
    expect([0.3, 1, 3].map((s) => blurRadius(s, 30))).toEqual([2, 6, 18])
    expect(blurRadius(10, 30)).toBe(30)
    for (const std of [0.05, 0.3, 0.77, 1, 2.5, 3, 7]) {
      const taps = gaussianTaps(std, 30)
      expect(taps.length).toBe(2 * blurRadius(std, 30) + 1)
      expect(taps.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12)
    }
    expect(Array.from(gaussianTaps(0, 30))).toEqual([1])
  })

  it("reflect without repeating the edge (PyTorch reflect), periodically beyond the signal", () => {
    expect([-3, -2, -1, 0, 4, 5, 6, 7].map((i) => reflectIndex(i, 5))).toEqual([3, 2, 1, 0, 4, 3, 2, 1])
    expect([-9, 12, 13].map((i) => reflectIndex(i, 5))).toEqual([1, 4, 3])
    expect(reflectIndex(7, 1)).toBe(0)
  })

  it("give blur matrices whose rows sum to 1", () => {
    for (const [std, n] of [
      [0.3, 16],
      [3, 16],
      [3, 7],
      [1.4, 64],
    ] as const) {
      const { forward, transposed } = reflectBlurMatrix(std, n, 30)
      for (let i = 0; i < n; i++) {
        let s = 0
        for (let j = 0; j < n; j++) {
          s += forward[i * n + j]!
          expect(transposed[j * n + i]).toBe(forward[i * n + j])
        }
        expect(s).toBeCloseTo(1, 6)
      }
    }
  })
})

describe("gaussian-blur family", () => {
  const family = gaussianBlurFamily()

  it("reproduces the official test vectors at t = 0, 0.5, 1", () => {
    const process = paperDeblurProcess()
    const x = referenceImage()
    const expected: [number, [number, number, number]][] = [
      [1, [0.0092995, 0.4675961, 0.2414465]],
      [0.5, [0.0031971, 0.3838803, 0.1875889]],
      [0, [0.0000301, 0.0078744, 0.1615378]],
    ]
    for (const [t, [v0, v1, v2]] of expected) {
      const y = process.A(x, t)
      const data = y.dataSync()
      expect(Math.abs(atNchw(data, y.shape, 0, 0, 0, 0) - v0)).toBeLessThan(1e-5)
      expect(Math.abs(atNchw(data, y.shape, 0, 2, 128, 128) - v1)).toBeLessThan(1e-5)
      expect(Math.abs(atNchw(data, y.shape, 0, 2, 0, 5) - v2)).toBeLessThan(1e-5)
      y.dispose()
    }
    x.dispose()
  })

  it("equals a direct 61 x 61 convolution after PyTorch reflection padding", () => {
    const [h, w] = [40, 35]
    const x = randomImages([2, h, w, 3], 7)
    for (const std of [0.3, 1.1, 3]) {
      const y = family.apply(x, std)
      const data = x.dataSync<"float32">()
      for (let b = 0; b < 2; b++) {
        const image = data.subarray(b * h * w * 3, (b + 1) * h * w * 3)
        const expected = naiveOfficialBlur(image, h, w, 3, std)
        expect(maxAbsDiff(y.dataSync().subarray(b * h * w * 3, (b + 1) * h * w * 3), expected)).toBeLessThan(2e-6)
      }
      y.dispose()
    }
    x.dispose()
  })

  it("blurs each channel alike (depthwise, no channel mixing)", () => {
    const x = randomImages([1, 20, 20, 1], 3)
    const rgb = tf.concat([x, x, x], 3) as tf.Tensor4D
    const y = family.apply(rgb, 2).dataSync()
    const single = family.apply(x, 2).dataSync()
    for (let p = 0; p < 400; p++) for (let c = 0; c < 3; c++) expect(y[p * 3 + c]).toBe(single[p])
  })

  it("has an exact adjoint: <A x, y> = <x, A^T y>", () => {
    for (const [shape, std] of [
      [[2, 24, 17, 3], 3],
      [[1, 9, 9, 3], 2.2],
      [[3, 32, 32, 3], 0.3],
    ] as const) {
      const x = randomImages([...shape], 11)
      const y = randomImages([...shape], 12)
      const lhs = dot(family.apply(x, std), y)
      const rhs = dot(x, family.adjoint(y, std))
      expect(Math.abs(lhs - rhs) / Math.abs(lhs)).toBeLessThan(1e-6)
    }
  })

  it("is differentiable on wasm and cpu: the gradient of <A x, y> is A^T y", async () => {
    const x = randomImages([2, 16, 12, 3], 21)
    const y = randomImages([2, 16, 12, 3], 22)
    const expected = family.adjoint(y, 1.7).dataSync()
    for (const backend of ["wasm", "cpu"] as const) {
      await initBackend(backend)
      const grad = tf.grad((z: tf.Tensor) => tf.sum(tf.mul(family.apply(z as tf.Tensor4D, 1.7), y)))(x)
      expect(maxAbsDiff(grad.dataSync(), expected)).toBeLessThan(1e-6)
    }
    await initBackend("wasm")
  })

  it("works on images smaller than the kernel and keeps constants", () => {
    const x = tf.fill([1, 5, 4, 3], 0.25) as tf.Tensor4D
    const y = family.apply(x, 3).dataSync()
    for (const v of y) expect(v).toBeCloseTo(0.25, 6)
  })

  it("does not leak tensors", () => {
    const x = randomImages([1, 8, 8, 3], 1)
    family.apply(x, 1).dispose()
    const before = tf.memory().numTensors
    family.apply(x, 1.3).dispose()
    family.adjoint(x, 1.3).dispose()
    expect(tf.memory().numTensors).toBe(before)
  })
})
