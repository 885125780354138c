/**
 * Sampling throughput: network evaluations per second (NFE/s) of the reverse process, tfjs vs PyTorch.
 *
 *   npx tsx bench/sample.ts [--quick] [--backend wasm:1,wasm:2] [--out DIR]
 *
 * tfjs: whole trajectories of the real sampler (`diracSample`, src/dirac/sample/sampler.ts, Algorithm 1 with the
 * network denoiser) on the quickstart's network preset (tiny-32) and image size, a batch of 4 (the sample node's
 * default batch_size), dt 0.05 (20 steps), the quickstart's blur process; one child process per backend
 * (bench/lib/sample-tfjs.ts). PyTorch: bench/reference/sample_bench.py, the same update on the same network
 * (bench/reference/songunet.py) with 1 and 2 threads. NFE/s = batch * steps / seconds per trajectory; "vs PyTorch"
 * is the NFE/s of PyTorch with as many threads over the row's, so 3.0x means 3 times slower. ONNX Runtime: the same
 * sampler with the network exported to ONNX on onnxruntime-node's CPU provider, ONNX_THREADS (default 1,2) threads.
 */
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { unetParameterCount } from "../src/dirac/network/index.js"
import { ortFingerprint } from "../src/dirac/onnx/runtime.js"
import type { BenchBackend } from "./lib/backends.js"
import { formatTable, markdownTable, runChild, type Timing } from "./lib/harness.js"
import { machineLines } from "./lib/machine.js"
import { benchDir, parseBenchArgs, type BenchOptions } from "./lib/options.js"
import { runPython, slower, torchProblem, writeMarkdown, type BenchReport } from "./lib/results.js"
import type { SampleConfig, TfjsSampleResult } from "./lib/sample-tfjs.js"

export interface SampleRow {
  readonly engine: string
  readonly configuration: string
  /** CPU threads, where the engine has a thread count: rows are compared with PyTorch at the same count. */
  readonly threads?: number
  readonly run: Timing
  readonly steps: number
  readonly nfePerSecond: number
  readonly maxRssMiB: number
  readonly load: readonly [number, number]
  /** A PyTorch row: what the "vs PyTorch" ratios compare with. */
  readonly reference?: boolean
  readonly remarks: readonly string[]
}

/**
 * A way of running the sampler. Each engine measures the same trajectories (config) and returns one row per
 * configuration it ran; `unavailable` says why it cannot run here (or null).
 */
export interface SamplingEngine {
  readonly name: string
  readonly unavailable: () => string | null
  readonly measure: (config: SampleConfig, backends: readonly BenchBackend[]) => SampleRow[]
}

/** A row from a bench/lib/sample-tfjs.ts child, which runs the sampler with the network on tfjs or ONNX Runtime. */
const childRow = (engine: string, configuration: string, r: TfjsSampleResult): SampleRow => {
  const expected = unetParameterCount(r.preset)
  if (r.params !== expected) throw new Error(`the network has ${r.params} parameters, ${r.preset} ${expected}`)
  return {
    engine,
    configuration,
    ...(r.threads !== undefined ? { threads: r.threads } : {}),
    run: r.run,
    steps: r.steps,
    nfePerSecond: r.nfePerSecond,
    maxRssMiB: r.maxRssMiB,
    load: r.load,
    remarks: [`first trajectory ${r.firstRunSeconds.toFixed(2)} s`, `tensor count stable: ${r.tensorsStable}`],
  }
}

const sampleChild = (env: Record<string, string>, label: string): TfjsSampleResult =>
  runChild<TfjsSampleResult>(join(benchDir, "lib", "sample-tfjs.ts"), env, label)

const tfjsEngine: SamplingEngine = {
  name: "tfjs",
  unavailable: () => null,
  measure: (config, backends) =>
    backends.map((backend) => {
      const r = sampleChild({ BENCH_BACKEND: backend.spec, SAMPLE_BENCH_CONFIG: JSON.stringify(config) }, backend.spec)
      return childRow("tfjs", `tfjs ${r.version}, ${r.device}`, r)
    }),
}

interface TorchSampleResult {
  readonly torch: string
  readonly params: number
  readonly maxRssMiB: number
  readonly runs: ReadonlyArray<{ threads: number; run: Timing; steps: number; nfePerSecond: number; load: [number, number] }>
}

const TORCH_THREADS = process.env.TORCH_THREADS ?? "1,2"

const pytorchEngine: SamplingEngine = {
  name: "PyTorch",
  unavailable: torchProblem,
  measure: (config) => {
    const args = [
      join(benchDir, "reference", "sample_bench.py"),
      "--json",
      "--preset",
      config.preset,
      "--batch",
      String(config.batch),
      "--dt",
      String(config.dt),
    ]
    args.push(
      "--std-min",
      String(config.stdMin),
      "--std-max",
      String(config.stdMax),
      "--threads",
      TORCH_THREADS,
      "--warmup",
      String(config.warmup),
      "--reps",
      String(config.reps),
    )
    const r = runPython<TorchSampleResult>(args, "sample_bench.py")
    if (r.params !== unetParameterCount(config.preset))
      throw new Error(`the PyTorch SongUNet has ${r.params} parameters, ${config.preset} ${unetParameterCount(config.preset)}`)
    return r.runs.map((t) => ({
      engine: "PyTorch",
      configuration: `PyTorch ${r.torch}, ${t.threads} thread${t.threads === 1 ? "" : "s"}`,
      threads: t.threads,
      run: t.run,
      steps: t.steps,
      nfePerSecond: t.nfePerSecond,
      // One process measures every thread count: its peak is theirs together.
      maxRssMiB: r.maxRssMiB,
      load: t.load,
      reference: true,
      remarks: [],
    }))
  },
}

const ONNX_THREADS = process.env.ONNX_THREADS ?? "1,2"

/** The same sampler with the network exported to ONNX on onnxruntime-node's CPU provider (the sample node's engine auto on a CPU). */
const onnxEngine: SamplingEngine = {
  name: "ONNX Runtime",
  unavailable: () => (ortFingerprint() === null ? "onnxruntime-node is not installed" : null),
  measure: (config) =>
    ONNX_THREADS.split(",").map((threads) => {
      const r = sampleChild(
        { BENCH_BACKEND: "wasm:1", SAMPLE_BENCH_CONFIG: JSON.stringify(config), SAMPLE_BENCH_ONNX_THREADS: threads },
        `onnxruntime:${threads}`,
      )
      return childRow("ONNX Runtime", `${ortFingerprint()}, ${r.device}`, r)
    }),
}

/** Every sampling engine, in table order. */
export const ENGINES: readonly SamplingEngine[] = [tfjsEngine, onnxEngine, pytorchEngine]

export const sampleConfig = (quick: boolean): SampleConfig =>
  quick
    ? { preset: "tiny-32", batch: 2, dt: 0.25, stdMin: 0.3, stdMax: 1.5, warmup: 0, reps: 2 }
    : { preset: "tiny-32", batch: 4, dt: 0.05, stdMin: 0.3, stdMax: 1.5, warmup: 1, reps: 5 }

export const SAMPLE_HEADER = [
  "configuration",
  "s per trajectory",
  "ms per step",
  "NFE/s",
  "vs PyTorch",
  "cpu/wall",
  "peak RSS MiB",
  "load avg",
] as const

export const runSampleBench = (
  options: BenchOptions,
  engines: readonly SamplingEngine[] = ENGINES,
): BenchReport & { rows: SampleRow[] } => {
  const config = sampleConfig(options.quick)
  const rows: SampleRow[] = []
  const skipped: string[] = []
  for (const engine of engines) {
    const problem = engine.unavailable()
    if (problem !== null) {
      skipped.push(`${engine.name}: not run (${problem})`)
      continue
    }
    rows.push(...engine.measure(config, options.backends))
  }
  const vsPyTorch = (row: SampleRow): string => {
    const torch = rows.filter((r) => r.reference).sort((a, b) => (b.threads ?? 0) - (a.threads ?? 0))
    const ref = torch.find((r) => r.threads === row.threads) ?? torch[0]
    return ref === undefined ? "n/a" : slower(ref.nfePerSecond, row.nfePerSecond)
  }
  const lines = rows.map((r) => [
    r.configuration,
    `${r.run.seconds.toFixed(3)} (min ${r.run.min.toFixed(3)})`,
    ((1000 * r.run.seconds) / r.steps).toFixed(1),
    r.nfePerSecond.toFixed(1),
    vsPyTorch(r),
    r.run.cpuPerWall.toFixed(2),
    r.maxRssMiB.toFixed(0),
    `${r.load[0].toFixed(1)} -> ${r.load[1].toFixed(1)}`,
  ])
  const setup =
    `SongUNet '${config.preset}' (${unetParameterCount(config.preset).toLocaleString("en-US")} parameters), batch ${config.batch}, dt ${config.dt} (${rows[0]?.steps ?? "?"} steps from t = 1 to 0), ` +
    `blur std ${config.stdMin} -> ${config.stdMax}, noise 0.01 -> 0.05, no guidance, look-ahead rule. Each figure: median (and min) of ${config.reps} trajectories after ${config.warmup} warm-up ones` +
    ` (plus one first trajectory, not counted). NFE/s = batch x steps / seconds; "vs PyTorch" = the NFE/s of PyTorch with the same number of threads (else its most threads) over the row's (3.0x: 3 times slower).`
  const remarks = [...rows.filter((r) => r.remarks.length > 0).map((r) => `${r.configuration}: ${r.remarks.join(", ")}`), ...skipped]
  for (const l of [setup, "", ...formatTable(SAMPLE_HEADER, lines), "", ...remarks]) console.log(l)
  const file = join(options.outDir, "sample.md")
  writeMarkdown(file, [
    "# Sampling throughput: network evaluations per second",
    "",
    "Written by `npm run bench` (bench/sample.ts; see its header comment for what is measured).",
    "",
    setup,
    "",
    "Machine:",
    "",
    ...machineLines(options.machine, [`backends: ${options.backends.map((b) => b.spec).join(", ")}`]),
    "",
    ...markdownTable(SAMPLE_HEADER, lines),
    "",
    ...remarks.map((r) => `- ${r}`),
  ])
  return {
    name: "sample",
    file,
    rows,
    remarks: skipped,
    headlines: rows.map((r) => ({
      figure: "sampling NFE/s",
      configuration: r.configuration,
      value: r.nfePerSecond.toFixed(1),
      vsPyTorch: vsPyTorch(r),
      peakRssMiB: r.maxRssMiB,
    })),
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) runSampleBench(parseBenchArgs(process.argv.slice(2), ["sample"]))
