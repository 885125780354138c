/**
 * Shared pieces of the benchmarks (bench/network.ts, bench/train.ts, ...):
 * warm-up + median timing, one child process per wasm thread count, kernel
 * profiles, plain-text and markdown tables, the CPU model. Nothing here
 * initialises a backend.
 */
import { spawnSync } from "node:child_process"
import type * as TF from "@tensorflow/tfjs-core"

export interface Timing {
  /** Median wall time. */
  readonly seconds: number
  /** Fastest run: the best estimate of the uncontended time on a shared machine. */
  readonly min: number
  /** Process CPU time over wall time of the timed runs (about the number of busy threads). */
  readonly cpuPerWall: number
  /** Every timed run, in order (seconds). */
  readonly runs: readonly number[]
}

export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

export interface TimedOptions {
  /** Untimed runs first (default 2). */
  readonly warmup: number
  /** Timed runs (default 5). */
  readonly reps: number
}

/** `warmup` untimed runs of `f`, then `reps` timed ones: median, min and CPU/wall. */
export const timed = async (f: () => Promise<void>, { warmup, reps }: TimedOptions): Promise<Timing> => {
  for (let i = 0; i < warmup; i++) await f()
  const runs: number[] = []
  const cpu0 = process.cpuUsage()
  const wall0 = performance.now()
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now()
    await f()
    runs.push((performance.now() - t0) / 1000)
  }
  const cpu = process.cpuUsage(cpu0)
  return { seconds: median(runs), min: Math.min(...runs), cpuPerWall: (cpu.user + cpu.system) / 1000 / (performance.now() - wall0), runs }
}

export const formatTiming = (t: Timing): string => `${t.seconds.toFixed(3)} s (min ${t.min.toFixed(3)}, cpu ${t.cpuPerWall.toFixed(2)}x)`

export interface KernelTime {
  readonly kernel: string
  readonly ms: number
  readonly calls: number
}

export interface KernelProfile {
  /** Kernel time per kernel name, largest first. */
  readonly kernels: readonly KernelTime[]
  /** Sum of all kernel times. */
  readonly kernelSeconds: number
  /** Wall time of the profiled call (includes the profiler's own overhead: it reads back every output). */
  readonly wallSeconds: number
}

/** `tf.profile` of one call, aggregated per kernel name. */
export const profileKernels = async (tf: typeof TF, f: () => Promise<unknown> | unknown): Promise<KernelProfile> => {
  const t0 = performance.now()
  const p = await tf.profile(async () => {
    const r = await f()
    return r instanceof tf.Tensor ? r : []
  })
  const wallSeconds = (performance.now() - t0) / 1000
  tf.dispose(p.result)
  const agg = new Map<string, { ms: number; calls: number }>()
  for (const k of p.kernels) {
    if (k.name === "unnamed scope") continue // custom-gradient wrappers (their kernels are listed themselves)
    const a = agg.get(k.name) ?? { ms: 0, calls: 0 }
    a.ms += Number(k.kernelTimeMs)
    a.calls++
    agg.set(k.name, a)
  }
  const kernels = [...agg.entries()].map(([kernel, a]) => ({ kernel, ...a })).sort((a, b) => b.ms - a.ms)
  return { kernels, kernelSeconds: kernels.reduce((s, k) => s + k.ms, 0) / 1000, wallSeconds }
}

export const formatProfile = (title: string, p: KernelProfile, top = 15): string[] => {
  const total = p.kernelSeconds * 1000
  return [
    `${title}: ${p.kernelSeconds.toFixed(3)} s in kernels (${p.wallSeconds.toFixed(3)} s wall while profiling)`,
    ...p.kernels
      .slice(0, top)
      .map(
        (k) =>
          `  ${k.kernel.padEnd(26)} ${(k.ms / 1000).toFixed(3)} s  ${((100 * k.ms) / total).toFixed(1).padStart(5)}%  ${k.calls} calls`,
      ),
  ]
}

/**
 * Runs `script` (TypeScript, through tsx) in its own Node process with `env` added, and parses the last line of
 * its stdout as JSON. Its stderr passes through.
 */
export const runChild = <R>(script: string, env: NodeJS.ProcessEnv, label: string): R => {
  const r = spawnSync(process.execPath, ["--import", "tsx", script], {
    env: { ...process.env, ...env },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 64 * 1024 * 1024,
  })
  if (r.status !== 0) throw new Error(`benchmark child (${label}) failed: ${r.status ?? r.signal}`)
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as R
}

/**
 * Runs `script` once per thread count, each in its own Node process (the wasm
 * build and its thread pool are fixed per process), with `envName` set to the
 * thread count, and parses the last stdout line of each as JSON.
 */
export const runPerThreadCount = <R>(
  script: string,
  envName: string,
  threadCounts: readonly number[],
  extraEnv: NodeJS.ProcessEnv = {},
): R[] => threadCounts.map((threads) => runChild<R>(script, { ...extraEnv, [envName]: String(threads) }, `threads=${threads}`))

/** Left-aligned columns separated by " | ", with a rule under the header. */
export const formatTable = (header: readonly string[], lines: ReadonlyArray<readonly string[]>): string[] => {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)))
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")
  return [line(header), widths.map((w) => "-".repeat(w)).join("-|-"), ...lines.map(line)]
}

/** A GitHub-style markdown table. */
export const markdownTable = (header: readonly string[], lines: ReadonlyArray<readonly string[]>): string[] => [
  `| ${header.join(" | ")} |`,
  `|${header.map(() => "---").join("|")}|`,
  ...lines.map((l) => `| ${l.join(" | ")} |`),
]
