/** Command-line options shared by bench/run-all.ts and each benchmark run on its own. */
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { parseBackends, type BenchBackend } from "./backends.js"
import { describeMachine, type Machine } from "./machine.js"

export const benchDir = fileURLToPath(new URL("..", import.meta.url))
export const repoRoot = join(benchDir, "..")

export interface BenchOptions {
  /** Smoke sizes: seconds, not minutes; the numbers mean little. */
  readonly quick: boolean
  readonly backends: readonly BenchBackend[]
  /** Where the results files go. */
  readonly outDir: string
  readonly machine: Machine
}

export const USAGE = `options:
  --quick            smoke sizes (a test's; the numbers mean little); results go to bench/results/quick
  --only NAME        one benchmark (repeatable): train, sample, quickstart, schedule
  --backend LIST     tensor backends as NAME[:THREADS],... (default [tensorflow,]wasm:1,wasm:2; env BENCH_BACKENDS)
  --out DIR          results folder (default bench/results)
environment: TORCH=skip leaves PyTorch out; PYTHON names the interpreter (default python3)`

export interface ParsedBenchArgs extends BenchOptions {
  readonly only: readonly string[]
}

export const parseBenchArgs = (argv: readonly string[], names: readonly string[]): ParsedBenchArgs => {
  let quick = false
  let backends: string | undefined
  let out: string | undefined
  const only: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const value = () => {
      const v = argv[++i]
      if (v === undefined) throw new Error(`${arg} needs a value\n${USAGE}`)
      return v
    }
    if (arg === "--quick") quick = true
    else if (arg === "--backend") backends = value()
    else if (arg === "--out") out = value()
    else if (arg === "--only") {
      const name = value()
      if (!names.includes(name)) throw new Error(`--only ${name}: no such benchmark (${names.join(", ")})`)
      only.push(name)
    } else throw new Error(`unknown option ${arg}\n${USAGE}`)
  }
  return {
    quick,
    backends: parseBackends(backends),
    outDir: out ?? join(benchDir, "results", ...(quick ? ["quick"] : [])),
    machine: describeMachine(),
    only,
  }
}
