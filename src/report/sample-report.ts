import type * as tf from "@tensorflow/tfjs-core"
import { mkdir, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { isUncertaintyMap, UNCERTAINTY_MAP_RULE, type StdErrorCorrelation } from "../dirac/metrics/std-error-correlation.js"
import { meanCurve, type Trajectories } from "../dirac/sample/trajectories.js"
import { heatImage, heatScale, labelledGridPng } from "./grid.js"
import { formatR, formatStdErrorR } from "./metrics-report.js"
import { linePlotPng } from "./plot.js"

/**
 * The sample node's report in `dir`: a grid (measurement, samples, their pixelwise std, target) and the
 * per-step curves of data consistency, distortion and perception along the reverse process.
 */
export interface SampleRunInfo {
  readonly dt: number
  readonly tStop: number
  readonly output: string
  readonly samples: number
  readonly seed: number
  /** Where the network ran. */
  readonly engine: string
  /** Measurements sampled; the grid shows the first few. */
  readonly measurements: number
}

/** What the std column shows: an uncertainty map only by UNCERTAINTY_MAP_RULE, which needs the clean images. */
export const stdCaption = (c: StdErrorCorrelation | undefined): string =>
  c === undefined
    ? "pixelwise std over samples (no clean images to check it against the error: not called an uncertainty map)"
    : isUncertaintyMap(c)
      ? `uncertainty map (the pixelwise std over samples, r = ${formatR(c.pooled)} with the error)`
      : `pixelwise std over samples (r = ${formatR(c.pooled)} with the error: not an uncertainty map)`

/** How the std correlates with the error, and the rule that names it. */
const correlationSummary = (c: StdErrorCorrelation, measurements: number): string =>
  `Pearson's r of the pixelwise std over samples with the absolute error of their mean, over ${measurements} measurements: ` +
  `${formatStdErrorR(c)}` +
  (c.interval ? ` (95% interval of the per-image mean ${c.interval[0].toFixed(2)} to ${c.interval[1].toFixed(2)})` : "") +
  `. The std is called an uncertainty map only when ${UNCERTAINTY_MAP_RULE}.`

/** The run's parameters in words, how much of it the grid shows, and what its std column is. */
export const sampleSummary = (info: SampleRunInfo, shown: number, stdMax?: number, uncertainty?: StdErrorCorrelation): string =>
  [
    `Sampled ${info.measurements} measurements, ${info.samples} sample${info.samples === 1 ? "" : "s"} each: ` +
      `dt ${info.dt}, t_stop ${info.tStop}, output ${info.output}, seed ${info.seed}; the network ran on ${info.engine}.`,
    `grid.png shows ${shown === info.measurements ? `all ${shown}` : `the first ${shown} of ${info.measurements}`} measurements` +
      (stdMax === undefined
        ? "."
        : `; its std column is the ${stdCaption(uncertainty)}: black is 0 and white ${stdMax.toPrecision(3)}, the largest std shown.`),
    ...(uncertainty ? [correlationSummary(uncertainty, info.measurements)] : []),
  ].join("\n\n")

export const writeSampleReport = async (
  dir: string,
  y: tf.Tensor4D,
  x: Float32Array,
  clean: tf.Tensor4D | undefined,
  trajectories: Trajectories,
  info: SampleRunInfo,
  uncertainty?: StdErrorCorrelation,
) => {
  await mkdir(dir, { recursive: true })
  const n = info.samples
  const [shown, h, w] = y.shape
  const per = h * w * 3
  const image = (data: Float32Array, i: number) => ({ pixels: data.slice(i * per, (i + 1) * per), width: w, height: h })
  const yData = (await y.data()) as Float32Array
  const cleanData = clean ? ((await clean.data()) as Float32Array) : undefined
  const rows = Array.from({ length: shown }, (_, i) => i)
  const stds = n > 1 ? rows.map((i) => pixelStd(x, i, n, per)) : undefined
  const stdMax = stds ? heatScale(stds) : undefined
  const columns = [
    { title: "measurement", images: rows.map((i) => image(yData, i)) },
    ...Array.from({ length: Math.min(n, 3) }, (_, s) => ({
      title: n > 1 ? `sample ${s + 1}` : "reconstruction",
      images: rows.map((i) => image(x, i * n + s)),
    })),
    ...(stds && stdMax !== undefined
      ? [
          {
            title: `${uncertainty && isUncertaintyMap(uncertainty) ? "uncertainty" : "std"} (white ${stdMax.toPrecision(2)})`,
            images: stds.map((std) => heatImage(std, w, h, stdMax)),
          },
        ]
      : []),
    ...(cleanData ? [{ title: "target", images: rows.map((i) => image(cleanData, i * n)) }] : []),
  ]
  await writeFile(join(dir, "grid.png"), await labelledGridPng(columns))
  await writeFile(join(dir, "summary.md"), `${sampleSummary(info, shown, stdMax, uncertainty)}\n`)
  const curve = (metric: string) => ({
    name: metric,
    points: meanCurve(trajectories, metric).map((v, i) => ({ x: trajectories.t[i], y: v })),
  })
  await writeFile(
    join(dir, "data-consistency.png"),
    await linePlotPng({
      title: "Data consistency along the reverse process",
      x: "t",
      y: "eps_dc = mean((y~ - A_1(x^0))^2)",
      series: [
        curve("eps_dc"),
        {
          name: "noise floor sigma_1^2",
          points: [trajectories.t[0] ?? 1, trajectories.t.at(-1) ?? 0].map((t) => ({ x: t, y: trajectories.noiseFloor })),
        },
      ],
    }),
  )
  const along = [
    { metric: "psnr", file: "psnr.png", title: "Distortion along the reverse process", y: "PSNR (dB)" },
    {
      metric: "perceptual",
      file: "perception.png",
      title: "Perception along the reverse process",
      y: "perceptual distance (lower is better)",
    },
  ]
  for (const { metric, file, title, y } of along.filter((a) => trajectories.metrics[`${a.metric}_x0`])) {
    const series = [curve(`${metric}_x0`), curve(`${metric}_y`)]
    await writeFile(join(dir, file), await linePlotPng({ title, x: "t", y, series }))
  }
}

/** The pixelwise standard deviation over the n samples of measurement i. */
export const pixelStd = (x: Float32Array, i: number, n: number, per: number): Float32Array => {
  const std = new Float32Array(per)
  for (let p = 0; p < per; p++) {
    let sum = 0
    let squares = 0
    for (let s = 0; s < n; s++) {
      const v = x[(i * n + s) * per + p]
      sum += v
      squares += v * v
    }
    const mean = sum / n
    std[p] = Math.sqrt(Math.max(squares / n - mean * mean, 0))
  }
  return std
}
