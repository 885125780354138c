import * as tf from "@tensorflow/tfjs-core"
import { beforeAll, describe, expect, it } from "vitest"
import { initBackend } from "../../src/runtime/backend/select.js"
import { syntheticSource } from "../../src/dirac/data/synthetic.js"
import { gaussianBlurFamily } from "../../src/dirac/operators/gaussian-blur.js"
import { concatFeatureSets, setMetric, type FeatureSet, type PooledFeatureMetric } from "../../src/dirac/metrics/perceptual/index.js"

const images = async (seed: number, count: number): Promise<tf.Tensor4D> => {
  const batch = await syntheticSource({ seed, count, resolution: 64 }).load(Array.from({ length: count }, (_, i) => i))
  return tf.tensor4d(batch.pixels, batch.shape as [number, number, number, number])
}

beforeAll(async () => {
  await initBackend("wasm", { threads: 1 })
})

describe("inception-fd (FID-style on nsfwjs InceptionV3)", () => {
  let metric: PooledFeatureMetric
  let a: FeatureSet
  let b: FeatureSet
  let blurred: FeatureSet

  beforeAll(async () => {
    metric = await setMetric("inception-fd")
    await metric.load()
    const x = await images(1, 5)
    const y = await images(2, 5)
    a = await metric.features(x)
    b = await metric.features(y)
    blurred = await metric.features(gaussianBlurFamily().apply(y, 3))
  })

  it("is named for what it is and gives 2048-d pooled features per image", () => {
    expect(metric.name).toBe("inception-fd")
    expect(metric.label).toMatch(/^FID-style \(InceptionV3 from nsfwjs 4\.4\.0, flatten_1 2048-d; not FID\)$/)
    expect(metric.official).toBe(false)
    expect(metric.dim).toBe(2048)
    expect([a.count, a.dim]).toEqual([5, 2048])
    expect(a.data.every(Number.isFinite)).toBe(true)
    // Pooled ReLU outputs: non-negative and not all zero.
    expect(a.data.every((v) => v >= 0)).toBe(true)
    expect(a.data.some((v) => v > 0)).toBe(true)
  })

  it("FD of a set with itself is ~0; against another set > 0; reports the set sizes", async () => {
    const self = await metric.evaluate(a, a)
    expect(self.fd).toBeLessThan(1e-9 * self.frechet.traceA)
    expect(self.frechet.rankDeficient).toBe(true) // 5 images, 2048-d
    const report = await metric.evaluate(a, blurred)
    expect(report.fd).toBeGreaterThan(0)
    expect([report.countA, report.countB, report.dim]).toEqual([5, 5, 2048])
    expect(report.frechet.method).toBe("sample")
    expect(report.kidDetails.exact).toBe(true)
    // (The feature-space method agrees, see perceptual-linalg.test.ts; at d = 2048 it takes ~30 s.)
  })

  it("a heavily blurred set is farther than another sample of the same distribution (FD and KID)", async () => {
    const same = await metric.evaluate(a, b)
    const far = await metric.evaluate(a, blurred)
    expect(far.fd).toBeGreaterThan(same.fd)
    expect(far.kid).toBeGreaterThan(same.kid)
    expect(far.kid).toBeGreaterThan(0)
  })

  it("features are the same batch by batch as all at once", async () => {
    const x = await images(1, 3)
    const parts = concatFeatureSets([await metric.features(tf.slice(x, 0, 2)), await metric.features(tf.slice(x, 2, 1))])
    expect([parts.count, parts.dim]).toEqual([3, 2048])
    let max = 0
    for (let i = 0; i < parts.data.length; i++) max = Math.max(max, Math.abs(parts.data[i]! - a.data[i]!))
    expect(max).toBeLessThan(1e-5)
  })
})

describe("mobilenet-fd: KID near 0 for the same distribution, positive for a different one", () => {
  it("on 8 + 8 synthetic images vs 8 blurred ones", async () => {
    const metric = await setMetric("mobilenet-fd")
    expect(metric.label).toMatch(/MobileNetV2 from nsfwjs 4\.4\.0, flatten_1 1280-d; not FID/)
    const a = await metric.features(await images(1, 8))
    const y = await images(2, 8)
    const b = await metric.features(y)
    expect(a.dim).toBe(1280)
    const same = await metric.kid(a, b)
    // Images straight in (features computed inside).
    const different = await metric.kid(a, gaussianBlurFamily().apply(y, 3))
    expect(different.countB).toBe(8)
    expect(different.kid).toBeGreaterThan(0)
    expect(different.kid).toBeGreaterThan(5 * Math.abs(same.kid))
    await expect(setMetric("fid")).rejects.toThrow(/unknown set metric/)
    await expect(setMetric("tfjs-model-fd")).rejects.toThrow(/needs "weights"/)
  })
})
