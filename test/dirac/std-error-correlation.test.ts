import { describe, expect, it } from "vitest"
import type { ImagePixels } from "../../src/dirac/metrics/image-pixels.js"
import {
  isUncertaintyMap,
  stdErrorMoments,
  summariseStdError,
  tQuantile975,
  type PairMoments,
  type StdErrorCorrelation,
} from "../../src/dirac/metrics/std-error-correlation.js"
import { lcgValues } from "./degradation-fixtures.js"

const [count, size] = [3, 32]
const per = size * size * 3

/**
 * Two samples per clean image: clean + offset +- spread. Their mean is clean + offset (error |offset|), their
 * pixelwise std |spread|. Clean values in [0.3, 0.7] and offsets and spreads below 0.1 keep clipping out of it.
 */
const pairs = (offset: (k: number) => number, spread: (k: number, offset: number) => number) => {
  const cleanValues = lcgValues(count * per, 1).map((v) => 0.3 + 0.4 * v)
  const x = new Float32Array(count * 2 * per)
  for (let i = 0; i < count; i++)
    for (let p = 0; p < per; p++) {
      const k = i * per + p
      const [o, c] = [offset(k), cleanValues[k]!]
      const s = spread(k, o)
      x[i * 2 * per + p] = c + o + s
      x[(i * 2 + 1) * per + p] = c + o - s
    }
  const images = (pixels: Float32Array, n: number): ImagePixels => ({ pixels, shape: [n, size, size, 3] })
  return summariseStdError(stdErrorMoments(images(x, count * 2), images(cleanValues, count), 2))
}

const offsets = lcgValues(count * per, 2).map((v) => 0.2 * v - 0.1)
const noise = lcgValues(count * per, 3).map((v) => 0.1 * v)

describe("correlation of the pixelwise std over samples with the error of their mean", () => {
  it("is 1 where the std is proportional to the error, per image and pooled", () => {
    const c = pairs(
      (k) => offsets[k]!,
      (_, o) => 0.5 * Math.abs(o),
    )
    for (const r of c.perImage) expect(r).toBeCloseTo(1, 5)
    expect(c.pooled).toBeCloseTo(1, 5)
    expect(c).toMatchObject({ images: 3 })
    expect(c.std).toBeCloseTo(0, 5)
    expect(isUncertaintyMap(c)).toBe(true)
  })

  it("is -1 where the std falls as the error grows", () => {
    const c = pairs(
      (k) => offsets[k]!,
      (_, o) => 0.1 - Math.abs(o),
    )
    expect(c.pooled).toBeCloseTo(-1, 5)
    expect(isUncertaintyMap(c)).toBe(false)
  })

  it("is near 0 where the std is noise independent of the error", () => {
    const c = pairs(
      (k) => offsets[k]!,
      (k) => noise[k]!,
    )
    // r of n independent pairs has a standard deviation of about 1 / sqrt(n): 0.018 per image here.
    for (const r of c.perImage) expect(Math.abs(r!)).toBeLessThan(0.06)
    expect(Math.abs(c.pooled!)).toBeLessThan(0.04)
    expect(isUncertaintyMap(c)).toBe(false)
  })

  it("is null, not NaN, where the std is constant or zero", () => {
    const none: StdErrorCorrelation = {
      perImage: [null, null, null],
      pooled: null,
      images: 0,
      mean: null,
      std: null,
      interval: null,
    }
    for (const spread of [() => 0.05, () => 0]) {
      const c = pairs((k) => offsets[k]!, spread)
      expect(c).toStrictEqual(none)
      expect(JSON.stringify(c)).not.toContain("NaN")
      expect(isUncertaintyMap(c)).toBe(false)
    }
  })

  it("gives the mean of the per-image r a 95% Student-t interval", () => {
    const withR = (r: number): PairMoments => ({ n: 10, meanA: 0.5, meanB: 0.5, ssA: 1, ssB: 1, sAB: r })
    const c = summariseStdError([0.2, 0.4, 0.6].map(withR))
    expect(c.mean).toBeCloseTo(0.4, 12)
    expect(c.std).toBeCloseTo(Math.sqrt(0.08 / 3), 12)
    const half = (4.303 * 0.2) / Math.sqrt(3)
    expect(c.interval![0]).toBeCloseTo(0.4 - half, 12)
    expect(c.interval![1]).toBeCloseTo(0.4 + half, 12)
    expect(isUncertaintyMap(c)).toBe(false)
    expect(summariseStdError([withR(0.5)]).interval).toBeNull()
  })

  it("takes t quantiles from the table up to 30 degrees of freedom and from the expansion beyond", () => {
    expect(tQuantile975(1)).toBe(12.706)
    expect(tQuantile975(30)).toBe(2.042)
    expect(tQuantile975(31)).toBeCloseTo(2.0395, 3)
    expect(tQuantile975(60)).toBeCloseTo(2.0003, 3)
    expect(tQuantile975(1000)).toBeCloseTo(1.9623, 3)
  })

  it("pools pixels across images, which the per-image mean does not", () => {
    // Each image alone: std and error perfectly related; across images the levels anti-correlate.
    const a: PairMoments = { n: 2, meanA: 0.1, meanB: 0.9, ssA: 0.005, ssB: 0.005, sAB: 0.005 }
    const b: PairMoments = { ...a, meanA: 0.9, meanB: 0.1 }
    const c = summariseStdError([a, b])
    expect(c.perImage).toEqual([1, 1])
    expect(c.pooled!).toBeLessThan(0)
  })

  it("rejects samples that do not match the clean images", () => {
    const clean: ImagePixels = { pixels: new Float32Array(2 * 12), shape: [2, 2, 2, 3] }
    expect(() => stdErrorMoments({ pixels: new Float32Array(3 * 12), shape: [3, 2, 2, 3] }, clean, 2)).toThrow(
      /expected 2 samples of each of 2 images \[2,2,3\], got \[3,2,2,3\]/,
    )
  })
})
