import { mkdir, readFile, rename, rm } from "node:fs/promises"
import { join } from "node:path"
import { writeFileAtomically } from "./atomic-file.js"
import type { RunRecord } from "./planner.js"

/**
 * `records/NAME.json`, what the latest run of a pipeline computed. It is replaced by rename, so a full disk or a kill
 * never leaves it half-written; one damaged anyway is set aside as `*.damaged` with a warning, and the next run writes
 * a new one.
 */

export const recordPath = (root: string, pipeline: string) => join(root, "records", `${pipeline}.json`)

export interface LoadedRecord {
  readonly record?: RunRecord
  /** The file existed but was not a record; it has been set aside. */
  readonly damaged: boolean
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v)

const isNodeRecord = (v: unknown) =>
  isObject(v) &&
  typeof v.key === "string" &&
  isObject(v.material) &&
  typeof v.material.kind === "string" &&
  typeof v.material.version === "number" &&
  isObject(v.material.inputs) &&
  Object.values(v.material.inputs).every(Array.isArray)

const problemOf = (text: string): string | undefined => {
  if (text.length === 0) return "empty"
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (e) {
    return `not JSON: ${(e as Error).message}`
  }
  if (!isObject(parsed) || !isObject(parsed.nodes)) return "no nodes"
  const pending = parsed.pending
  if (pending !== undefined && !(Array.isArray(pending) && pending.every((p) => isObject(p) && typeof p.key === "string")))
    return "pending is not a list of nodes"
  const bad = Object.entries(parsed.nodes).find(([, node]) => !isNodeRecord(node))
  return bad ? `node '${bad[0]}' has no key and material` : undefined
}

const warn = (message: string) => process.stderr.write(`pipe: warning: ${message}\n`)

/** A file that cannot be read counts as no record, as before; one that reads but is damaged is set aside. */
export const loadRecordFile = async (path: string): Promise<LoadedRecord> => {
  const text = await readFile(path, "utf8").catch(() => undefined)
  if (text === undefined) return { damaged: false }
  const problem = problemOf(text)
  if (problem === undefined) return { record: JSON.parse(text) as RunRecord, damaged: false }
  await rename(path, `${path}.damaged`).catch(() => rm(path, { force: true }))
  warn(`${path} is damaged (${problem}): set aside as ${path}.damaged; the next run writes a new one`)
  return { damaged: true }
}

export const writeRecordFile = async (path: string, record: RunRecord): Promise<void> => {
  await mkdir(join(path, ".."), { recursive: true })
  await writeFileAtomically(path, JSON.stringify(record, null, 2))
}
