/**
 * The benchmark suite: `npm run bench [-- --quick] [--only NAME] [--backend LIST] [--out DIR]`.
 *
 * Runs train (bench/train.ts), sample (bench/sample.ts), quickstart (bench/quickstart.ts: the whole pipeline,
 * a cached re-run and peak memory) and schedule (bench/schedule.ts); each writes its own markdown file under
 * the results folder, and this script writes the summary, README.md, from the summaries of the latest run of
 * each benchmark (summary.json keeps those of benchmarks left out with --only).
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { runQuickstartBench } from "./quickstart.js"
import { runSampleBench } from "./sample.js"
import { runScheduleBench } from "./schedule.js"
import { benchDir, parseBenchArgs, USAGE, type BenchOptions } from "./lib/options.js"
import { torchProblem, type BenchReport } from "./lib/results.js"
import { writeSummary } from "./lib/summary.js"

/** bench/train.ts in its own process (it is a script, configured by environment variables). */
const runTrainBench = (options: BenchOptions): BenchReport => {
  const scratch = mkdtempSync(join(tmpdir(), "bench-train-"))
  try {
    const summary = join(scratch, "train.json")
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      RESULTS: join(options.outDir, "train.md"),
      SUMMARY_JSON: summary,
      BENCH_BACKENDS: options.backends.map((b) => b.spec).join(","),
    }
    delete env.THREADS
    if (options.quick) Object.assign(env, { PRESET: "tiny-32", BATCH: "2", REPS: "2", WARMUP: "1" })
    const r = spawnSync(process.execPath, ["--import", "tsx", join(benchDir, "train.ts")], { env, stdio: "inherit" })
    if (r.status !== 0) throw new Error(`bench/train.ts failed: ${r.status ?? r.signal}`)
    return JSON.parse(readFileSync(summary, "utf8")) as BenchReport
  } finally {
    rmSync(scratch, { recursive: true, force: true })
  }
}

export const BENCHMARKS: ReadonlyArray<{ readonly name: string; readonly run: (options: BenchOptions) => BenchReport }> = [
  { name: "train", run: runTrainBench },
  { name: "sample", run: runSampleBench },
  { name: "quickstart", run: runQuickstartBench },
  { name: "schedule", run: runScheduleBench },
]

const main = (): void => {
  if (process.argv.includes("--help")) {
    console.log(`npm run bench [-- OPTIONS]\n${USAGE}`)
    return
  }
  let options
  try {
    options = parseBenchArgs(
      process.argv.slice(2),
      BENCHMARKS.map((b) => b.name),
    )
  } catch (error) {
    console.error((error as Error).message)
    process.exit(2)
  }
  const selected = BENCHMARKS.filter((b) => options.only.length === 0 || options.only.includes(b.name))
  const torch = torchProblem()
  console.log(
    `benchmarks: ${selected.map((b) => b.name).join(", ")}; backends: ${options.backends.map((b) => b.spec).join(", ")}; PyTorch: ${torch ?? "yes"}${options.quick ? "; --quick (smoke sizes)" : ""}`,
  )
  const reports: BenchReport[] = []
  for (const bench of selected) {
    console.log(`\n== ${bench.name}`)
    const t0 = performance.now()
    reports.push(bench.run(options))
    console.log(`== ${bench.name}: ${((performance.now() - t0) / 1000).toFixed(1)} s`)
  }
  const file = writeSummary(options, reports, torch)
  console.log(`\nwrote ${file}`)
}

main()
