import { Effect, Schema } from "effect"
import { mkdir, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { batchToTensor4D } from "../dirac/data/tensor.js"
import { degradationProcess } from "../dirac/operators/process.js"
import { perceptualScheduleDistance } from "../dirac/metrics/perceptual/index.js"
import { scheduleDegradation, type DegradationSchedule } from "../dirac/schedule/schedule-degradation.js"
import { linePlotPng, type LinePlot } from "../report/plot.js"
import type { DegradationFamily } from "../dirac/operators/family.js"
import { OFFICIAL_BLUR_STD } from "../dirac/operators/official-blur-table.js"
import { failure } from "./kit/codec.js"
import { withDefault } from "./kit/config.js"
import { defineKind } from "./kit/define.js"
import { imagesPort } from "./ports/images.js"
import { metricsPort } from "./ports/metrics.js"
import { processPort } from "./ports/process.js"

const ScheduleConfig = Schema.Struct({
  candidates: withDefault(
    Schema.Int.check(Schema.isGreaterThanOrEqualTo(3)).annotate({
      description: "N: candidate severities, evenly spaced over the unscheduled process",
    }),
    2000,
  ),
  points: withDefault(
    Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)).annotate({
      description: "m: severities chosen between the two ends (the table has m + 2 rows)",
    }),
    100,
  ),
  distance: withDefault(
    Schema.Literals(["ssim", "mse", "psnr", "mobilenet-perceptual", "lpips-vgg"]).annotate({
      description:
        "M in d(ti, tj) = mean over images of M(A_ti x, A_tj x): 1 - SSIM, MSE, a PSNR-based distance, or a perceptual distance (the paper uses LPIPS: lpips-vgg with distance_weights, or the LPIPS-style mobilenet-perceptual that needs no download)",
    }),
    "ssim",
  ),
  images: withDefault(
    Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)).annotate({
      description: "clean images the distance averages over (the first ones of the input)",
    }),
    16,
  ),
  distance_weights: Schema.optionalKey(Schema.String.annotate({ description: "lpips-vgg: the converted weights" })),
})

type ScheduleConfig = typeof ScheduleConfig.Type

const distanceOf = async (config: ScheduleConfig) =>
  config.distance === "mobilenet-perceptual" || config.distance === "lpips-vgg"
    ? perceptualScheduleDistance(config.distance, { weights: config.distance_weights })
    : config.distance

const tableCsv = (result: DegradationSchedule, label: string): string =>
  [`t,${label.replace(/,/g, "")}`, ...result.severities.map((s, i) => `${i / (result.severities.length - 1)},${s}`)].join("\n")

/** The chosen schedule beside the unscheduled (linear) one and, for the paper's blur, the official table (Fig. 8). */
const schedulePlot = (family: DegradationFamily, result: DegradationSchedule): LinePlot => {
  const grid = (values: ReadonlyArray<number>) => values.map((y, i) => ({ x: i / (values.length - 1), y }))
  const [low, high] = family.severityRange
  const series = [
    { name: `scheduled (${result.distance})`, points: grid(result.severities) },
    { name: "linear (unscheduled)", points: grid([low, high]) },
  ]
  if (family.kind === "gaussian-blur" && low === 0.3 && high === 3)
    series.push({ name: "official table (paper)", points: grid(OFFICIAL_BLUR_STD) })
  return { title: "Degradation schedule", x: "t", y: family.severityLabel, series }
}

export const schedule = defineKind({
  kind: "schedule",
  version: 1,
  summary: "Greedy degradation scheduling (Algorithm 2): severities evenly spaced in an image distance, on a uniform t-grid",
  description:
    "Greedy degradation scheduling (paper Algorithm 2, Appendix C): severities spaced evenly in a distance between degraded images, placed on a uniform t-grid.",
  config: ScheduleConfig,
  inputs: {
    process: { codec: processPort, description: "the process to schedule (its operator family and noise are kept)" },
    images: { codec: imagesPort, description: "clean images the distance is averaged over" },
  },
  outputs: {
    process: { codec: processPort, description: "the scheduled process" },
    table: { codec: metricsPort, description: "t, severity, chosen candidates and the distances between them" },
  },
  defaultOutput: "process",
  backendSensitive: true,
  typing: (config, types) => ({
    ...(types.process?.operator ? { outputs: { process: { kind: "process", operator: types.process.operator } } } : {}),
    errors: [
      ...(config.points + 2 > config.candidates
        ? [{ path: ["with", "points"], message: `needs at least points + 2 = ${config.points + 2} candidates, got ${config.candidates}` }]
        : []),
      ...(config.distance === "lpips-vgg" && !config.distance_weights
        ? [{ path: ["with", "distance_weights"], message: "lpips-vgg needs its converted weights (see README, Metrics)" }]
        : []),
    ],
  }),
  run: (ctx) =>
    Effect.gen(function* () {
      const { process: input, images: source } = ctx.inputs
      const n = Math.min(ctx.config.images, source.count)
      if (n < ctx.config.images) yield* ctx.log(`only ${n} images are available for the distance`, "warn")
      const batch = yield* Effect.tryPromise({ try: () => source.load(Array.from({ length: n }, (_, i) => i)), catch: failure })
      const images = batchToTensor4D(batch)
      const distance = yield* Effect.tryPromise({ try: () => distanceOf(ctx.config), catch: failure })
      const result = yield* Effect.tryPromise({
        try: (signal) =>
          scheduleDegradation({
            family: input.family,
            images,
            candidates: ctx.config.candidates,
            points: ctx.config.points,
            distance: distance as Parameters<typeof scheduleDegradation>[0]["distance"],
            signal,
            onProgress: (done, total) => Effect.runSync(ctx.progress({ done, total, unit: "points" })),
          }),
        catch: failure,
      }).pipe(Effect.ensuring(Effect.sync(() => images.dispose())))
      const scheduled = degradationProcess(input.family, { schedule: result.schedule, noise: input.noise })
      const label = input.family.severityLabel
      yield* ctx.log(
        `${result.distanceEvaluations} distances over ${result.candidates} candidates; largest step ${result.maxDistance.toPrecision(3)} (${result.distance})`,
      )
      yield* Effect.tryPromise({
        try: async () => {
          await mkdir(ctx.reportDir, { recursive: true })
          await writeFile(join(ctx.reportDir, "schedule.csv"), `${tableCsv(result, label)}\n`)
          await writeFile(join(ctx.reportDir, "schedule.png"), await linePlotPng(schedulePlot(input.family, result)))
        },
        catch: failure,
      })
      return {
        process: scheduled,
        table: {
          label,
          distance: result.distance,
          t: result.severities.map((_, i) => i / (result.severities.length - 1)),
          severity: [...result.severities],
          candidates: result.candidates,
          candidateIndices: [...result.candidateIndices],
          edgeDistances: [...result.edgeDistances],
        },
      }
    }),
})
