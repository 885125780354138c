import * as tf from "@tensorflow/tfjs-core"
import { beforeAll, describe, expect, it } from "vitest"
import { initBackend } from "../../src/runtime/backend/select.js"
import { syntheticSource } from "../../src/dirac/data/synthetic.js"
import { gaussianBlurFamily } from "../../src/dirac/operators/gaussian-blur.js"
import { Rng } from "../../src/dirac/random.js"
import { scheduleDegradation } from "../../src/dirac/schedule/schedule-degradation.js"
import {
  METRIC_CATALOGUE,
  MOBILENET_PERCEPTUAL_LAYERS,
  perceptualMetric,
  perceptualScheduleDistance,
  type LayerPerceptualMetric,
} from "../../src/dirac/metrics/perceptual/index.js"

let metric: LayerPerceptualMetric
let images: tf.Tensor4D

/** Deterministic Gaussian noise (src/dirac/random.ts), not tf.randomNormal. */
const noisy = (x: tf.Tensor4D, sd: number, seed: number): tf.Tensor4D => {
  const noise = Rng.fromSeed(seed).fillNormal(new Float32Array(x.size))
  return tf.tidy(() => tf.add(x, tf.mul(tf.tensor4d(noise, x.shape), sd)))
}

beforeAll(async () => {
  await initBackend("wasm", { threads: 1 })
  metric = perceptualMetric("mobilenet-perceptual")
  await metric.load()
  const batch = await syntheticSource({ seed: 7, count: 3, resolution: 64 }).load([0, 1, 2])
  images = tf.tensor4d(batch.pixels, batch.shape as [number, number, number, number])
})

describe("mobilenet-perceptual (LPIPS-style on nsfwjs MobileNetV2)", () => {
  it("is named for what it is, taps the documented layers at their resolutions", async () => {
    expect(metric.name).toBe("mobilenet-perceptual")
    expect(metric.label).toMatch(/LPIPS-style \(MobileNetV2 from nsfwjs 4\.4\.0/)
    expect(metric.label).toMatch(/not LPIPS/)
    expect(metric.official).toBe(false)
    expect(metric.lowerIsBetter).toBe(true)
    expect(metric.layerWeights).toBeNull()
    const f = await metric.features(tf.slice(images, 0, 1))
    expect(f.layers.map((l) => l.layer)).toEqual([...MOBILENET_PERCEPTUAL_LAYERS])
    expect(f.layers.map((l) => l.shape)).toEqual([
      [1, 112, 112, 32],
      [1, 56, 56, 24],
      [1, 28, 28, 32],
      [1, 14, 14, 96],
      [1, 7, 7, 1280],
    ])
    // Unit-normalised channel vectors (or all-zero ones).
    for (const layer of f.layers) {
      const c = layer.shape[3]
      for (let p = 0; p < layer.data.length; p += c * 97) {
        let s = 0
        for (let k = 0; k < c; k++) s += layer.data[p + k]! ** 2
        expect(s === 0 || Math.abs(s - 1) < 1e-4).toBe(true)
      }
    }
  })

  it("gives exactly 0 for identical images and is deterministic", async () => {
    expect(await metric.distance(images, images)).toEqual([0, 0, 0])
    const blurred = gaussianBlurFamily().apply(images, 1)
    const d1 = await metric.distance(images, blurred)
    const d2 = await metric.distance(images, blurred)
    expect(d1).toEqual(d2)
    d1.forEach((d) => expect(d).toBeGreaterThan(0))
    // Per image: the same in a batch as alone; ImagePixels and tensors agree; symmetric.
    const alone = await metric.distance(tf.slice(images, 1, 1), tf.slice(blurred, 1, 1))
    expect(alone[0]).toBeCloseTo(d1[1]!, 5)
    const pixels = { pixels: images.dataSync() as Float32Array, shape: images.shape }
    const pixelsBlurred = { pixels: blurred.dataSync() as Float32Array, shape: blurred.shape }
    expect(await metric.distance(pixels, pixelsBlurred)).toEqual(d1)
    const reversed = await metric.distance(blurred, images)
    reversed.forEach((d, i) => expect(d).toBeCloseTo(d1[i]!, 10))
  })

  it("clips inputs to [0, 1] first", async () => {
    const out = tf.tidy(() => tf.add(tf.mul(images, 1.6), -0.3) as tf.Tensor4D)
    const clipped = tf.clipByValue(out, 0, 1)
    expect(await metric.distance(out, clipped)).toEqual([0, 0, 0])
  })

  it("grows monotonically with blur strength (std 0.5, 1.5, 3) on every synthetic image", async () => {
    const blur = gaussianBlurFamily()
    const d = await Promise.all([0.5, 1.5, 3].map((s) => metric.distance(images, blur.apply(images, s))))
    for (let i = 0; i < 3; i++) {
      expect(d[0]![i]!).toBeLessThan(d[1]![i]!)
      expect(d[1]![i]!).toBeLessThan(d[2]![i]!)
    }
  })

  it("grows with noise; is far more sensitive to noise than PSNR suggests (what holds vs blur)", async () => {
    const blur = gaussianBlurFamily()
    const noise = await Promise.all([0.01, 0.05].map((sd, k) => metric.distance(images, noisy(images, sd, 11 + k))))
    const blur2 = await metric.distance(images, blur.apply(images, 2))
    const blur3 = await metric.distance(images, blur.apply(images, 3))
    for (let i = 0; i < 3; i++) {
      expect(noise[0]![i]!).toBeLessThan(noise[1]![i]!)
      // Slight noise (sd 0.01, ~40 dB) is closer than a std-2 blur ...
      expect(noise[0]![i]!).toBeLessThan(blur2[i]!)
      // ... but sd 0.05 noise (~26 dB) is farther than the strongest (std 3) blur.
      expect(noise[1]![i]!).toBeGreaterThan(blur3[i]!)
    }
  })

  it("works on 256 x 256 (downsampled) and grey images, and rejects mismatched shapes", async () => {
    const big = tf.image.resizeBilinear(images, [256, 256]) as tf.Tensor4D
    const d = await metric.distance(big, gaussianBlurFamily().apply(big, 2))
    d.forEach((v) => expect(v).toBeGreaterThan(0))
    const grey = tf.mean(images, -1, true) as tf.Tensor4D
    expect(await metric.distance(grey, grey)).toEqual([0, 0, 0])
    await expect(metric.distance(images, big)).rejects.toThrow(/differ in shape/)
  })

  it("does not leak tensors", async () => {
    const blurred = gaussianBlurFamily().apply(images, 1)
    await metric.distance(images, blurred)
    const before = tf.memory().numTensors
    await metric.distance(images, blurred)
    await metric.features(images)
    expect(tf.memory().numTensors).toBe(before)
  })
})

describe("registry and scheduler hook", () => {
  it("lists the metrics and caches instances by name", () => {
    expect(METRIC_CATALOGUE.map((m) => m.name)).toEqual([
      "mobilenet-perceptual",
      "lpips-vgg",
      "inception-fd",
      "mobilenet-fd",
      "tfjs-model-fd",
    ])
    expect(perceptualMetric("mobilenet-perceptual")).toBe(metric)
    expect(() => perceptualMetric("lpips")).toThrow(/unknown perceptual metric/)
    expect(() => perceptualMetric("lpips-vgg")).toThrow(/needs "weights"/)
  })

  it("serves as the greedy scheduler's distance (features once per candidate)", async () => {
    const distance = await perceptualScheduleDistance("mobilenet-perceptual")
    expect(distance.name).toBe("mobilenet-perceptual")
    const batch = await syntheticSource({ seed: 3, count: 2, resolution: 32 }).load([0, 1])
    const x = tf.tensor4d(batch.pixels, batch.shape as [number, number, number, number])
    const blur = gaussianBlurFamily()
    const stds = [0.3, 1, 2, 3]
    const prepared = await Promise.all(
      stds.map(async (s) => {
        const y = tf.clipByValue(blur.apply(x, s), 0, 1)
        return distance.prepare({ pixels: (await y.data()) as Float32Array, shape: y.shape as [number, number, number, number] })
      }),
    )
    expect(distance.bytes(prepared[0]!)).toBeGreaterThan(0)
    expect(distance.distance(prepared[0]!, prepared[0]!)).toBe(0)
    expect(distance.distance(prepared[0]!, prepared[1]!)).toBeLessThan(distance.distance(prepared[0]!, prepared[3]!))
    const schedule = await scheduleDegradation({ family: blur, images: x, candidates: 10, points: 3, distance })
    expect(schedule.distance).toBe("mobilenet-perceptual")
    expect(schedule.candidateIndices[0]).toBe(0)
    expect(schedule.candidateIndices.at(-1)).toBe(9)
    expect(schedule.candidateIndices.length).toBe(5)
    expect(schedule.maxDistance).toBeGreaterThan(0)
  })
})
