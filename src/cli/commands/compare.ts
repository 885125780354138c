import { Effect } from "effect"
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises"
import { join, relative } from "node:path"
import {
  compareRuns,
  comparisonCsv,
  comparisonMarkdown,
  comparisonPlot,
  comparisonText,
  metricMeans,
  type ComparedRun,
} from "../../report/compare-table.js"
import type { MetricRow } from "../../report/metrics-report.js"
import { linePlotPng } from "../../report/plot.js"
import { flag, hasFlag, UsageError } from "../args.js"
import { cacheDir, commonFlags, exitCodes } from "../context.js"
import { listRuns, type RunSummary } from "../run-list.js"
import type { Command } from "./command.js"

/** The runs named by ids, id prefixes or sweep ids; by default the runs of the latest sweep. */
const chooseRuns = (root: string, all: ReadonlyArray<RunSummary>, wanted: ReadonlyArray<string>): RunSummary[] => {
  if (wanted.length === 0) {
    const latest = all.findLast((r) => r.sweep !== undefined)?.sweep?.id
    if (latest === undefined)
      throw new UsageError(`no sweep in ${root}; run one with 'pipe run FILE --sweep PATH=V1,V2', or name the runs to compare`)
    return all.filter((r) => r.sweep?.id === latest)
  }
  return wanted.flatMap((name) => {
    const sweep = all.filter((r) => r.sweep?.id === name)
    if (sweep.length > 0) return sweep
    const matches = all.filter((r) => r.id.startsWith(name))
    if (matches.length !== 1)
      throw new UsageError(
        matches.length === 0
          ? `no run or sweep '${name}' in ${root} (see pipe runs)`
          : `'${name}' matches ${matches.length} runs; give more of the id`,
      )
    return matches
  })
}

const isMetricTable = (value: unknown): value is MetricRow[] =>
  Array.isArray(value) && value.every((row) => typeof row?.name === "string" && typeof row?.metrics === "object")

/** The tables of the metric nodes of a run, as its report keeps them (`report/NODE/metrics.json`). */
const metricTables = async (runDir: string) => {
  const reportDir = join(runDir, "report")
  const nodes = (await readdir(reportDir).catch(() => [] as string[])).sort()
  const tables = await Promise.all(
    nodes.map(async (node) => {
      const rows = await readFile(join(reportDir, node, "metrics.json"), "utf8").then(
        (text) => JSON.parse(text) as unknown,
        () => undefined,
      )
      return isMetricTable(rows) ? [{ node, rows: rows.map((r) => ({ ...r, sets: r.sets ?? {} })) }] : []
    }),
  )
  return tables.flat()
}

const fileSafe = (text: string) => text.replace(/[^\w.-]+/g, "_")

export const compare: Command = {
  name: "compare",
  summary: "one table of runs: the values that differ between them and their metric means",
  usage: "pipe compare [RUN|SWEEP]... [--md | --csv | --json] [--plot METRIC --by PATH]",
  maxArguments: Number.POSITIVE_INFINITY,
  flags: [
    { name: "md", description: "a Markdown table" },
    { name: "csv", description: "CSV, full precision" },
    { name: "json", description: "one JSON object: the differing paths, the metric columns and the runs" },
    {
      name: "plot",
      value: "METRIC",
      description: "draw a metric column (or every ROW.METRIC, e.g. psnr) against --by; prints the PNG's path",
    },
    { name: "by", value: "PATH", description: "the swept path on the plot's x-axis, e.g. params.lr" },
    ...commonFlags,
  ],
  details:
    "RUN is a run id or its prefix, SWEEP a sweep id (see pipe runs); by default the runs of the latest sweep. Metric means come from the runs' metric nodes.",
  run: (args) =>
    Effect.gen(function* () {
      const root = cacheDir(args)
      const formats = ["md", "csv", "json"].filter((f) => hasFlag(args, f))
      if (formats.length > 1)
        return yield* Effect.fail(new UsageError(`give one of --md, --csv and --json, not ${formats.map((f) => `--${f}`).join(" and ")}`))
      const [metric, by] = [flag(args, "plot"), flag(args, "by")]
      if ((metric === undefined) !== (by === undefined))
        return yield* Effect.fail(new UsageError("--plot METRIC and --by PATH go together"))
      const runs = yield* Effect.tryPromise({
        try: async () => chooseRuns(root, await listRuns(root), args.positional),
        catch: (e) => e as UsageError,
      })
      const compared = yield* Effect.promise(() =>
        Promise.all(
          runs.map(async (r): Promise<ComparedRun> => ({
            id: r.id,
            status: r.status,
            params: r.settings ?? {},
            metrics: metricMeans(await metricTables(join(root, "runs", r.id))),
          })),
        ),
      )
      const comparison = compareRuns(compared)
      if (hasFlag(args, "json")) process.stdout.write(`${JSON.stringify(comparison)}\n`)
      else if (hasFlag(args, "csv")) process.stdout.write(`${comparisonCsv(comparison)}\n`)
      else if (hasFlag(args, "md")) process.stdout.write(`${comparisonMarkdown(comparison)}\n`)
      else process.stdout.write(`${comparisonText(comparison)}\n`)
      if (metric !== undefined && by !== undefined) {
        const plot = comparisonPlot(comparison, metric, by)
        if (typeof plot === "string") return yield* Effect.fail(new UsageError(plot))
        const sweeps = new Set(runs.map((r) => r.sweep?.id))
        const name = sweeps.size === 1 && runs[0].sweep ? runs[0].sweep.id : runs[0].id
        const path = join(root, "compare", `${fileSafe(name)}-${fileSafe(metric)}-by-${fileSafe(by)}.png`)
        yield* Effect.promise(async () => {
          await mkdir(join(root, "compare"), { recursive: true })
          await writeFile(path, await linePlotPng(plot))
        })
        // Beside a table for people; apart from JSON or CSV that a program reads.
        const out = hasFlag(args, "json") || hasFlag(args, "csv") ? process.stderr : process.stdout
        out.write(`plot: ${relative(process.cwd(), path)}\n`)
      }
      return exitCodes.ok
    }),
}
