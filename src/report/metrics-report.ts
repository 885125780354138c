import { mkdir, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { linePlotPng } from "./plot.js"

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
}

const format = (s: Summary) => `${s.mean.toPrecision(4)} ± ${s.std.toPrecision(2)}`

const cell = (r: MetricRow, m: string) =>
  r.metrics[m] ? format(r.metrics[m]) : r.sets[m] ? `FD ${r.sets[m].fd.toPrecision(4)}, KID ${r.sets[m].kid.toPrecision(3)}` : "–"

export const metricsMarkdown = (rows: ReadonlyArray<MetricRow>, metrics: ReadonlyArray<string>): string =>
  [
    `| | images | ${metrics.join(" | ")} |`,
    `|---|---|${metrics.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${r.name} | ${r.count} | ${metrics.map((m) => cell(r, m)).join(" | ")} |`),
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

/** The values' range widened by half of it on each side (by 10% of the value when all are equal), so labels fit. */
export const paddedRange = (values: ReadonlyArray<number>): readonly [number, number] => {
  const lo = Math.min(...values)
  const hi = Math.max(...values)
  const pad = (hi - lo) / 2 || Math.abs(hi) / 10 || 1
  return [lo - pad, hi + pad]
}
