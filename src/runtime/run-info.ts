import { readFile } from "node:fs/promises"
import { join } from "node:path"
import { writeFileAtomically } from "./atomic-file.js"

/** A run's place in a sweep: which sweep, which of its variants, and the variant's values of the swept paths. */
export interface SweepMembership {
  readonly id: string
  readonly index: number
  readonly count: number
  readonly params: Readonly<Record<string, string>>
}

/** `runs/RUN/run.json`: what a run is, written when it starts. */
export interface RunInfo {
  readonly runId: string
  readonly pipeline: string
  readonly file: string
  readonly pid: number
  readonly startedAt: string
  /** The values the run overrode (`--set` and a sweep variant's), path -> value as written. */
  readonly settings?: Readonly<Record<string, string>>
  readonly sweep?: SweepMembership
}

export const runInfoPath = (runDir: string) => join(runDir, "run.json")

export const writeRunInfo = (runDir: string, info: RunInfo): Promise<void> =>
  writeFileAtomically(runInfoPath(runDir), JSON.stringify(info, null, 2))

/** The run's info; undefined when the file is missing or not a run's. */
export const readRunInfo = async (runDir: string): Promise<RunInfo | undefined> => {
  const parsed = await readFile(runInfoPath(runDir), "utf8").then(
    (text) => JSON.parse(text) as Partial<RunInfo>,
    () => undefined,
  )
  if (typeof parsed?.pipeline !== "string" || typeof parsed.pid !== "number" || typeof parsed.startedAt !== "string") return undefined
  return parsed as RunInfo
}
