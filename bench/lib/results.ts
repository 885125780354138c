/** Writing results files, and whether the PyTorch references can run here. */
import { spawnSync } from "node:child_process"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { dirname } from "node:path"

/** Everything below this line of a results file is hand-written and kept when the file is rewritten. */
export const NOTES_MARKER = "<!-- notes -->"

/** Writes `lines` to `file`, keeping the notes section of the file it replaces. */
export const writeMarkdown = (file: string, lines: readonly string[]): void => {
  let notes = `${NOTES_MARKER}\n`
  try {
    const old = readFileSync(file, "utf8")
    const at = old.indexOf(NOTES_MARKER)
    if (at >= 0) notes = old.slice(at)
  } catch {
    // a new file
  }
  mkdirSync(dirname(file), { recursive: true })
  const text = [...lines, "", notes].join("\n")
  writeFileSync(file, text.endsWith("\n") ? text : `${text}\n`)
}

export const python = process.env.PYTHON ?? "python3"

/** Null when `python3 -c "import torch"` works (and TORCH is not "skip"), else why the PyTorch parts are left out. */
export const torchProblem = (): string | null => {
  if (process.env.TORCH === "skip") return "TORCH=skip"
  const r = spawnSync(python, ["-c", "import torch"], { encoding: "utf8" })
  if (r.error !== undefined) return `${python} cannot be run (${r.error.message})`
  if (r.status !== 0) return `'${python} -c "import torch"' fails (install a CPU build: ${python} -m pip install torch)`
  return null
}

/** Runs a Python script and parses the last line of its stdout as JSON. */
export const runPython = <R>(args: readonly string[], label: string): R => {
  const r = spawnSync(python, args, { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 64 * 1024 * 1024 })
  if (r.status !== 0) throw new Error(`${label} failed: ${r.status ?? r.signal}`)
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as R
}

/** One line of the summary in bench/results/README.md. */
export interface Headline {
  readonly figure: string
  readonly configuration: string
  readonly value: string
  /** "n/a" when there is no PyTorch counterpart or it did not run. */
  readonly vsPyTorch: string
  /** Peak resident memory of the process that measured it. */
  readonly peakRssMiB?: number
}

/** What a benchmark hands bench/run-all.ts: the file it wrote and its lines of the summary. */
export interface BenchReport {
  readonly name: string
  readonly file: string
  readonly headlines: readonly Headline[]
  /** Said under the summary table, e.g. why PyTorch did not run. */
  readonly remarks: readonly string[]
}

/** How many times slower than the reference: "4.2x" (or "n/a"). */
export const slower = (seconds: number, reference: number | undefined): string =>
  reference === undefined || !(reference > 0) ? "n/a" : `${(seconds / reference).toFixed(1)}x`
