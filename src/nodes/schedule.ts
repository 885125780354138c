import { Effect } from "effect"
import { mkdir, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { batchToTensor4D } from "../dirac/data/tensor.js"
import { degradationProcess } from "../dirac/operators/process.js"
import type { DistanceName } from "../dirac/metrics/distances.js"
import { perceptualScheduleDistance } from "../dirac/metrics/perceptual/index.js"
import { scheduleDegradation, type DegradationSchedule } from "../dirac/schedule/schedule-degradation.js"
import { linePlotPng, type LinePlot } from "../report/plot.js"
import type { DegradationFamily } from "../dirac/operators/family.js"
import { OFFICIAL_BLUR_STD } from "../dirac/operators/official-blur-table.js"
import type { NodeKind } from "./contract.js"
import { configSchemaFile } from "./schema-file.js"
import { failure, openImages, processValue, readProcess, single } from "./values.js"

export interface ScheduleArgs {
  readonly candidates: number
  readonly points: number
  readonly distance: DistanceName | "mobilenet-perceptual" | "lpips-vgg"
  readonly distance_weights?: string
  readonly images: number
}

const distanceOf = async (config: ScheduleArgs) =>
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

export const schedule: NodeKind<ScheduleArgs> = {
  kind: "schedule",
  version: 1,
  summary: "Greedy degradation scheduling (Algorithm 2): severities evenly spaced in an image distance, on a uniform t-grid",
  configSchema: configSchemaFile("schedule"),
  inputs: {
    process: { type: "process", description: "the process to schedule (its operator family and noise are kept)" },
    images: { type: "images", description: "clean images the distance is averaged over" },
  },
  outputs: {
    process: { type: "process", description: "the scheduled process" },
    table: { type: "metrics", description: "t, severity, chosen candidates and the distances between them" },
  },
  defaultOutput: "process",
  backendSensitive: true,
  typing: (config: ScheduleArgs) => ({
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
      const input = yield* readProcess(single(ctx.inputs.process))
      const source = yield* openImages(single(ctx.inputs.images))
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
        process: processValue(scheduled),
        table: {
          meta: {
            label,
            distance: result.distance,
            t: result.severities.map((_, i) => i / (result.severities.length - 1)),
            severity: [...result.severities],
            candidates: result.candidates,
            candidateIndices: [...result.candidateIndices],
            edgeDistances: [...result.edgeDistances],
          },
          tensors: {},
        },
      }
    }),
}
