/**
 * Timings of the perceptual metrics (src/dirac/metrics/perceptual) on the wasm backend.
 *
 *   npx tsx bench/perceptual.ts [--threads N] [--skip-linalg] [--skip-lpips]
 *
 * Prints model load times, per-image times at 64 x 64 and 256 x 256 for each network,
 * and the float64 linear algebra of FD/KID at FID's sizes (d = 2048).
 */
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as tf from "@tensorflow/tfjs-core"
import { initBackend } from "../src/runtime/backend/select.js"
import { syntheticSource } from "../src/dirac/data/synthetic.js"
import { gaussianBlurFamily } from "../src/dirac/operators/gaussian-blur.js"
import { writeSafetensors, type RawTensor } from "../src/dirac/io/safetensors.js"
import { Rng } from "../src/dirac/random.js"
import {
  featureSet,
  frechetDistance,
  kernelInceptionDistance,
  lpipsVggParameterShapes,
  perceptualMetric,
  setMetric,
  sqrtmSymmetric,
  symmetricEigen,
  symmetricEigenvalues,
} from "../src/dirac/metrics/perceptual/index.js"

const args = process.argv.slice(2)
const threads = Number(args[args.indexOf("--threads") + 1] ?? 1) || 1
const info = await initBackend("wasm", { threads: args.includes("--threads") ? threads : 1 })
console.log(`backend ${info.name} (${info.device}), node ${process.version}`)

const ms = (t0: number): number => performance.now() - t0
const fmt = (v: number): string => `${v.toFixed(0)} ms`

const images = async (count: number, size: number): Promise<tf.Tensor4D> => {
  const batch = await syntheticSource({ seed: 1, count, resolution: size }).load(Array.from({ length: count }, (_, i) => i))
  return tf.tensor4d(batch.pixels, batch.shape as [number, number, number, number])
}

const BATCH = 8

// ---------------------------------------------------------------- per-image networks
const perceptualRow = async (name: string, options = {}) => {
  const metric = perceptualMetric(name, options)
  let t0 = performance.now()
  await metric.load()
  const load = ms(t0)
  const cells: string[] = []
  for (const size of [64, 256]) {
    const x = await images(BATCH, size)
    const y = gaussianBlurFamily().apply(x, 2)
    await metric.distance(tf.slice(x, 0, 1), tf.slice(y, 0, 1)) // warm-up at this size
    t0 = performance.now()
    await metric.distance(x, y)
    cells.push(`${size}x${size}: ${(ms(t0) / BATCH).toFixed(0)} ms/pair`)
  }
  console.log(`${metric.name.padEnd(22)} load ${fmt(load).padStart(8)}  ${cells.join("  ")}   (${metric.label})`)
}

const setRow = async (name: string) => {
  const metric = await setMetric(name)
  let t0 = performance.now()
  await metric.load()
  const load = ms(t0)
  const cells: string[] = []
  for (const size of [64, 256]) {
    const x = await images(BATCH, size)
    await metric.features(tf.slice(x, 0, 1))
    t0 = performance.now()
    await metric.features(x)
    cells.push(`${size}x${size}: ${(ms(t0) / BATCH).toFixed(0)} ms/image`)
  }
  console.log(`${metric.name.padEnd(22)} load ${fmt(load).padStart(8)}  ${cells.join("  ")}   (${metric.label})`)
}

console.log(`\nnetworks (batches of ${BATCH}; a pair = 2 forward passes)`)
await perceptualRow("mobilenet-perceptual")
await setRow("mobilenet-fd")
await setRow("inception-fd")

if (!args.includes("--skip-lpips")) {
  const dir = await mkdtemp(join(tmpdir(), "bench-lpips-"))
  try {
    const rng = Rng.fromSeed(1)
    const tensors: Record<string, RawTensor> = {}
    for (const { name, shape } of lpipsVggParameterShapes()) {
      const size = shape.reduce((a, b) => a * b, 1)
      const std = name.startsWith("lin") ? 0.1 : Math.sqrt(2 / ((shape[1] ?? 1) * 9))
      tensors[name] = { dtype: "float32", shape, data: Float32Array.from({ length: size }, () => Math.abs(std * rng.normal())) }
    }
    const path = join(dir, "random-lpips-vgg.safetensors")
    await writeSafetensors(path, tensors)
    await perceptualRow("lpips-vgg", { weights: path })
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

// ---------------------------------------------------------------- float64 linear algebra
if (!args.includes("--skip-linalg")) {
  console.log("\nfloat64 linear algebra (one JS thread)")
  const randomSet = (seed: number, count: number, dim: number) => {
    const rng = Rng.fromSeed(seed)
    // Correlated, non-negative-ish features like pooled ReLU outputs.
    const data = new Float64Array(count * dim)
    const mix = Float64Array.from({ length: 64 * dim }, () => rng.normal() / 8)
    for (let i = 0; i < count; i++) {
      const z = Float64Array.from({ length: 64 }, () => rng.normal())
      for (let j = 0; j < dim; j++) {
        let v = 0.3 * rng.normal()
        for (let k = 0; k < 64; k += 8) v += z[k]! * mix[k * dim + j]!
        data[i * dim + j] = Math.abs(v)
      }
    }
    return featureSet(data, count, dim)
  }
  for (const n of [512, 1024, 2048]) {
    const a = new Float64Array(n * n)
    // Covariance-like SPD matrix.
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] = (i === j ? 1 : 0) + Math.exp(-Math.abs(i - j) / 10)
    let t0 = performance.now()
    symmetricEigenvalues(a, n)
    const tv = ms(t0)
    t0 = performance.now()
    symmetricEigen(a, n)
    const te = ms(t0)
    t0 = performance.now()
    sqrtmSymmetric(a, n)
    const tsq = ms(t0)
    console.log(`n = ${n}: eigenvalues ${fmt(tv)}, eigen-decomposition ${fmt(te)}, sqrtm ${fmt(tsq)}`)
  }
  const d = 2048
  for (const [na, nb] of [
    [100, 100],
    [1000, 1000],
  ] as const) {
    const a = randomSet(1, na, d)
    const b = randomSet(2, nb, d)
    let t0 = performance.now()
    const fd = frechetDistance(a, b, { method: "sample" })
    const tf1 = ms(t0)
    t0 = performance.now()
    const kid = kernelInceptionDistance(a, b)
    const tk = ms(t0)
    console.log(
      `d = ${d}, ${na} vs ${nb} images: FD (sample space) ${fmt(tf1)} [${fd.distance.toFixed(3)}], KID exact ${fmt(tk)} [${kid.kid.toExponential(3)}]`,
    )
  }
  {
    const a = randomSet(3, 100, d)
    const b = randomSet(4, 100, d)
    const t0 = performance.now()
    const fd = frechetDistance(a, b, { method: "feature" })
    const tfeat = ms(t0)
    const sample = frechetDistance(a, b, { method: "sample" })
    console.log(
      `d = ${d}, FD in feature space (cost independent of n; "auto" uses it above ~3.5k images per set): ${fmt(tfeat)}; ` +
        `|feature - sample| / FD = ${(Math.abs(fd.distance - sample.distance) / sample.distance).toExponential(2)}`,
    )
  }
}
process.exit(0)
