/**
 * The lock of a node being computed, `locks/KEY.lock`, holding the pid of its process: another run on the same
 * cache waits for it instead of computing the node too. A lock whose process has died is taken over.
 */
import { randomUUID } from "node:crypto"
import { lstat, mkdir, readFile, rm, writeFile } from "node:fs/promises"
import { join } from "node:path"

export const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

export type KeyLock =
  { readonly acquired: true; readonly release: () => Promise<void> } | { readonly acquired: false; readonly pid: number }

const EMPTY_LOCK_MS = 10_000

/** Tells this process's locks from those of an earlier process that had the same pid. */
const THIS_PROCESS = randomUUID()

const lockPath = (root: string, key: string) => join(root, "locks", `${key}.lock`)

/** One attempt at the lock of a key; a lock whose process has died is taken over. */
export const tryLockKey = async (root: string, key: string): Promise<KeyLock> => {
  const path = lockPath(root, key)
  await mkdir(join(root, "locks"), { recursive: true })
  for (;;) {
    try {
      await writeFile(path, `${process.pid} ${THIS_PROCESS}`, { flag: "wx" })
      return { acquired: true, release: () => rm(path, { force: true }) }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e
    }
    const [holder = "", token] = (await readFile(path, "utf8").catch(() => "")).split(" ")
    const pid = Number(holder)
    // Two nodes of one run with equal keys both compute, as they always have; only other processes wait. Our
    // pid with another token is an earlier process that had our pid, so it is dead.
    if (pid === process.pid && token === THIS_PROCESS) return { acquired: true, release: async () => {} }
    if (pid > 0 && pid !== process.pid && isAlive(pid)) return { acquired: false, pid }
    // No pid yet: a lock being written this instant, unless it has stayed empty (its writer died).
    const age = Date.now() - ((await lstat(path).catch(() => undefined))?.mtimeMs ?? 0)
    if (!(pid > 0) && age < EMPTY_LOCK_MS) return { acquired: false, pid: 0 }
    await rm(path, { force: true })
  }
}
