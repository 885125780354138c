/**
 * What `cache gc` and the next run must leave alone. Each file names the process that holds it; one whose
 * process has died is stale (a killed run cannot clean up after itself).
 *
 * - `leases/RUN.json`: the keys a running pipeline reads or writes, which `cache gc` keeps.
 * - `tmp/PID-...`: what a process is writing; left over by a killed one, it is removed by the next run or gc.
 */
import { lstat, mkdir, readdir, readFile, rm } from "node:fs/promises"
import { join } from "node:path"
import { writeFileAtomically } from "./atomic-file.js"
import { isAlive } from "./key-lock.js"

const listDir = (path: string) => readdir(path).catch(() => [] as string[])

interface Lease {
  readonly pid: number
  readonly keys: ReadonlyArray<string>
}

const leasePath = (root: string, runId: string) => join(root, "leases", `${runId}.json`)

/** Records (or updates) the keys a run uses, for as long as its process lives. */
export const writeLease = async (root: string, runId: string, keys: Iterable<string>): Promise<void> => {
  await mkdir(join(root, "leases"), { recursive: true })
  await writeFileAtomically(leasePath(root, runId), JSON.stringify({ pid: process.pid, keys: [...new Set(keys)] } satisfies Lease))
}

export const removeLease = (root: string, runId: string): Promise<void> => rm(leasePath(root, runId), { force: true })

/** The keys that live runs use; the leases of dead processes are removed. */
export const leasedKeys = async (root: string): Promise<Set<string>> => {
  const keys = new Set<string>()
  for (const file of await listDir(join(root, "leases"))) {
    if (!file.endsWith(".json")) continue
    const lease = await readFile(join(root, "leases", file), "utf8").then(
      (text) => JSON.parse(text) as Lease,
      () => undefined,
    )
    if (lease && isAlive(lease.pid)) lease.keys.forEach((k) => keys.add(k))
    else if (lease) await rm(join(root, "leases", file), { force: true })
  }
  return keys
}

/** Prefix of a process's files in `tmp/`. */
export const tmpPrefix = (): string => `${process.pid}-`

/** Entries of older versions, which named no process, count as orphans once they are a day old. */
const LEGACY_ORPHAN_MS = 24 * 3600 * 1000

const sizeOfTree = async (path: string): Promise<number> => {
  const info = await lstat(path).catch(() => undefined)
  if (!info) return 0
  if (!info.isDirectory()) return info.size
  let total = 0
  for (const name of await listDir(path)) total += await sizeOfTree(join(path, name))
  return total
}

/** Removes what dead processes left in `tmp/` (a kill during a write); returns the bytes freed. */
export const removeOrphans = async (root: string, dryRun = false): Promise<number> => {
  const tmp = join(root, "tmp")
  let freed = 0
  for (const name of await listDir(tmp)) {
    const owner = /^(\d+)-/.exec(name)?.[1]
    const path = join(tmp, name)
    if (
      owner !== undefined
        ? isAlive(Number(owner))
        : Date.now() - ((await lstat(path).catch(() => undefined))?.mtimeMs ?? 0) < LEGACY_ORPHAN_MS
    )
      continue
    freed += await sizeOfTree(path)
    if (!dryRun) await rm(path, { recursive: true, force: true })
  }
  return freed
}
