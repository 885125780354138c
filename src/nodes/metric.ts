import * as tf from "@tensorflow/tfjs-core"
import { Effect } from "effect"
import { mkdir, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { batchToTensor4D } from "../dirac/data/tensor.js"
import type { ImageSource } from "../dirac/data/types.js"
import { dataConsistencyError } from "../dirac/metrics/data-consistency.js"
import { readImages } from "../dirac/metrics/image-pixels.js"
import { psnr } from "../dirac/metrics/mse-psnr.js"
import { ssim } from "../dirac/metrics/ssim.js"
import type { DegradationProcess } from "../dirac/operators/process.js"
import { linePlotPng } from "../report/plot.js"
import {
  isPerceptualMetricName,
  isSetMetricName,
  perceptualMetric,
  setMetric,
  type PerceptualMetricName,
  type SetMetricName,
} from "../dirac/metrics/perceptual/index.js"
import type { Json, NodeKind, PortValue } from "./contract.js"
import { configSchemaFile } from "./schema-file.js"
import { failure, openImages, readProcess, single } from "./values.js"

export type MetricName = "psnr" | "ssim" | "eps_dc" | PerceptualMetricName | SetMetricName

export interface MetricArgs {
  readonly metrics: ReadonlyArray<MetricName>
  readonly weights: Partial<Record<"lpips-vgg" | "tfjs-model-fd", string>>
}

interface SetScore {
  readonly fd: number
  readonly kid: number
  readonly kid_std: number
  readonly images: number
  readonly label: string
}

interface Summary {
  readonly mean: number
  readonly std: number
  readonly values: number[]
}

interface Row {
  readonly name: string
  readonly count: number
  readonly metrics: Record<string, Summary>
  readonly sets: Record<string, SetScore>
}

const summary = (values: number[]): Summary => {
  const mean = values.reduce((a, b) => a + b, 0) / values.length
  const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length)
  return { mean, std, values }
}

const byIds = async (source: ImageSource, ids: ReadonlyArray<string>) => {
  const position = new Map(source.ids.map((id, i) => [id, i]))
  return batchToTensor4D(await source.load(ids.map((id) => position.get(id) ?? -1)))
}

/** Scores images against the clean ones, metric by metric: per image, and per set for FD/KID. */
const score = async (
  config: MetricArgs,
  metrics: ReadonlyArray<MetricName>,
  x: tf.Tensor4D,
  clean: tf.Tensor4D,
  y?: tf.Tensor4D,
  process?: DegradationProcess,
) => {
  const perImage: Record<string, number[]> = {}
  const sets: Record<string, SetScore> = {}
  const pixels = metrics.includes("psnr") || metrics.includes("ssim") ? await Promise.all([readImages(x), readImages(clean)]) : undefined
  for (const name of metrics) {
    if (name === "psnr") perImage.psnr = psnr(...pixels!)
    else if (name === "ssim") perImage.ssim = ssim(...pixels!)
    else if (name === "eps_dc" && y && process) {
      const epsDc = tf.tidy(() => dataConsistencyError(y, process, tf.clipByValue(x, 0, 1)))
      perImage.eps_dc = Array.from(await epsDc.data())
      epsDc.dispose()
    } else if (isPerceptualMetricName(name))
      perImage[name] = await perceptualMetric(name, { weights: config.weights[name as "lpips-vgg"] }).distance(x, clean)
    else if (isSetMetricName(name)) {
      const set = await setMetric(name, { weights: config.weights[name as "tfjs-model-fd"] })
      const report = await set.evaluate(x, clean)
      sets[name] = { fd: report.fd, kid: report.kid, kid_std: report.kidStd, images: report.countA, label: report.label }
    }
  }
  return { perImage, sets }
}

const format = (s: Summary) => `${s.mean.toPrecision(4)} ± ${s.std.toPrecision(2)}`

const cell = (r: Row, m: string) =>
  r.metrics[m] ? format(r.metrics[m]) : r.sets[m] ? `FD ${r.sets[m].fd.toPrecision(4)}, KID ${r.sets[m].kid.toPrecision(3)}` : "–"

export const metricsMarkdown = (rows: ReadonlyArray<Row>, metrics: ReadonlyArray<string>): string =>
  [
    `| | images | ${metrics.join(" | ")} |`,
    `|---|---|${metrics.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${r.name} | ${r.count} | ${metrics.map((m) => cell(r, m)).join(" | ")} |`),
  ].join("\n")

export const metric: NodeKind<MetricArgs> = {
  kind: "metric",
  version: 1,
  summary: "PSNR, SSIM, data consistency and perceptual metrics (LPIPS- and FID-style) of reconstructions against the clean images",
  configSchema: configSchemaFile("metric"),
  inputs: {
    reconstructions: { type: "reconstructions", many: true, description: "one or more reconstruction sets, each a row" },
    images: { type: "images", description: "the clean images" },
    measurements: { type: "measurements", required: false, description: "the measurements: a baseline row, and y~ for eps_dc" },
    process: { type: "process", required: false, description: "the degradation process, for eps_dc" },
  },
  outputs: { table: { type: "metrics", description: "per input: mean, std and per-image values of each metric" } },
  typing: (config: MetricArgs) => ({
    errors: (["lpips-vgg", "tfjs-model-fd"] as const)
      .filter((m) => config.metrics.includes(m) && !config.weights[m])
      .map((m) => ({ path: ["with", "weights"], message: `${m} needs its weights: weights: { ${m}: PATH } (see README, Metrics)` })),
  }),
  run: (ctx) =>
    Effect.gen(function* () {
      const clean = yield* openImages(single(ctx.inputs.images))
      const process = ctx.inputs.process ? yield* readProcess(single(ctx.inputs.process)) : undefined
      const measured = ctx.inputs.measurements ? single(ctx.inputs.measurements) : undefined
      const measuredIds = (measured?.meta as { ids?: string[] } | undefined)?.ids ?? []
      const metrics = ctx.config.metrics.filter((m) => m !== "eps_dc" || (measured && process))
      if (metrics.length < ctx.config.metrics.length)
        yield* ctx.log("eps_dc needs the measurements and the process as inputs; it is left out", "warn")
      const rowFor = (name: string, x: tf.Tensor4D, ids: string[]) =>
        Effect.tryPromise({
          try: async () => {
            const reference = await byIds(clean, ids)
            const y = measured
              ? (tf.gather(
                  measured.tensors.y,
                  ids.map((id) => measuredIds.indexOf(id)),
                ) as tf.Tensor4D)
              : undefined
            try {
              const { perImage, sets } = await score(ctx.config, metrics, x, reference, y, process)
              return {
                name,
                count: ids.length,
                metrics: Object.fromEntries(Object.entries(perImage).map(([m, v]) => [m, summary(v)])),
                sets,
              } as Row
            } finally {
              tf.dispose([reference, ...(y ? [y] : [])])
            }
          },
          catch: failure,
        })
      const rows: Row[] = []
      const inputs = ctx.inputs.reconstructions as ReadonlyArray<PortValue>
      const steps = inputs.map((v) => (v.meta as { steps?: number }).steps ?? 0)
      for (const [i, value] of inputs.entries()) {
        const meta = value.meta as { ids: string[]; samples: number }
        const ids = meta.ids.flatMap((id) => Array.from({ length: meta.samples }, () => id))
        rows.push(yield* rowFor(ctx.sources.reconstructions[i].replace(/\.reconstructions$/, ""), value.tensors.x as tf.Tensor4D, ids))
      }
      if (measured) {
        const ids = measuredIds.filter((id) => clean.ids.includes(id))
        const y = tf.gather(
          measured.tensors.y,
          ids.map((id) => measuredIds.indexOf(id)),
        ) as tf.Tensor4D
        rows.unshift(yield* rowFor("measurement", y, ids).pipe(Effect.ensuring(Effect.sync(() => y.dispose()))))
      }
      const table = metricsMarkdown(rows, metrics)
      yield* ctx.log(`\n${table}`)
      yield* Effect.tryPromise({
        try: async () => {
          await mkdir(ctx.reportDir, { recursive: true })
          await writeFile(join(ctx.reportDir, "metrics.md"), `${table}\n`)
          await writeFile(join(ctx.reportDir, "metrics.json"), JSON.stringify(rows, null, 2))
          const header = ["input", "image", ...metrics].join(",")
          const lines = rows.flatMap((r) =>
            (r.metrics[metrics[0]]?.values ?? []).map((_, k) =>
              [r.name, k, ...metrics.map((m) => r.metrics[m]?.values[k] ?? "")].join(","),
            ),
          )
          await writeFile(join(ctx.reportDir, "metrics.csv"), `${[header, ...lines].join("\n")}\n`)
          const reconstructed = rows.filter((r) => r.name !== "measurement")
          if (new Set(steps).size > 1) {
            for (const m of metrics.filter((name) => reconstructed[0]?.metrics[name])) {
              const points = reconstructed.map((r, i) => ({ x: steps[i], y: r.metrics[m].mean })).sort((a, b) => a.x - b.x)
              await writeFile(
                join(ctx.reportDir, `${m}-by-steps.png`),
                await linePlotPng({
                  title: `${m} against the number of steps`,
                  x: "network evaluations",
                  y: m,
                  series: [{ name: m, points }],
                  marks: true,
                }),
              )
            }
          }
        },
        catch: failure,
      })
      return { table: { meta: rows as unknown as Json, tensors: {} } }
    }),
}
