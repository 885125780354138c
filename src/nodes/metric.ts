import * as tf from "@tensorflow/tfjs-core"
import { Effect, Schema } from "effect"
import { imagesById } from "../dirac/data/tensor.js"
import { dataConsistencyError } from "../dirac/metrics/data-consistency.js"
import { readImages, type ImagePixels } from "../dirac/metrics/image-pixels.js"
import { psnr } from "../dirac/metrics/mse-psnr.js"
import { ssim } from "../dirac/metrics/ssim.js"
import { stdErrorMoments, summariseStdError } from "../dirac/metrics/std-error-correlation.js"
import type { DegradationProcess } from "../dirac/operators/process.js"
import { isPerceptualMetricName, isSetMetricName, perceptualMetric, setMetric } from "../dirac/metrics/perceptual/index.js"
import { metricsMarkdown, writeMetricsReport, type MetricRow, type SetScore, type Summary } from "../report/metrics-report.js"
import { failure } from "./kit/codec.js"
import { withDefault } from "./kit/config.js"
import { defineKind } from "./kit/define.js"
import { imagesPort } from "./ports/images.js"
import { measurementsPort } from "./ports/measurements.js"
import { metricsPort } from "./ports/metrics.js"
import { processPort } from "./ports/process.js"
import { reconstructionsPort } from "./ports/reconstructions.js"

const MetricName = Schema.Literals([
  "psnr",
  "ssim",
  "eps_dc",
  "mobilenet-perceptual",
  "lpips-vgg",
  "inception-fd",
  "mobilenet-fd",
  "tfjs-model-fd",
  "std_error_r",
])

type MetricName = typeof MetricName.Type

const MetricConfig = Schema.Struct({
  metrics: withDefault(
    Schema.Array(MetricName).check(Schema.isMinLength(1)).annotate({
      description:
        "per image: psnr (data range 1), ssim (Gaussian window 11x11, sigma 1.5), eps_dc = mean((y~ - A_1(x))^2) (needs measurements and process), mobilenet-perceptual (LPIPS-style, MobileNetV2 inside nsfwjs), lpips-vgg (official LPIPS; weights); per set: inception-fd and mobilenet-fd (FID-style Frechet distance and KID on networks inside nsfwjs), tfjs-model-fd (a converted model folder; weights); per set of 2 or more samples per measurement: std_error_r, Pearson's r of the pixelwise std over samples with the absolute error of their mean (pooled over all pixels, and per image), '–' for other sets. With psnr and a perceptual metric, the report plots every set in the perception-distortion plane",
    }),
    ["psnr", "ssim", "eps_dc", "mobilenet-perceptual", "std_error_r"],
  ),
  weights: withDefault(
    Schema.Struct({
      "lpips-vgg": Schema.optionalKey(Schema.String),
      "tfjs-model-fd": Schema.optionalKey(Schema.String),
    }).annotate({ description: "paths for metrics that need user-supplied weights" }),
    {},
  ),
})

type MetricConfig = typeof MetricConfig.Type

const summary = (values: number[]): Summary => {
  const mean = values.reduce((a, b) => a + b, 0) / values.length
  const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length)
  return { mean, std, values }
}

/** Every n-th image: one of each measurement's n samples. */
const everyNth = (images: ImagePixels, n: number): ImagePixels => {
  const [count, h, w, c] = images.shape
  const per = h * w * c
  const pixels = new Float32Array((count / n) * per)
  for (let i = 0; i < count / n; i++) pixels.set(images.pixels.subarray(i * n * per, (i * n + 1) * per), i * per)
  return { pixels, shape: [count / n, h, w, c] }
}

/**
 * Scores images against the clean ones, metric by metric: per image, and per set for FD/KID and, with `samples`
 * of each measurement, the correlation of their std with the error of their mean.
 */
const score = async (
  config: MetricConfig,
  metrics: ReadonlyArray<MetricName>,
  samples: number,
  x: tf.Tensor4D,
  clean: tf.Tensor4D,
  y?: tf.Tensor4D,
  process?: DegradationProcess,
) => {
  const perImage: Record<string, number[]> = {}
  const sets: Record<string, SetScore> = {}
  const stochastic = samples > 1 && metrics.includes("std_error_r")
  const pixels =
    metrics.includes("psnr") || metrics.includes("ssim") || stochastic ? await Promise.all([readImages(x), readImages(clean)]) : undefined
  const uncertainty = stochastic ? summariseStdError(stdErrorMoments(pixels![0], everyNth(pixels![1], samples), samples)) : undefined
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
  return { perImage, sets, ...(uncertainty ? { std_error_r: uncertainty } : {}) }
}

export const metric = defineKind({
  kind: "metric",
  version: 2,
  summary: "PSNR, SSIM, data consistency and perceptual metrics (LPIPS- and FID-style) of reconstructions against the clean images",
  description:
    "Scores reconstructions against the clean images: per image, and mean and std per input. Outputs are clipped to [0, 1] first.",
  config: MetricConfig,
  inputs: {
    reconstructions: { codec: reconstructionsPort, many: true, description: "one or more reconstruction sets, each a row" },
    images: { codec: imagesPort, description: "the clean images" },
    measurements: {
      codec: measurementsPort,
      required: false,
      description: "the measurements: a baseline row, and y~ for eps_dc",
    },
    process: { codec: processPort, required: false, description: "the degradation process, for eps_dc" },
  },
  outputs: { table: { codec: metricsPort, description: "per input: mean, std and per-image values of each metric" } },
  typing: (config) => ({
    errors: (["lpips-vgg", "tfjs-model-fd"] as const)
      .filter((m) => config.metrics.includes(m) && !config.weights[m])
      .map((m) => ({ path: ["with", "weights"], message: `${m} needs its weights: weights: { ${m}: PATH } (see README, Metrics)` })),
  }),
  run: (ctx) =>
    Effect.gen(function* () {
      const { images: clean, process, measurements: measured } = ctx.inputs
      const measuredIds = measured?.ids ?? []
      const metrics = ctx.config.metrics.filter((m) => m !== "eps_dc" || (measured && process))
      if (metrics.length < ctx.config.metrics.length)
        yield* ctx.log("eps_dc needs the measurements and the process as inputs; it is left out", "warn")
      const rowFor = (name: string, x: tf.Tensor4D, ids: string[], samples: number) =>
        Effect.tryPromise({
          try: async () => {
            const reference = await imagesById(clean, ids)
            const y = measured ? gatherImages(measured.y, ids, measuredIds) : undefined
            try {
              const { perImage, ...perSet } = await score(ctx.config, metrics, samples, x, reference, y, process)
              return {
                name,
                count: ids.length,
                metrics: Object.fromEntries(Object.entries(perImage).map(([m, v]) => [m, summary(v)])),
                ...perSet,
              } satisfies MetricRow
            } finally {
              tf.dispose([reference, ...(y ? [y] : [])])
            }
          },
          catch: failure,
        })
      const rows: MetricRow[] = []
      const inputs = ctx.inputs.reconstructions
      const steps = inputs.map((r) => r.steps)
      for (const [i, r] of inputs.entries()) {
        const ids = r.ids.flatMap((id) => Array.from({ length: r.samples }, () => id))
        rows.push(yield* rowFor(ctx.sources.reconstructions[i].replace(/\.reconstructions$/, ""), r.x, ids, r.samples))
      }
      if (measured) {
        const ids = measuredIds.filter((id) => clean.ids.includes(id))
        const y = gatherImages(measured.y, ids, measuredIds)
        rows.unshift(yield* rowFor("measurement", y, ids, 1).pipe(Effect.ensuring(Effect.sync(() => y.dispose()))))
      }
      const table = metricsMarkdown(rows, metrics)
      yield* ctx.log(`\n${table}`)
      yield* Effect.tryPromise({ try: () => writeMetricsReport(ctx.reportDir, table, rows, metrics, steps), catch: failure })
      return { table: rows }
    }),
})

/** The images of `ids` from a batch whose images have the ids `all`, in the order of `ids`. */
const gatherImages = (images: tf.Tensor4D, ids: ReadonlyArray<string>, all: ReadonlyArray<string>): tf.Tensor4D =>
  tf.gather(
    images,
    ids.map((id) => all.indexOf(id)),
  )
