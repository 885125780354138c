/**
 * Which tensor backends a benchmark measures: `--backend LIST` (default {@link DEFAULT_BACKENDS}) or the BENCH_BACKENDS
 * variable, as `name[:threads]` items. Any name `initBackend` knows works (wasm, cpu, webgpu, tensorflow);
 * each configuration runs in its own child process, which gets its item in BENCH_BACKEND.
 */
import { isResolvable } from "../../src/runtime/backend/paths.js"
import type { BackendChoice } from "../../src/runtime/backend/choice.js"

export interface BenchBackend {
  readonly choice: BackendChoice
  readonly threads?: number
  /** The item as given, e.g. "wasm:2": also what a child process receives. */
  readonly spec: string
}

const CHOICES: readonly BackendChoice[] = ["auto", "tensorflow", "webgpu", "wasm", "cpu"]

/** wasm on one and two threads, and native TensorFlow where `npm run setup:native` has installed it. */
export const DEFAULT_BACKENDS = `${isResolvable("@tensorflow/tfjs-node") ? "tensorflow," : ""}wasm:1,wasm:2`

export const parseBackend = (spec: string): BenchBackend => {
  const [name, threads, ...rest] = spec.trim().split(":")
  if (!CHOICES.includes(name as BackendChoice) || rest.length > 0) {
    throw new Error(`--backend ${spec}: expected NAME[:THREADS] with NAME one of ${CHOICES.join(", ")}`)
  }
  if (threads === undefined) return { choice: name as BackendChoice, spec: name! }
  const n = Number(threads)
  if (!Number.isInteger(n) || n < 1) throw new Error(`--backend ${spec}: the thread count must be a positive integer`)
  return { choice: name as BackendChoice, threads: n, spec: `${name}:${n}` }
}

export const parseBackends = (text: string | undefined): BenchBackend[] =>
  (text ?? process.env.BENCH_BACKENDS ?? DEFAULT_BACKENDS)
    .split(",")
    .filter((s) => s.trim() !== "")
    .map(parseBackend)

/** The backend of a benchmark child process (BENCH_BACKEND, default wasm:1). */
export const childBackend = (): BenchBackend => parseBackend(process.env.BENCH_BACKEND ?? "wasm:1")
