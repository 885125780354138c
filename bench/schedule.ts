/**
 * Greedy degradation scheduling at the official size: N = 2000 candidates,
 * m = 100 points, 1 - SSIM over 16 synthetic 64 x 64 images, Gaussian blur
 * std 0.3 -> 3.0. Run: npx tsx bench/schedule.ts [candidates] [points] [cacheMiB (default: the scheduler's)]
 */
import * as tf from "@tensorflow/tfjs-core"
import { gaussianBlurFamily } from "../src/dirac/operators/gaussian-blur.js"
import { scheduleDegradation } from "../src/dirac/schedule/schedule-degradation.js"
import { initBackend } from "../src/runtime/backend/select.js"

const [candidates = 2000, points = 100, cacheMiB] = process.argv.slice(2).map(Number)

/** Images of smooth gradients with random rectangles and discs (hard edges), from a fixed LCG. */
const syntheticImages = (n: number, size: number): tf.Tensor4D => {
  let state = 12345
  const rand = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32
  const data = new Float32Array(n * size * size * 3)
  for (let b = 0; b < n; b++) {
    const base = [0, 1, 2].map(() => [rand(), rand() - 0.5, rand() - 0.5])
    const shapes = Array.from({ length: 6 }, () => ({
      disc: rand() < 0.5,
      ci: rand() * size,
      cj: rand() * size,
      r: 3 + rand() * size * 0.25,
      colour: [rand(), rand(), rand()],
    }))
    for (let i = 0; i < size; i++)
      for (let j = 0; j < size; j++) {
        const inside = shapes.filter((s) =>
          s.disc ? (i - s.ci) ** 2 + (j - s.cj) ** 2 < s.r ** 2 : Math.abs(i - s.ci) < s.r && Math.abs(j - s.cj) < s.r,
        )
        for (let c = 0; c < 3; c++) {
          const [v0, di, dj] = base[c]!
          const smooth = v0! + (di! * i) / size + (dj! * j) / size
          const value = inside.length > 0 ? inside[inside.length - 1]!.colour[c]! : smooth
          data[((b * size + i) * size + j) * 3 + c] = Math.min(1, Math.max(0, value))
        }
      }
  }
  return tf.tensor4d(data, [n, size, size, 3])
}

const backend = await initBackend("wasm", { threads: 1 })
const images = syntheticImages(16, 64)
const started = performance.now()
const result = await scheduleDegradation({
  family: gaussianBlurFamily(),
  images,
  candidates,
  points,
  distance: "ssim",
  ...(cacheMiB !== undefined && { cacheBytes: cacheMiB * 2 ** 20 }),
  onProgress: (done, total) => {
    if (done % 10 === 0 || done === total) {
      console.log(`  ${done}/${total} points  ${((performance.now() - started) / 1000).toFixed(1)} s`)
    }
  },
})
const seconds = (performance.now() - started) / 1000
const midpoint = (0.3 + 3.0) / 2
const below = result.severities.filter((s) => s < midpoint).length
console.log(
  JSON.stringify(
    {
      backend: backend.device,
      candidates,
      points,
      images: images.shape,
      seconds: Number(seconds.toFixed(1)),
      distanceEvaluations: result.distanceEvaluations,
      candidateEvaluations: result.candidateEvaluations,
      heapMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
      maxDistance: result.maxDistance,
      fallbackSplits: result.fallbackSplits,
      stdBelowMidpoint: `${below}/${result.severities.length}`,
      stdAtQuarterPoints: [0.25, 0.5, 0.75].map((q) => result.severities[Math.round(q * (points + 1))]!.toFixed(3)),
    },
    null,
    1,
  ),
)
