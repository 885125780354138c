import * as tf from "@tensorflow/tfjs-core"
import { Effect, Schema } from "effect"
import { imagesById } from "../dirac/data/tensor.js"
import { didYouMean } from "../dsl/suggest.js"
import { dataConsistencyError } from "../dirac/metrics/data-consistency.js"
import { readImages } from "../dirac/metrics/image-pixels.js"
import { psnr } from "../dirac/metrics/mse-psnr.js"
import { ssim } from "../dirac/metrics/ssim.js"
import { pairedDifference } from "../dirac/metrics/paired-difference.js"
import { stdErrorMoments, summariseStdError } from "../dirac/metrics/std-error-correlation.js"
import type { DegradationProcess } from "../dirac/operators/process.js"
import { isPerceptualMetricName, isSetMetricName, perceptualMetric, setMetric } from "../dirac/metrics/perceptual/index.js"
import { featureSet, type FeatureSet } from "../dirac/metrics/perceptual/set-statistics.js"
import type { ImageSource } from "../dirac/data/types.js"
import { metricsMarkdown, writeMetricsReport, type MetricRow, type SetScore, type Summary } from "../report/metrics-report.js"
import { decodeMeta, encodeMeta, failure } from "./kit/codec.js"
import { shardSize, withDefault } from "./kit/config.js"
import { defineKind, type PartCodec } from "./kit/define.js"
import { imagesPort } from "./ports/images.js"
import { measurementsPort, type Measurements } from "./ports/measurements.js"
import { metricsPort } from "./ports/metrics.js"
import { processPort } from "./ports/process.js"
import { reconstructionsPort, type Reconstructions } from "./ports/reconstructions.js"

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
  paired_against: withDefault(
    Schema.Array(Schema.String).annotate({
      description:
        "reconstruction inputs (by node name) to compare every other input with, image by image: for psnr, ssim and the perceptual distances, the mean per-image difference, its standard error and on how many images the input is better (a set of several samples per measurement counts as their mean)",
    }),
    [],
  ),
  shard_size: shardSize,
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

/** One row's share of a shard: per-image values of each metric, and the features of each set metric's two sets. */
interface RowPart {
  readonly perImage: Record<string, number[]>
  readonly features: Record<string, { readonly a: FeatureSet; readonly b: FeatureSet }>
}

/** A shard's part: its images (units), and per row (measurement first, then each input) what they scored. */
interface MetricPart {
  readonly ids: ReadonlyArray<string>
  readonly rows: ReadonlyArray<RowPart>
}

/** Scores images against the clean ones, metric by metric: per image, and the features for per-set FD/KID. */
const score = async (
  config: MetricConfig,
  metrics: ReadonlyArray<MetricName>,
  x: tf.Tensor4D,
  clean: tf.Tensor4D,
  y?: tf.Tensor4D,
  process?: DegradationProcess,
): Promise<RowPart> => {
  const perImage: Record<string, number[]> = {}
  const features: Record<string, { a: FeatureSet; b: FeatureSet }> = {}
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
      features[name] = { a: await set.features(x), b: await set.features(clean) }
    }
  }
  return { perImage, features }
}

/** A row of the table: its name, its images (an id once per sample), and those images by position. */
interface RowSource {
  readonly name: string
  /** Samples per measurement: each id appears this many times in a row. */
  readonly samples: number
  readonly ids: ReadonlyArray<string>
  readonly x: (positions: ReadonlyArray<number>) => tf.Tensor4D
}

const PartMeta = Schema.Struct({
  ids: Schema.Array(Schema.String),
  rows: Schema.Array(
    Schema.Struct({
      /** metric -> the values as float64, base64 (exact, and Infinity for identical images survives). */
      perImage: Schema.Record(Schema.String, Schema.String),
      sets: Schema.Array(Schema.String),
    }),
  ),
})

const encodePartMeta = encodeMeta(PartMeta)
const decodePartMeta = decodeMeta("state", PartMeta)

const toBase64 = (values: ReadonlyArray<number>) => Buffer.from(Float64Array.from(values).buffer).toString("base64")
const fromBase64 = (text: string) => {
  const bytes = Buffer.from(text, "base64")
  return Array.from(new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)))
}

const featureTensor = (set: FeatureSet) => tf.tensor2d(Float32Array.from(set.data), [set.count, set.dim])

const metricPart: PartCodec<MetricPart> = {
  encode: (part) =>
    Effect.gen(function* () {
      const tensors: Record<string, tf.Tensor> = {}
      part.rows.forEach((row, i) =>
        Object.entries(row.features).forEach(([name, { a, b }]) => {
          tensors[`${i}/${name}/a`] = featureTensor(a)
          tensors[`${i}/${name}/b`] = featureTensor(b)
        }),
      )
      const meta = yield* encodePartMeta({
        ids: part.ids,
        rows: part.rows.map((row) => ({
          perImage: Object.fromEntries(Object.entries(row.perImage).map(([m, v]) => [m, toBase64(v)])),
          sets: Object.keys(row.features),
        })),
      })
      return { meta, tensors }
    }),
  decode: (stored) =>
    Effect.gen(function* () {
      const meta = yield* decodePartMeta(stored.meta)
      const features = (i: number, name: string, side: "a" | "b") =>
        Effect.gen(function* () {
          const t = stored.tensors[`${i}/${name}/${side}`]
          if (t === undefined) return yield* Effect.fail(failure(new Error(`a stored metric shard has no features '${i}/${name}/${side}'`)))
          return featureSet(yield* Effect.promise(() => t.data() as Promise<Float32Array>), t.shape[0]!, t.shape[1]!)
        })
      const rows = yield* Effect.forEach(meta.rows, (row, i) =>
        Effect.gen(function* () {
          const sets: Record<string, { a: FeatureSet; b: FeatureSet }> = {}
          for (const name of row.sets) sets[name] = { a: yield* features(i, name, "a"), b: yield* features(i, name, "b") }
          return { perImage: Object.fromEntries(Object.entries(row.perImage).map(([m, v]) => [m, fromBase64(v)])), features: sets }
        }),
      )
      return { ids: meta.ids, rows }
    }),
}

/** A row's values in its order, from the shards that each hold those of some of its images, in that order. */
const interleave = <T>(ids: ReadonlyArray<string>, shardOf: ReadonlyMap<string, number>, parts: ReadonlyArray<ReadonlyArray<T>>): T[] => {
  const next = parts.map(() => 0)
  return ids.map((id) => {
    const k = shardOf.get(id)!
    return parts[k]![next[k]!++]!
  })
}

const featureRows = (set: FeatureSet): Float32Array[] =>
  Array.from({ length: set.count }, (_, i) => Float32Array.from(set.data.subarray(i * set.dim, (i + 1) * set.dim)))

const joinRows = (rows: ReadonlyArray<Float32Array>, dim: number): FeatureSet => {
  const data = new Float64Array(rows.length * dim)
  rows.forEach((row, i) => data.set(row, i * dim))
  return featureSet(data, rows.length, dim)
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
  typing: (config, _types, _given, sources) => ({
    errors: [
      ...(["lpips-vgg", "tfjs-model-fd"] as const)
        .filter((m) => config.metrics.includes(m) && !config.weights[m])
        .map((m) => ({ path: ["with", "weights"], message: `${m} needs its weights: weights: { ${m}: PATH } (see README, Metrics)` })),
      ...pairingErrors(config, (sources.reconstructions ?? []).map(rowName)),
    ],
  }),
  shards: {
    part: metricPart,
    units: (ctx) => [...new Set(rowSources(ctx.inputs, ctx.sources.reconstructions).flatMap((row) => row.ids))],
    compute: (ctx, units) =>
      Effect.tryPromise({
        try: async () => {
          const { images: clean, process, measurements: measured } = ctx.inputs
          const metrics = scoredMetrics(ctx.config.metrics, measured !== undefined && process !== undefined)
          const mine = new Set(units)
          const rows: RowPart[] = []
          for (const row of rowSources(ctx.inputs, ctx.sources.reconstructions)) {
            const positions = row.ids.flatMap((id, i) => (mine.has(id) ? [i] : []))
            if (positions.length === 0) {
              rows.push({ perImage: {}, features: {} })
              continue
            }
            const ids = positions.map((i) => row.ids[i]!)
            const x = row.x(positions)
            const reference = await imagesById(clean, ids)
            const y = measured ? gatherImages(measured.y, ids, measured.ids) : undefined
            try {
              rows.push(await score(ctx.config, metrics, x, reference, y, process))
            } finally {
              tf.dispose([x, reference, ...(y ? [y] : [])])
            }
          }
          return { ids: units, rows }
        },
        catch: failure,
      }),
    merge: (ctx, parts) =>
      Effect.gen(function* () {
        const { process, measurements: measured } = ctx.inputs
        const metrics = scoredMetrics(ctx.config.metrics, measured !== undefined && process !== undefined)
        if (metrics.length < ctx.config.metrics.length)
          yield* ctx.log("eps_dc needs the measurements and the process as inputs; it is left out", "warn")
        const shardOf = new Map(parts.flatMap((part, k) => part.ids.map((id) => [id, k] as const)))
        const rows: MetricRow[] = []
        const sources = rowSources(ctx.inputs, ctx.sources.reconstructions)
        for (const [i, source] of sources.entries()) {
          const shares = parts.map((part) => part.rows[i]!)
          const merged = <T>(of: (share: RowPart) => ReadonlyArray<T>) => interleave(source.ids, shardOf, shares.map(of))
          const sets: Record<string, SetScore> = {}
          for (const name of [...new Set(shares.flatMap((share) => Object.keys(share.features)))]) {
            const dim = shares.find((share) => share.features[name])!.features[name]!.a.dim
            const side = (s: "a" | "b") =>
              joinRows(
                merged((share) => (share.features[name] ? featureRows(share.features[name][s]) : [])),
                dim,
              )
            const report = yield* Effect.tryPromise({
              try: async () =>
                (await setMetric(name, { weights: ctx.config.weights[name as "tfjs-model-fd"] })).evaluate(side("a"), side("b")),
              catch: failure,
            })
            sets[name] = { fd: report.fd, kid: report.kid, kid_std: report.kidStd, images: report.countA, label: report.label }
          }
          const names = [...new Set(shares.flatMap((share) => Object.keys(share.perImage)))]
          const perImage = names.map((m) => [m, summary(merged((share) => share.perImage[m] ?? []))] as const)
          const uncertainty =
            source.samples > 1 && metrics.includes("std_error_r") ? yield* stdErrorOf(source, ctx.inputs.images) : undefined
          rows.push({
            name: source.name,
            count: source.ids.length,
            metrics: Object.fromEntries(perImage),
            sets,
            ...(uncertainty ? { std_error_r: uncertainty } : {}),
          })
        }
        const paired = pairedRows(
          rows,
          sources.map((source) => source.ids),
          ctx.config.paired_against,
        )
        const table = metricsMarkdown(paired, metrics)
        yield* ctx.log(`\n${table}`)
        const steps = ctx.inputs.reconstructions.map((r) => r.steps)
        yield* Effect.tryPromise({ try: () => writeMetricsReport(ctx.reportDir, table, paired, metrics, steps), catch: failure })
        return { table: paired }
      }),
    dispose: () => {},
  },
})

/**
 * The correlation of the pixelwise std over a row's samples with the error of their mean, over all its images
 * (pooled statistics do not split into shards, so the merge computes it from the whole set).
 */
const stdErrorOf = (row: RowSource, clean: ImageSource) =>
  Effect.tryPromise({
    try: async () => {
      const x = row.x(row.ids.map((_, i) => i))
      const reference = await imagesById(
        clean,
        row.ids.filter((_, i) => i % row.samples === 0),
      )
      try {
        const [samples, truth] = await Promise.all([readImages(x), readImages(reference)])
        return summariseStdError(stdErrorMoments(samples, truth, row.samples))
      } finally {
        tf.dispose([x, reference])
      }
    },
    catch: failure,
  })

/** Per-image metrics a paired comparison reports, and whether higher is better. */
const PAIRED_METRICS: Record<string, boolean> = { psnr: true, ssim: true }
const pairedDirection = (metric: string): boolean | undefined =>
  PAIRED_METRICS[metric] ?? (isPerceptualMetricName(metric) ? false : undefined)

/** A reconstruction input's row name: its node, or node.port for a port other than `reconstructions`. */
const rowName = (source: string) => source.replace(/\.reconstructions$/, "")

const pairingErrors = (config: MetricConfig, names: ReadonlyArray<string>) => {
  const errors = config.paired_against
    .map((name, i) => ({ name, i }))
    .filter(({ name }) => !names.includes(name))
    .map(({ name, i }) => ({
      path: ["with", "paired_against", i],
      message: `'${name}' is not one of this node's reconstructions (${names.join(", ")})${didYouMean(name, names)}`,
    }))
  if (config.paired_against.length > 0 && !config.metrics.some((m) => pairedDirection(m) !== undefined))
    errors.push({ path: ["with", "paired_against"], message: "paired comparisons need psnr, ssim or a perceptual distance in metrics" })
  return errors
}

/** Each reconstruction row with its per-image differences to each reference row (not to itself). */
const pairedRows = (rows: ReadonlyArray<MetricRow>, ids: ReadonlyArray<ReadonlyArray<string>>, references: ReadonlyArray<string>) =>
  rows.map((row, i): MetricRow => {
    if (row.name === "measurement" || references.length === 0) return row
    const against = references
      .map((name) => ({ name, k: rows.findIndex((r) => r.name === name) }))
      .filter(({ name, k }) => name !== row.name && k >= 0)
      .map(({ name, k }) => {
        const differences = Object.keys(row.metrics).flatMap((m) => {
          const higherIsBetter = pairedDirection(m)
          const theirs = rows[k]!.metrics[m]
          if (higherIsBetter === undefined || !theirs) return []
          const d = pairedDifference(
            { values: row.metrics[m]!.values, ids: ids[i]! },
            { values: theirs.values, ids: ids[k]! },
            higherIsBetter,
          )
          return d ? [[m, d] as const] : []
        })
        return [name, Object.fromEntries(differences)] as const
      })
    return { ...row, paired: Object.fromEntries(against) }
  })

/** The metrics scored: eps_dc only with the measurements and the process. */
const scoredMetrics = (metrics: ReadonlyArray<MetricName>, dataConsistency: boolean) =>
  metrics.filter((m) => m !== "eps_dc" || dataConsistency)

/** The table's rows: the measurements (when given, those with clean images), then each reconstruction set. */
const rowSources = (
  inputs: { readonly reconstructions: ReadonlyArray<Reconstructions>; readonly images: ImageSource; readonly measurements?: Measurements },
  sources: ReadonlyArray<string>,
): RowSource[] => {
  const { measurements: measured, images: clean } = inputs
  const reconstructed = inputs.reconstructions.map((r, i) => ({
    name: rowName(sources[i]!),
    samples: r.samples,
    ids: r.ids.flatMap((id) => Array.from({ length: r.samples }, () => id)),
    x: (positions: ReadonlyArray<number>) => tf.gather(r.x, [...positions]) as tf.Tensor4D,
  }))
  if (!measured) return reconstructed
  const cleanIds = new Set(clean.ids)
  const ids = measured.ids.filter((id) => cleanIds.has(id))
  const x = (positions: ReadonlyArray<number>) =>
    gatherImages(
      measured.y,
      positions.map((i) => ids[i]!),
      measured.ids,
    )
  return [{ name: "measurement", samples: 1, ids, x }, ...reconstructed]
}

/** The images of `ids` from a batch whose images have the ids `all`, in the order of `ids`. */
const gatherImages = (images: tf.Tensor4D, ids: ReadonlyArray<string>, all: ReadonlyArray<string>): tf.Tensor4D =>
  tf.gather(
    images,
    ids.map((id) => all.indexOf(id)),
  )
