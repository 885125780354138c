import * as tf from "@tensorflow/tfjs-core"
import { beforeAll, describe, expect, it } from "vitest"
import { initBackend } from "../../src/runtime/backend/select.js"
import { boxMask, inpaintBoxFamily } from "../../src/dirac/operators/inpaint-box.js"
import { gaussianMask, inpaintGaussianFamily } from "../../src/dirac/operators/inpaint-gaussian.js"
import { degradationProcess, paperInpaintProcess } from "../../src/dirac/operators/process.js"
import { dot, randomImages } from "./degradation-fixtures.js"
import { maxAbsDiff } from "../numeric.js"

beforeAll(async () => {
  await initBackend("cpu")
})

/** The mask a process applies at t, read back through A_t on an all-ones image. */
const maskAt = (process: ReturnType<typeof degradationProcess>, t: number, size = 256): Float32Array => {
  const ones = tf.ones([1, size, size, 1]) as tf.Tensor4D
  const y = process.A(ones, t)
  const data = y.dataSync() as Float32Array
  y.dispose()
  ones.dispose()
  return data
}
const mean = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0) / a.length

describe("inpaint-gaussian", () => {
  it("reproduces the official mask table (CelebA-HQ / FFHQ, w = 0.1 + 49.9 t)", () => {
    const process = paperInpaintProcess("celeba")
    const rows: [number, number, number[], number][] = [
      // t, w, [M(128,128), M(128,153), M(128,178), M(128,228), M(0,0)], mean
      [1, 50, [0, 1.906e-4, 0.0239687, 0.5589731, 0.9943123], 0.5202103],
      [0.5, 25.05, [0, 0.023675, 0.5561759, 0.9986154, 1], 0.8746934],
      [0.25, 12.575, [0, 0.5505968, 0.998525, 1, 1], 0.9684226],
    ]
    for (const [t, w, values, expectedMean] of rows) {
      expect(process.severity(t)).toBeCloseTo(w, 10)
      const m = maskAt(process, t)
      const at = (i: number, j: number) => m[i * 256 + j]!
      const got = [at(128, 128), at(128, 153), at(128, 178), at(128, 228), at(0, 0)]
      got.forEach((v, k) => expect(Math.abs(v - values[k]!)).toBeLessThan(1e-5))
      expect(at(128, 128)).toBe(0)
      expect(Math.abs(mean(m) - expectedMean)).toBeLessThan(1e-5)
    }
  })

  it("reproduces the ImageNet mask (w = 0.1 + 29.9 t)", () => {
    const m = maskAt(paperInpaintProcess("imagenet"), 1)
    expect(Math.abs(m[128 * 256 + 158]! - 0.0239687)).toBeLessThan(1e-5)
    expect(Math.abs(mean(m) - 0.8202773)).toBeLessThan(1e-5)
  })

  it("is exactly ones at t = 0 and in [0, 1], non-increasing in t", () => {
    const process = paperInpaintProcess()
    expect(maskAt(process, 0).every((v) => v === 1)).toBe(true)
    let previous = maskAt(process, 0, 64)
    for (const t of [1e-6, 0.01, 0.1, 0.3, 0.6, 0.9, 1]) {
      const m = maskAt(process, t, 64)
      expect(m.every((v, k) => v >= 0 && v <= previous[k]!)).toBe(true)
      previous = m
    }
  })

  it("centres at (floor(H/2), floor(W/2)) and is exactly 1 outside the truncation box", () => {
    const m = gaussianMask(9, 6, 1)
    expect(m[4 * 6 + 3]).toBe(0)
    expect(m[0]).toBeLessThan(1) // |i - 4| = 4 <= R = floor(4 w + 0.5) = 4
    expect(gaussianMask(9, 6, 0.5)[0]).toBe(1) // 4 > R = 2
    const wide = gaussianMask(64, 64, 3)
    expect(wide[32 * 64 + 32 + 13]).toBe(1) // 13 > R = floor(12.5)
    expect(wide[32 * 64 + 32 + 12]).toBeLessThan(1)
    const untruncated = gaussianMask(64, 64, 3, 4, null)
    expect(untruncated[32 * 64 + 32 + 13]).toBeLessThan(1)
  })

  it("applies the same mask to every image and channel, and is self-adjoint", () => {
    const family = inpaintGaussianFamily()
    const x = randomImages([2, 16, 20, 3], 4)
    const y = randomImages([2, 16, 20, 3], 5)
    const mask = gaussianMask(16, 20, 6)
    const out = family.apply(x, 6).dataSync()
    const data = x.dataSync()
    out.forEach((v, k) => expect(v).toBeCloseTo(data[k]! * mask[Math.floor(k / 3) % 320]!, 7))
    expect(dot(family.apply(x, 6), y)).toBeCloseTo(dot(x, family.adjoint(y, 6)), 4)
    expect(maxAbsDiff(family.adjoint(y, 6).dataSync(), family.apply(y, 6).dataSync())).toBe(0)
  })
})

const render = (mask: Float32Array, size: number): string[] =>
  Array.from({ length: size }, (_, i) =>
    Array.from(mask.subarray(i * size, (i + 1) * size), (v) => (v === 1 ? "#" : v === 0 ? "." : "o")).join(""),
  )

describe("inpaint-box", () => {
  it("zeros box(floor(s)) and puts 1 - s + floor(s) on the L of box(floor(s) + 1)", () => {
    const even = boxMask(8, 8, 2.5)
    expect(render(even, 8)).toEqual(["########", "########", "########", "###..o##", "###..o##", "###ooo##", "########", "########"])
    expect(even[5 * 8 + 5]).toBeCloseTo(0.5, 7)
    const odd = boxMask(8, 8, 3.25)
    expect(render(odd, 8)).toEqual(["########", "########", "##oooo##", "##o...##", "##o...##", "##o...##", "########", "########"])
    expect(odd[2 * 8 + 2]).toBeCloseTo(0.75, 7)
    expect(render(boxMask(8, 8, 0.4), 8)[4]).toBe("####o###")
    expect(boxMask(8, 8, 0).every((v) => v === 1)).toBe(true)
  })

  it("is continuous in the severity, clipped to the image and monotone", () => {
    expect(maxAbsDiff(boxMask(16, 16, 5 - 1e-9), boxMask(16, 16, 5))).toBeLessThan(1e-6)
    expect(boxMask(6, 6, 40).every((v) => v === 0)).toBe(true)
    let previous = boxMask(16, 16, 0)
    for (let s = 0.1; s <= 17; s += 0.37) {
      const m = boxMask(16, 16, s)
      expect(m.every((v, k) => v >= 0 && v <= previous[k]! + 1e-7)).toBe(true)
      previous = m
    }
  })

  it("maps t to side B t, is the identity at t = 0 and self-adjoint", () => {
    const process = degradationProcess(inpaintBoxFamily({ boxSize: 10 }))
    expect(process.severity(0.37)).toBeCloseTo(3.7, 12)
    const x = randomImages([2, 12, 12, 3], 8)
    const y = randomImages([2, 12, 12, 3], 9)
    expect(maxAbsDiff(process.A(x, 0).dataSync(), x.dataSync())).toBe(0)
    expect(dot(process.A(x, 0.55), y)).toBeCloseTo(dot(x, process.AT(y, 0.55)), 4)
  })
})
