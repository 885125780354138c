/**
 * The quickstart end to end through the real CLI, and what a fully cached re-run of it costs.
 *
 *   npm run bench -- --only quickstart [--quick] [--backend wasm:1,wasm:2]
 *
 * Per backend, in a fresh temporary cache: `node bin/pipe.js run pipelines/quickstart-blur.yaml --json
 * --cache-dir DIR --backend NAME [--threads N]`, timed from spawn to exit, then the same command again (every
 * node cached). For each child: wall time, the run's own time (run-finished's durationMs: planning to the end,
 * without Node start-up and imports), whether the tensor backend started (a backend-ready event), and peak RSS
 * (bench/lib/rusage-preload.cjs). `pipe validate` of the same file gives the CLI's start-up cost on its own.
 * BENCH_QUICKSTART_KEEP=DIR keeps each backend's cache (and the run's report) in DIR/cache-BACKEND.
 * --quick shortens the pipeline with --set (2 training steps, 16 training and 2 test images, dt 0.5). Needs
 * `npm run build` (bin/pipe.js runs dist/). No PyTorch counterpart.
 */
import { spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { BenchBackend } from "./lib/backends.js"
import { formatTable, markdownTable } from "./lib/harness.js"
import { machineLines } from "./lib/machine.js"
import { benchDir, repoRoot, type BenchOptions } from "./lib/options.js"
import { writeMarkdown, type BenchReport } from "./lib/results.js"

const PIPELINE = join(repoRoot, "pipelines", "quickstart-blur.yaml")
const QUICK_SETS = ["params.steps=2", "params.train_images=16", "params.test_images=2", "params.dt=0.5"]

interface ChildRun {
  readonly wallSeconds: number
  readonly maxRssMiB: number
  readonly cpuSeconds: number
  readonly events: ReadonlyArray<Record<string, unknown>>
}

/** `pipe ARGS` in its own process: wall time, peak RSS and CPU time (from the preload), its NDJSON events. */
const pipe = (args: readonly string[], scratch: string): ChildRun => {
  const rusage = join(scratch, `rusage-${Date.now()}.json`)
  const env: NodeJS.ProcessEnv = { ...process.env, BENCH_RUSAGE_FILE: rusage, CI: "true" }
  delete env.PIPE_PLUGINS
  delete env.PIPE_CACHE_DIR
  const t0 = performance.now()
  const r = spawnSync(
    process.execPath,
    ["--require", join(benchDir, "lib", "rusage-preload.cjs"), join(repoRoot, "bin", "pipe.js"), ...args],
    {
      cwd: repoRoot,
      env,
      encoding: "utf8",
      maxBuffer: 256 * 1024 * 1024,
    },
  )
  const wallSeconds = (performance.now() - t0) / 1000
  if (r.status !== 0) throw new Error(`pipe ${args.join(" ")} exited with ${r.status ?? r.signal}:\n${r.stderr.slice(-2000)}`)
  const usage = JSON.parse(readFileSync(rusage, "utf8")) as NodeJS.ResourceUsage
  const events = r.stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
  return { wallSeconds, maxRssMiB: usage.maxRSS / 1024, cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6, events }
}

interface PipelineRun extends ChildRun {
  readonly runSeconds: number
  readonly counts: { ran: number; cached: number }
  /** How long the backend took to start, or undefined when it did not start. */
  readonly backendInitSeconds?: number
  readonly device?: string
}

const runOnce = (backend: BenchBackend, cache: string, scratch: string, quick: boolean): PipelineRun => {
  const args = [
    "run",
    PIPELINE,
    "--json",
    "--cache-dir",
    cache,
    "--backend",
    backend.choice,
    ...(backend.threads !== undefined ? ["--threads", String(backend.threads)] : []),
  ]
  for (const set of quick ? QUICK_SETS : []) args.push("--set", set)
  const child = pipe(args, scratch)
  const finished = child.events.find((e) => e.type === "run-finished") as
    { status: string; durationMs: number; counts: { ran: number; cached: number } } | undefined
  if (finished?.status !== "succeeded") throw new Error(`the quickstart did not succeed on ${backend.spec}: ${JSON.stringify(finished)}`)
  const ready = child.events.find((e) => e.type === "backend-ready") as { initMs: number; backend: { device: string } } | undefined
  return {
    ...child,
    runSeconds: finished.durationMs / 1000,
    counts: finished.counts,
    ...(ready !== undefined ? { backendInitSeconds: ready.initMs / 1000, device: ready.backend.device } : {}),
  }
}

export const runQuickstartBench = (options: BenchOptions): BenchReport => {
  if (!existsSync(join(repoRoot, "dist", "cli", "main.js")))
    throw new Error("bin/pipe.js needs the compiled CLI: run `npm run build` first")
  const scratch = mkdtempSync(join(tmpdir(), "bench-quickstart-"))
  try {
    const startup = pipe(["validate", PIPELINE, ...(options.quick ? QUICK_SETS.flatMap((s) => ["--set", s]) : [])], scratch)
    const runs = options.backends.map((backend) => {
      const cache = join(process.env.BENCH_QUICKSTART_KEEP ?? scratch, `cache-${backend.spec.replace(":", "-")}`)
      const first = runOnce(backend, cache, scratch, options.quick)
      const again = runOnce(backend, cache, scratch, options.quick)
      if (again.counts.ran !== 0) throw new Error(`the re-run on ${backend.spec} ran ${again.counts.ran} nodes instead of none`)
      return { backend, first, again }
    })
    const header = ["backend", "run", "wall s", "run's own s", "backend start s", "CPU s", "peak RSS MiB", "nodes ran / cached"]
    const row = (label: string, run: string, r: PipelineRun) => [
      label,
      run,
      r.wallSeconds.toFixed(2),
      r.runSeconds.toFixed(2),
      r.backendInitSeconds === undefined ? "not started" : r.backendInitSeconds.toFixed(2),
      r.cpuSeconds.toFixed(2),
      r.maxRssMiB.toFixed(0),
      `${r.counts.ran} / ${r.counts.cached}`,
    ]
    const lines = [
      ...runs.flatMap(({ backend, first, again }) => [
        row(first.device ?? backend.spec, "first", first),
        row(first.device ?? backend.spec, "cached re-run", again),
      ]),
      [
        "(no backend)",
        "`pipe validate`: start-up only",
        startup.wallSeconds.toFixed(2),
        "-",
        "not started",
        startup.cpuSeconds.toFixed(2),
        startup.maxRssMiB.toFixed(0),
        "-",
      ],
    ]
    const setup =
      `\`node bin/pipe.js run pipelines/quickstart-blur.yaml --json\`${options.quick ? ` with ${QUICK_SETS.map((s) => `--set ${s}`).join(" ")}` : ""} in a fresh cache, then again (everything cached). ` +
      `"wall" is spawn to exit; "run's own" is the run-finished event's duration (planning to the end, without Node start-up and module loading); ` +
      `"backend start" is how long the tensor backend took to initialise (it starts only when a node has to run); CPU and peak RSS are the child's own. No PyTorch counterpart.`
    for (const l of [setup, "", ...formatTable(header, lines)]) console.log(l)
    const file = join(options.outDir, "quickstart.md")
    writeMarkdown(file, [
      "# The quickstart end to end, and a fully cached re-run",
      "",
      "Written by `npm run bench` (bench/quickstart.ts).",
      "",
      setup,
      "",
      "Machine:",
      "",
      ...machineLines(options.machine),
      "",
      ...markdownTable(header, lines),
    ])
    return {
      name: "quickstart",
      file,
      remarks: [],
      headlines: runs.flatMap(({ backend, first, again }) => {
        const label = first.device ?? backend.spec
        return [
          {
            figure: `quickstart wall time${options.quick ? " (shortened)" : ""}`,
            configuration: label,
            value: `${first.wallSeconds.toFixed(1)} s`,
            vsPyTorch: "n/a",
            peakRssMiB: first.maxRssMiB,
          },
          {
            figure: "cached re-run: wall / the run's own",
            configuration: label,
            value: `${again.wallSeconds.toFixed(2)} s / ${again.runSeconds.toFixed(3)} s`,
            vsPyTorch: "n/a",
            peakRssMiB: again.maxRssMiB,
          },
        ]
      }),
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true })
  }
}
