import { mkdir, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { isPerceptualMetricName } from "../dirac/metrics/perceptual/index.js"
import type { PairedDifference } from "../dirac/metrics/paired-difference.js"
import type { StdErrorCorrelation } from "../dirac/metrics/std-error-correlation.js"
import { linePlotPng, type Series } from "./plot.js"

export type SetScore = {
  readonly fd: number
  readonly kid: number
  readonly kid_std: number
  readonly images: number
  readonly label: string
}

export type Summary = {
  readonly mean: number
  readonly std: number
  readonly values: number[]
}

export type MetricRow = {
  readonly name: string
  readonly count: number
  readonly metrics: Record<string, Summary>
  readonly sets: Record<string, SetScore>
  /** Sets of two or more samples per measurement: how their pixelwise std correlates with the error of their mean. */
  readonly std_error_r?: StdErrorCorrelation
  /** Per reference row, per metric: this row minus the reference, image by image. */
  readonly paired?: Record<string, Record<string, PairedDifference>>
}

const format = (s: Summary) => `${s.mean.toPrecision(4)} ± ${s.std.toPrecision(2)}`

/** A correlation, or "undefined" where it is (null). */
export const formatR = (r: number | null) => (r === null ? "undefined" : r.toFixed(2))

/** Pooled r, then the per-image mean and std; "undefined" where the std (or the error) is constant. */
export const formatStdErrorR = (c: StdErrorCorrelation): string =>
  c.pooled === null && c.mean === null
    ? "undefined (constant std)"
    : `${formatR(c.pooled)} pooled, ${formatR(c.mean)} ± ${formatR(c.std)} per image`

const cell = (r: MetricRow, m: string) =>
  m === "std_error_r"
    ? r.std_error_r
      ? formatStdErrorR(r.std_error_r)
      : "–"
    : r.metrics[m]
      ? format(r.metrics[m])
      : r.sets[m]
        ? `FD ${r.sets[m].fd.toPrecision(4)}, KID ${r.sets[m].kid.toPrecision(3)}`
        : "–"

const signed = (x: number) => `${x > 0 ? "+" : ""}${x.toPrecision(3)}`

const pairedCell = (d: PairedDifference | undefined) =>
  d
    ? `${signed(d.mean)}${d.standard_error === null ? "" : ` ± ${d.standard_error.toPrecision(2)}`}, better on ${d.better} of ${d.images}`
    : "–"

/** For each reference: every other row's mean per-image difference to it, its standard error, and a count. */
const pairedMarkdown = (rows: ReadonlyArray<MetricRow>, metrics: ReadonlyArray<string>): string[] => {
  const references = [...new Set(rows.flatMap((r) => Object.keys(r.paired ?? {})))]
  return references.flatMap((reference) => {
    const compared = rows.filter((r) => r.paired?.[reference])
    const columns = metrics.filter((m) => compared.some((r) => r.paired![reference]![m]))
    return [
      "",
      `Against ${reference}, image by image (this row minus ${reference}: mean ± standard error, and on how many images this row is better):`,
      "",
      `| | ${columns.join(" | ")} |`,
      `|---|${columns.map(() => "---").join("|")}|`,
      ...compared.map((r) => `| ${r.name} | ${columns.map((m) => pairedCell(r.paired![reference]![m])).join(" | ")} |`),
    ]
  })
}

export const metricsMarkdown = (rows: ReadonlyArray<MetricRow>, metrics: ReadonlyArray<string>): string =>
  [
    `| | images | ${metrics.join(" | ")} |`,
    `|---|---|${metrics.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${r.name} | ${r.count} | ${metrics.map((m) => cell(r, m)).join(" | ")} |`),
    ...pairedMarkdown(rows, metrics),
  ].join("\n")

/** The metric node's report in `dir`: the table as Markdown, JSON and CSV, and each metric against the steps. */
export const writeMetricsReport = async (
  dir: string,
  table: string,
  rows: ReadonlyArray<MetricRow>,
  metrics: ReadonlyArray<string>,
  steps: ReadonlyArray<number>,
) => {
  await mkdir(dir, { recursive: true })
  await writeFile(join(dir, "metrics.md"), `${table}\n`)
  await writeFile(join(dir, "metrics.json"), JSON.stringify(rows, null, 2))
  const header = ["input", "image", ...metrics].join(",")
  const lines = rows.flatMap((r) =>
    (r.metrics[metrics[0]]?.values ?? []).map((_, k) => [r.name, k, ...metrics.map((m) => r.metrics[m]?.values[k] ?? "")].join(",")),
  )
  await writeFile(join(dir, "metrics.csv"), `${[header, ...lines].join("\n")}\n`)
  for (const perceptual of metrics.filter((m) => metrics.includes("psnr") && isPerceptualMetricName(m)))
    await writeFile(join(dir, `perception-distortion-${perceptual}.png`), await perceptionDistortionPng(rows, perceptual))
  const reconstructed = rows.filter((r) => r.name !== "measurement")
  if (new Set(steps).size > 1) {
    for (const m of metrics.filter((name) => reconstructed[0]?.metrics[name])) {
      const series = reconstructed.map((r, i) => ({
        name: r.name,
        points: [{ x: steps[i], y: r.metrics[m].mean, label: `${r.name}: ${r.metrics[m].mean.toPrecision(4)}` }],
      }))
      await writeFile(
        join(dir, `${m}-by-steps.png`),
        await linePlotPng({
          title: `${m} of each input against its number of steps`,
          x: "network evaluations",
          y: m,
          series,
          lines: false,
          yDomain: paddedRange(series.map((s) => s.points[0].y)),
        }),
      )
    }
  }
}

/** Each row at its mean PSNR and perceptual distance, over a cloud of its images' own; infinite PSNRs are left out. */
export const perceptionDistortionPng = (rows: ReadonlyArray<MetricRow>, perceptual: string): Promise<Buffer> => {
  const series: Series[] = rows.flatMap((r) => {
    const [psnr, distance] = [r.metrics.psnr, r.metrics[perceptual]]
    if (!psnr || !distance || !Number.isFinite(psnr.mean)) return []
    const cloud = psnr.values.map((x, k) => ({ x, y: distance.values[k] })).filter((p) => Number.isFinite(p.x))
    return [{ name: r.name, points: [{ x: psnr.mean, y: distance.mean, label: r.name }], cloud }]
  })
  const all = series.flatMap((s) => [...s.points, ...(s.cloud ?? [])])
  return linePlotPng({
    title: "Perception against distortion (lower right is better)",
    x: "PSNR (dB, higher is better)",
    y: `${perceptual} (lower is better)`,
    series,
    lines: false,
    xDomain: paddedRange(
      all.map((p) => p.x),
      0.1,
    ),
    yDomain: paddedRange(
      all.map((p) => p.y),
      0.1,
    ),
  })
}

/**
 * The values' range widened by a fraction of it on each side, by default half (by 10% of the value when all are
 * equal), so labels fit.
 */
export const paddedRange = (values: ReadonlyArray<number>, fraction = 1 / 2): readonly [number, number] => {
  const lo = Math.min(...values)
  const hi = Math.max(...values)
  const pad = (hi - lo) * fraction || Math.abs(hi) / 10 || 1
  return [lo - pad, hi + pad]
}
