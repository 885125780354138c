import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as tf from "@tensorflow/tfjs-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { initBackend } from "../../src/runtime/backend/select.js"
import { writeSafetensors, type RawTensor } from "../../src/dirac/io/safetensors.js"
import { syntheticSource } from "../../src/dirac/data/synthetic.js"
import { gaussianBlurFamily } from "../../src/dirac/operators/gaussian-blur.js"
import { Rng } from "../../src/dirac/random.js"
import {
  lpipsVggParameterShapes,
  lpipsVggWeightsFromTensors,
  perceptualMetric,
  type LayerPerceptualMetric,
} from "../../src/dirac/metrics/perceptual/index.js"
import { LPIPS_SCALE, LPIPS_SHIFT, LPIPS_VGG_SLICES } from "../../src/dirac/metrics/perceptual/lpips-vgg.js"

let dir: string
let path: string
let tensors: Record<string, RawTensor>
let metric: LayerPerceptualMetric

/** Random LPIPS-VGG weights with the official names/shapes: He-normal convs, small biases, lin in [0, 1). */
const randomWeights = (seed: number): Record<string, RawTensor> => {
  const rng = Rng.fromSeed(seed)
  const out: Record<string, RawTensor> = {}
  for (const { name, shape } of lpipsVggParameterShapes()) {
    const size = shape.reduce((a, b) => a * b, 1)
    const data = new Float32Array(size)
    if (name.startsWith("lin")) for (let i = 0; i < size; i++) data[i] = rng.uniform()
    else if (name.endsWith(".bias")) for (let i = 0; i < size; i++) data[i] = 0.01 * rng.normal()
    else {
      const std = Math.sqrt(2 / (shape[1]! * 9))
      for (let i = 0; i < size; i++) data[i] = std * rng.normal()
    }
    out[name] = { dtype: "float32", shape, data }
  }
  return out
}

/**
 * LPIPS-VGG straight from the definition, float64, PyTorch layouts (OIHW, zero padding 1,
 * 2 x 2 max-pool floor), one image [h, w, 3] in [0, 1].
 */
const naiveLpips = (w: Record<string, RawTensor>, a: Float32Array, b: Float32Array, size: number): number => {
  const features = (img: Float32Array): { data: Float64Array; h: number; c: number }[] => {
    let h = size
    let c = 3
    let x = Float64Array.from(
      { length: h * h * 3 },
      (_, i) => (2 * Math.min(1, Math.max(0, img[i]!)) - 1 - LPIPS_SHIFT[i % 3]!) / LPIPS_SCALE[i % 3]!,
    )
    const taps: { data: Float64Array; h: number; c: number }[] = []
    LPIPS_VGG_SLICES.forEach((convs, s) => {
      if (s > 0) {
        const hp = Math.floor(h / 2)
        const pooled = new Float64Array(hp * hp * c)
        for (let i = 0; i < hp; i++)
          for (let j = 0; j < hp; j++)
            for (let k = 0; k < c; k++) {
              let m = -Infinity
              for (const [di, dj] of [
                [0, 0],
                [0, 1],
                [1, 0],
                [1, 1],
              ] as const)
                m = Math.max(m, x[((2 * i + di) * h + 2 * j + dj) * c + k]!)
              pooled[(i * hp + j) * c + k] = m
            }
        x = pooled
        h = hp
      }
      for (const idx of convs) {
        const weight = w[`net.slice${s + 1}.${idx}.weight`]!
        const bias = w[`net.slice${s + 1}.${idx}.bias`]!.data
        const [co] = weight.shape as [number]
        const out = new Float64Array(h * h * co)
        for (let i = 0; i < h; i++)
          for (let j = 0; j < h; j++)
            for (let o = 0; o < co; o++) {
              let v = bias[o]!
              for (let u = 0; u < 3; u++) {
                const y = i + u - 1
                if (y < 0 || y >= h) continue
                for (let t = 0; t < 3; t++) {
                  const z = j + t - 1
                  if (z < 0 || z >= h) continue
                  const px = (y * h + z) * c
                  for (let k = 0; k < c; k++) v += weight.data[((o * c + k) * 3 + u) * 3 + t]! * x[px + k]!
                }
              }
              out[(i * h + j) * co + o] = Math.max(0, v)
            }
        x = out
        c = co
      }
      taps.push({ data: x, h, c })
    })
    return taps
  }
  const fa = features(a)
  const fb = features(b)
  let total = 0
  fa.forEach(({ data, h, c }, l) => {
    const lin = w[`lin${l}.model.1.weight`]!.data
    let sum = 0
    for (let p = 0; p < h * h; p++) {
      let na = 0
      let nb = 0
      for (let k = 0; k < c; k++) {
        na += data[p * c + k]! ** 2
        nb += fb[l]!.data[p * c + k]! ** 2
      }
      na = Math.sqrt(na) + 1e-10
      nb = Math.sqrt(nb) + 1e-10
      for (let k = 0; k < c; k++) sum += lin[k]! * (data[p * c + k]! / na - fb[l]!.data[p * c + k]! / nb) ** 2
    }
    total += sum / (h * h)
  })
  return total
}

beforeAll(async () => {
  await initBackend("wasm", { threads: 1 })
  dir = await mkdtemp(join(tmpdir(), "lpips-vgg-"))
  path = join(dir, "lpips-vgg.safetensors")
  tensors = randomWeights(1)
  await writeSafetensors(path, tensors, { "lpips.net": "vgg", "lpips.version": "0.1" })
  metric = perceptualMetric("lpips-vgg", { weights: path })
  await metric.load()
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe("lpips-vgg from user-supplied weights (random here)", () => {
  it("has the official parameter list: 13 VGG16 convs + 5 lin heads, 14.7 M parameters", () => {
    const shapes = lpipsVggParameterShapes()
    expect(shapes.length).toBe(13 * 2 + 5)
    expect(shapes.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0)).toBe(14_714_688 + 1472)
    expect(shapes.find((s) => s.name === "net.slice3.14.weight")!.shape).toEqual([256, 256, 3, 3])
    expect(shapes.find((s) => s.name === "lin4.model.1.weight")!.shape).toEqual([1, 512, 1, 1])
    expect(metric.official).toBe(true)
    expect(metric.label).toMatch(/^LPIPS \(VGG16, v0\.1 linear heads, weights lpips-vgg\.safetensors\)$/)
    expect(metric.layerWeights!.map((w) => w!.length)).toEqual([64, 128, 256, 512, 512])
  })

  it("taps relu1_2 .. relu5_3 at full, 1/2, 1/4, 1/8, 1/16 resolution", async () => {
    const f = await metric.features(tf.zeros([1, 64, 64, 3]) as tf.Tensor4D)
    expect(f.layers.map((l) => [l.layer, ...l.shape])).toEqual([
      ["relu1_2", 1, 64, 64, 64],
      ["relu2_2", 1, 32, 32, 128],
      ["relu3_3", 1, 16, 16, 256],
      ["relu4_3", 1, 8, 8, 512],
      ["relu5_3", 1, 4, 4, 512],
    ])
  })

  it("matches a float64 reference implementation (PyTorch layouts) at 16 x 16", async () => {
    const batch = await syntheticSource({ seed: 5, count: 2, resolution: 16 }).load([0, 1])
    const a = batch.pixels.subarray(0, 16 * 16 * 3)
    const b = batch.pixels.subarray(16 * 16 * 3)
    const [d] = await metric.distance({ pixels: a, shape: [1, 16, 16, 3] }, { pixels: b, shape: [1, 16, 16, 3] })
    const expected = naiveLpips(tensors, a, b, 16)
    expect(expected).toBeGreaterThan(0)
    expect(Math.abs(d! - expected) / expected).toBeLessThan(1e-4)
  })

  it("is finite, 0 for identical images and grows with blur at 64 x 64", async () => {
    const batch = await syntheticSource({ seed: 9, count: 2, resolution: 64 }).load([0, 1])
    const x = tf.tensor4d(batch.pixels, [2, 64, 64, 3])
    expect(await metric.distance(x, x)).toEqual([0, 0])
    const blur = gaussianBlurFamily()
    const d = await Promise.all([0.5, 1.5, 3].map((s) => metric.distance(x, blur.apply(x, s))))
    for (let i = 0; i < 2; i++) {
      d.forEach((row) => expect(Number.isFinite(row[i]!) && row[i]! > 0).toBe(true))
      expect(d[0]![i]!).toBeLessThan(d[2]![i]!)
    }
    await expect(metric.distance(tf.zeros([1, 8, 8, 3]) as tf.Tensor4D, tf.zeros([1, 8, 8, 3]) as tf.Tensor4D)).rejects.toThrow(
      /at least 16 x 16/,
    )
  })

  it("accepts lins.{k} / model.0 names, rejects missing or mis-shaped tensors", () => {
    const renamed: Record<string, RawTensor> = { ...tensors }
    renamed["lins.2.model.0.weight"] = renamed["lin2.model.1.weight"]!
    delete renamed["lin2.model.1.weight"]
    expect(lpipsVggWeightsFromTensors(renamed).lin[2]).toEqual(tensors["lin2.model.1.weight"]!.data)
    const missing: Record<string, RawTensor> = { ...tensors }
    delete missing["net.slice4.19.weight"]
    expect(() => lpipsVggWeightsFromTensors(missing)).toThrow(/missing net\.slice4\.19\.weight/)
    const bad: Record<string, RawTensor> = {
      ...tensors,
      "net.slice1.0.bias": { dtype: "float32", shape: [32], data: new Float32Array(32) },
    }
    expect(() => lpipsVggWeightsFromTensors(bad)).toThrow(/shape \[32\], expected \[64\]/)
    expect(() => lpipsVggWeightsFromTensors(tensors, { "lpips.net": "alex" })).toThrow(/net=alex/)
    expect(() => perceptualMetric("lpips-vgg", { weights: "" })).toThrow(/needs "weights"/)
  })

  it("fails with the path when the weights file is missing", async () => {
    const missing = perceptualMetric("lpips-vgg", { weights: join(dir, "nope.safetensors") })
    await expect(missing.load()).rejects.toThrow(/nope\.safetensors/)
  })
})
