/** bench/results/README.md: the headline figures of the latest run of every benchmark, with the machine. */
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { basename, join } from "node:path"
import { markdownTable } from "./harness.js"
import { machineLines, type Machine } from "./machine.js"
import type { BenchOptions } from "./options.js"
import { writeMarkdown, type BenchReport } from "./results.js"

interface Stored {
  readonly report: BenchReport
  readonly date: string
  readonly machine: string
  readonly quick: boolean
}

const machineName = (m: Machine) => `${m.cpu}, ${m.cores} cores, ${m.memoryGiB.toFixed(0)} GiB`

export const SUMMARY_HEADER = ["figure", "configuration", "value", "vs PyTorch", "peak RSS MiB"] as const

/** Merges this run's reports into summary.json and rewrites README.md (keeping its notes); returns its path. */
export const writeSummary = (options: BenchOptions, reports: readonly BenchReport[], torch: string | null): string => {
  const store = join(options.outDir, "summary.json")
  const all: Record<string, Stored> = existsSync(store) ? (JSON.parse(readFileSync(store, "utf8")) as Record<string, Stored>) : {}
  for (const report of reports)
    all[report.name] = {
      report: { ...report, file: basename(report.file) },
      date: options.machine.date,
      machine: machineName(options.machine),
      quick: options.quick,
    }
  writeFileSync(store, `${JSON.stringify(all, null, 1)}\n`)

  const stored = Object.values(all)
  const older = stored.filter((s) => s.date !== options.machine.date || s.machine !== machineName(options.machine))
  const file = join(options.outDir, "README.md")
  writeMarkdown(file, [
    "# Benchmarks",
    "",
    `Written by \`npm run bench\` (bench/run-all.ts)${options.quick ? ", in --quick mode: smoke sizes, the numbers mean little" : ""}. ` +
      "Each benchmark has its own file with what it measures and every configuration; this page has the headline figures.",
    "",
    "Machine of the latest run:",
    "",
    ...machineLines(options.machine, [
      `tensor backends: ${options.backends.map((b) => b.spec).join(", ")} (\`--backend\`)`,
      `PyTorch: ${torch === null ? "available; measured in the same run as the figures it is compared with" : `not run (${torch})`}`,
    ]),
    "",
    ...markdownTable(
      SUMMARY_HEADER,
      stored.flatMap((s) =>
        s.report.headlines.map((h) => [
          h.figure,
          h.configuration,
          h.value,
          h.vsPyTorch,
          h.peakRssMiB === undefined ? "-" : h.peakRssMiB.toFixed(0),
        ]),
      ),
    ),
    "",
    '"vs PyTorch": time over the time of the PyTorch reference with the same number of threads, both measured in the same run (4.0x: 4 times slower; below 1: faster); "peak RSS" is the maximum resident memory of the process that measured the figure (one Python process measures all PyTorch rows). ' +
      "Throughputs: training images per second (one Trainer.trainStep), network evaluations per image per second along the real sampler (NFE/s).",
    "",
    ...markdownTable(
      ["benchmark", "details", "measured"],
      stored.map((s) => [
        s.report.name,
        `[${s.report.file}](${s.report.file})`,
        `${s.date}${s.quick ? " (--quick)" : ""}${older.includes(s) ? `, on ${s.machine}` : ""}`,
      ]),
    ),
    "",
    ...stored.flatMap((s) => s.report.remarks).map((r) => `- ${r}`),
  ])
  return file
}
