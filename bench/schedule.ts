/**
 * Greedy degradation scheduling at the official size: N = 2000 candidates, m = 100 points, 1 - SSIM over 16
 * synthetic 64 x 64 images, Gaussian blur std 0.3 -> 3.0; with --quick the quickstart's own schedule node
 * (200 candidates, 20 points, 8 images of 32 x 32). No PyTorch counterpart.
 *
 *   npx tsx bench/schedule.ts [candidates] [points] [cacheMiB (default: the scheduler's)]   # one run, JSON
 *   npm run bench -- --only schedule [--quick]        # each backend in its own child, bench/results/schedule.md
 *
 * The backend is BENCH_BACKEND (default wasm:1).
 */
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import * as tf from "@tensorflow/tfjs-core"
import { gaussianBlurFamily } from "../src/dirac/operators/gaussian-blur.js"
import { scheduleDegradation } from "../src/dirac/schedule/schedule-degradation.js"
import { initBackend } from "../src/runtime/backend/select.js"
import { childBackend } from "./lib/backends.js"
import { formatTable, markdownTable, runChild } from "./lib/harness.js"
import { machineLines, maxRssMiB } from "./lib/machine.js"
import type { BenchOptions } from "./lib/options.js"
import { writeMarkdown, type BenchReport } from "./lib/results.js"

interface ScheduleSize {
  readonly candidates: number
  readonly points: number
  readonly images: number
  readonly resolution: number
  readonly cacheMiB?: number
}

const FULL: ScheduleSize = { candidates: 2000, points: 100, images: 16, resolution: 64 }
const QUICK: ScheduleSize = { candidates: 200, points: 20, images: 8, resolution: 32 }

interface ScheduleResult {
  readonly backend: string
  readonly size: ScheduleSize
  readonly seconds: number
  readonly distanceEvaluations: number
  readonly candidateEvaluations: number
  readonly maxRssMiB: number
  readonly maxDistance: number
  readonly fallbackSplits: number
  readonly stdBelowMidpoint: string
  readonly stdAtQuarterPoints: string[]
}

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

const measure = async (size: ScheduleSize, log: (line: string) => void): Promise<ScheduleResult> => {
  const spec = childBackend()
  const backend = await initBackend(spec.choice, spec.threads !== undefined ? { threads: spec.threads } : {})
  const images = syntheticImages(size.images, size.resolution)
  const started = performance.now()
  const { candidates, points, cacheMiB } = size
  const result = await scheduleDegradation({
    family: gaussianBlurFamily(),
    images,
    candidates,
    points,
    distance: "ssim",
    ...(cacheMiB !== undefined && { cacheBytes: cacheMiB * 2 ** 20 }),
    onProgress: (done, total) => {
      if (done % 10 === 0 || done === total) log(`  ${done}/${total} points  ${((performance.now() - started) / 1000).toFixed(1)} s`)
    },
  })
  const seconds = (performance.now() - started) / 1000
  images.dispose()
  const midpoint = (0.3 + 3.0) / 2
  const below = result.severities.filter((s) => s < midpoint).length
  return {
    backend: backend.device,
    size,
    seconds,
    distanceEvaluations: result.distanceEvaluations,
    candidateEvaluations: result.candidateEvaluations,
    maxRssMiB: maxRssMiB(),
    maxDistance: result.maxDistance,
    fallbackSplits: result.fallbackSplits,
    stdBelowMidpoint: `${below}/${result.severities.length}`,
    stdAtQuarterPoints: [0.25, 0.5, 0.75].map((q) => result.severities[Math.round(q * (points + 1))]!.toFixed(3)),
  }
}

export const runScheduleBench = (options: BenchOptions): BenchReport => {
  const size = options.quick ? QUICK : FULL
  const results = options.backends.map((b) =>
    runChild<ScheduleResult>(fileURLToPath(import.meta.url), { BENCH_BACKEND: b.spec, SCHEDULE_BENCH_CHILD: JSON.stringify(size) }, b.spec),
  )
  const header = ["backend", "seconds", "distance evaluations", "candidate evaluations", "peak RSS MiB"]
  const lines = results.map((r) => [
    r.backend,
    r.seconds.toFixed(1),
    String(r.distanceEvaluations),
    String(r.candidateEvaluations),
    r.maxRssMiB.toFixed(0),
  ])
  const setup =
    `scheduleDegradation (src/dirac/schedule): ${size.candidates} candidates, ${size.points} points, 1 - SSIM over ${size.images} synthetic ${size.resolution} x ${size.resolution} images, ` +
    "Gaussian blur std 0.3 -> 3.0; one run per backend, in its own process. No PyTorch counterpart."
  for (const l of [setup, "", ...formatTable(header, lines)]) console.log(l)
  const file = join(options.outDir, "schedule.md")
  writeMarkdown(file, [
    "# Degradation scheduling time",
    "",
    "Written by `npm run bench` (bench/schedule.ts).",
    "",
    setup,
    "",
    "Machine:",
    "",
    ...machineLines(options.machine),
    "",
    ...markdownTable(header, lines),
    "",
    ...results.map(
      (r) =>
        `- ${r.backend}: std at the quarter points ${r.stdAtQuarterPoints.join(", ")}; ${r.stdBelowMidpoint} below the midpoint; ${r.fallbackSplits} fallback splits`,
    ),
  ])
  return {
    name: "schedule",
    file,
    remarks: [],
    headlines: results.map((r) => ({
      figure: `scheduler time (${size.candidates} candidates, ${size.points} points)`,
      configuration: r.backend,
      value: `${r.seconds.toFixed(1)} s`,
      vsPyTorch: "n/a",
      peakRssMiB: r.maxRssMiB,
    })),
  }
}

const child = process.env.SCHEDULE_BENCH_CHILD
if (child !== undefined) {
  const result = await measure(JSON.parse(child) as ScheduleSize, (line) => console.error(line))
  process.stdout.write(`${JSON.stringify(result)}\n`)
  process.exit(0)
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [candidates = FULL.candidates, points = FULL.points, cacheMiB] = process.argv.slice(2).map(Number)
  const result = await measure({ ...FULL, candidates, points, ...(cacheMiB !== undefined ? { cacheMiB } : {}) }, (line) =>
    console.log(line),
  )
  console.log(JSON.stringify(result, null, 1))
  process.exit(0)
}
