import { spawn, spawnSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { tryLockKey } from "../../src/runtime/key-lock.js"

const cache = () => {
  const root = mkdtempSync(join(tmpdir(), "pipe-lock-"))
  mkdirSync(join(root, "locks"))
  return { root, lock: join(root, "locks", "k.lock") }
}

describe("the lock of a key", () => {
  it("is held by this process until released; a node of the same run with the same key is not kept waiting", async () => {
    const { root, lock } = cache()
    const first = await tryLockKey(root, "k")
    expect(first.acquired).toBe(true)
    expect(readFileSync(lock, "utf8")).toMatch(new RegExp(`^${process.pid} `))
    expect((await tryLockKey(root, "k")).acquired).toBe(true)
    if (first.acquired) await first.release()
    expect(existsSync(lock)).toBe(false)
  })

  it("held by another live process, it is not taken; left by a dead one, or by an earlier process with this pid, it is", async () => {
    const { root, lock } = cache()
    const other = spawn(process.execPath, ["-e", "setTimeout(() => {}, 30000)"])
    try {
      writeFileSync(lock, `${other.pid} token`)
      expect(await tryLockKey(root, "k")).toEqual({ acquired: false, pid: other.pid })
    } finally {
      other.kill()
    }
    writeFileSync(lock, String(spawnSync(process.execPath, ["-e", ""]).pid))
    expect((await tryLockKey(root, "k")).acquired).toBe(true)
    writeFileSync(lock, `${process.pid} an-earlier-process`)
    const taken = await tryLockKey(root, "k")
    expect(taken.acquired).toBe(true)
    expect(readFileSync(lock, "utf8")).not.toContain("an-earlier-process")
  })
})
