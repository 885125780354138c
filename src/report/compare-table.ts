import type { MetricRow } from "./metrics-report.js"
import type { LinePlot } from "./plot.js"

/** A run as compared: its overridden values and its metric means by column (`row.metric`, `node/row.metric` for several nodes). */
export interface ComparedRun {
  readonly id: string
  readonly status: string
  readonly params: Readonly<Record<string, string>>
  readonly metrics: Readonly<Record<string, number | null>>
}

export interface Comparison {
  /** The paths whose values differ between the runs (all of them for a single run). */
  readonly params: ReadonlyArray<string>
  readonly metrics: ReadonlyArray<string>
  readonly runs: ReadonlyArray<ComparedRun>
}

/** The metric node tables of one run (each node's metrics.json) as means by column; set metrics give FD and KID. */
export const metricMeans = (tables: ReadonlyArray<{ readonly node: string; readonly rows: ReadonlyArray<MetricRow> }>) => {
  const prefix = (node: string) => (tables.length > 1 ? `${node}/` : "")
  return Object.fromEntries(
    tables.flatMap(({ node, rows }) =>
      rows.flatMap((row) => [
        ...Object.entries(row.metrics).map(([m, s]) => [`${prefix(node)}${row.name}.${m}`, s.mean] as const),
        ...Object.entries(row.sets).flatMap(([m, s]) => [
          [`${prefix(node)}${row.name}.${m}.fd`, s.fd] as const,
          [`${prefix(node)}${row.name}.${m}.kid`, s.kid] as const,
        ]),
      ]),
    ),
  )
}

/** The table of `runs`: the paths whose values differ, and every metric column any of them has. */
export const compareRuns = (runs: ReadonlyArray<ComparedRun>): Comparison => {
  const paths = [...new Set(runs.flatMap((r) => Object.keys(r.params)))]
  const differing = runs.length === 1 ? paths : paths.filter((p) => new Set(runs.map((r) => r.params[p])).size > 1)
  return { params: differing, metrics: [...new Set(runs.flatMap((r) => Object.keys(r.metrics)))], runs }
}

const shownNumber = (x: number | null | undefined) => (x === undefined ? "-" : x === null ? "inf" : Number(x.toPrecision(4)).toString())

const cells = (c: Comparison): string[][] => [
  ["run", "status", ...c.params, ...c.metrics],
  ...c.runs.map((r) => [r.id, r.status, ...c.params.map((p) => r.params[p] ?? "-"), ...c.metrics.map((m) => shownNumber(r.metrics[m]))]),
]

/** Rows of cells as text columns two spaces apart, each as wide as its widest cell. */
export const alignedColumns = (rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n")
}

export const comparisonText = (c: Comparison): string => alignedColumns(cells(c))

export const comparisonMarkdown = (c: Comparison): string => {
  const [head, ...body] = cells(c)
  const line = (r: string[]) => `| ${r.join(" | ")} |`
  return [line(head), `|${head.map(() => "---").join("|")}|`, ...body.map(line)].join("\n")
}

const csvField = (text: string) => (/[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text)

/** Full precision, empty where a run has no value. */
export const comparisonCsv = (c: Comparison): string =>
  [
    ["run", "status", ...c.params, ...c.metrics],
    ...c.runs.map((r) => [
      r.id,
      r.status,
      ...c.params.map((p) => r.params[p] ?? ""),
      ...c.metrics.map((m) => (r.metrics[m] === undefined ? "" : r.metrics[m] === null ? "inf" : String(r.metrics[m]))),
    ]),
  ]
    .map((r) => r.map(csvField).join(","))
    .join("\n")

/**
 * The plot of the metric columns named `metric` (the column itself, or every `ROW.metric`) against the path `by`,
 * one series per column and per combination of the other differing values; a string says what is wrong.
 */
export const comparisonPlot = (c: Comparison, metric: string, by: string): LinePlot | string => {
  const columns = c.metrics.includes(metric) ? [metric] : c.metrics.filter((m) => m.endsWith(`.${metric}`))
  if (columns.length === 0) return `no metric '${metric}' in these runs; they have ${c.metrics.join(", ") || "none"}`
  if (!c.params.includes(by)) return `'${by}' does not differ between these runs; they differ in ${c.params.join(", ") || "nothing"}`
  const notNumber = c.runs.find((r) => !Number.isFinite(Number(r.params[by])))
  if (notNumber) return `--by ${by}: run ${notNumber.id} has the value '${notNumber.params[by] ?? "-"}', not a number`
  const others = c.params.filter((p) => p !== by)
  const series = new Map<string, Array<{ x: number; y: number }>>()
  for (const column of columns) {
    for (const run of c.runs) {
      const y = run.metrics[column]
      if (typeof y !== "number") continue
      const name = [column, ...others.map((p) => `${p}=${run.params[p] ?? "-"}`)].join(", ")
      series.set(name, [...(series.get(name) ?? []), { x: Number(run.params[by]), y }])
    }
  }
  if (series.size === 0) return `no run has a value of ${columns.join(", ")}`
  return {
    title: `${metric} against ${by}`,
    x: by,
    y: metric,
    marks: true,
    legendColumns: 1,
    series: [...series].map(([name, points]) => ({ name, points: points.sort((a, b) => a.x - b.x) })),
  }
}
