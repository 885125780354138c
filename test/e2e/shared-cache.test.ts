/** Several processes on one cache: concurrent runs, `cache gc` during a run, and what killed runs leave behind. */
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { events, manifests, objectsDir, pipe, pipeAsync, waitFor, workspace } from "./cli.js"

const pipeline = `version: 1
name: shared
nodes:
  a: { use: make, with: { size: 4, value: 0.25 } }
  b: { use: make, with: { size: 4 } }
  sum: { use: add, in: { a: a, b: b } }
  slow: { use: count, in: { in: sum }, with: { steps: 20, delay_ms: 100, every: 5 } }
  other: { use: count, with: { steps: 10, delay_ms: 50 } }
  all: { use: collect, in: { items: [sum.total, slow, other] } }
`
const nodes = ["a", "all", "b", "other", "slow", "sum"]

/** The pid of a process that has exited. */
const deadPid = (): number => spawnSync(process.execPath, ["-e", ""]).pid!

describe("runs sharing a cache", () => {
  it("two concurrent runs of one pipeline compute each node once; both succeed", async () => {
    const ws = workspace()
    ws.write("p.yaml", pipeline)
    const [one, two] = await Promise.all([pipeAsync(ws, ["run", "p.yaml", "--json"]).done, pipeAsync(ws, ["run", "p.yaml", "--json"]).done])
    expect(one.code, one.stderr).toBe(0)
    expect(two.code, two.stderr).toBe(0)
    const all = [...events(one.stdout), ...events(two.stdout)]
    expect(
      all
        .filter((e) => e.type === "node-started")
        .map((e) => e.id)
        .sort(),
    ).toEqual(nodes)
    expect(all.filter((e) => e.type === "run-finished").map((e) => e.status)).toEqual(["succeeded", "succeeded"])
    expect(existsSync(join(ws.dir, ".pipe", "locks")) ? readdirSync(join(ws.dir, ".pipe", "locks")) : []).toEqual([])
  }, 120_000)

  it("a lock left by a killed process is taken over", () => {
    const ws = workspace()
    ws.write("p.yaml", pipeline)
    const plan = events(pipe(ws, ["run", "p.yaml", "--json", "--to", "a"]).stdout)
    expect(plan.at(-1)).toMatchObject({ status: "succeeded" })
    const key = manifests(ws.dir).find((m) => m.node === "a")!.key
    mkdirSync(join(ws.dir, ".pipe", "locks"), { recursive: true })
    writeFileSync(join(ws.dir, ".pipe", "locks", `${key}.lock`), String(deadPid()))
    const forced = pipe(ws, ["run", "p.yaml", "--json", "--to", "a", "--force", "a"])
    expect(forced.code, forced.stderr).toBe(0)
    expect(events(forced.stdout).filter((e) => e.type === "node-finished")).toMatchObject([{ id: "a" }])
  })

  it("cache gc during a run keeps what the run uses", async () => {
    const ws = workspace()
    ws.write("p.yaml", pipeline)
    const run = pipeAsync(ws, ["run", "p.yaml", "--json"])
    await waitFor(() => existsSync(objectsDir(ws.dir)) && readdirSync(objectsDir(ws.dir)).length >= 3)
    const gc = pipe(ws, ["cache", "gc"])
    expect(gc.code, gc.stderr).toBe(0)
    expect(gc.stdout).toMatch(/^removed 0 artifacts, freed 0B; kept \d\n$/)
    const done = await run.done
    expect(done.code, done.stderr).toBe(0)
    expect(
      manifests(ws.dir)
        .map((m) => m.node)
        .sort(),
    ).toEqual(nodes)
  }, 120_000)

  it("what a killed process left in tmp/ goes at the next run or gc (--dry-run only says so); a live one's stays", () => {
    const ws = workspace()
    ws.write("p.yaml", pipeline)
    const tmp = join(ws.dir, ".pipe", "tmp")
    const orphan = join(tmp, `${deadPid()}-0123`)
    const live = join(tmp, `${process.pid}-4567`)
    const leave = () => {
      mkdirSync(orphan, { recursive: true })
      writeFileSync(join(orphan, "x.safetensors"), Buffer.alloc(2048))
      mkdirSync(live, { recursive: true })
    }
    leave()
    const dry = pipe(ws, ["cache", "gc", "--dry-run"])
    expect(dry.stdout).toBe("would remove 0 artifacts and free 2KiB; nothing was removed (--dry-run)\n")
    expect(existsSync(orphan)).toBe(true)
    expect(pipe(ws, ["cache", "gc"]).stdout).toBe("removed 0 artifacts, freed 2KiB; kept 0\n")
    expect(readdirSync(tmp)).toEqual([`${process.pid}-4567`])

    leave()
    expect(pipe(ws, ["run", "p.yaml", "--to", "a"]).code).toBe(0)
    expect(readdirSync(tmp)).toEqual([`${process.pid}-4567`])
  })

  it("cache gc --checkpoints keeps the checkpoints of keys a live run uses", () => {
    const ws = workspace()
    const pipeDir = join(ws.dir, ".pipe")
    for (const key of ["inuse", "stale"]) {
      mkdirSync(join(pipeDir, "checkpoints", key), { recursive: true })
      writeFileSync(join(pipeDir, "checkpoints", key, "state.safetensors"), Buffer.alloc(100))
    }
    mkdirSync(join(pipeDir, "leases"))
    writeFileSync(join(pipeDir, "leases", "live.json"), JSON.stringify({ pid: process.pid, keys: ["inuse"] }))
    writeFileSync(join(pipeDir, "leases", "dead.json"), JSON.stringify({ pid: deadPid(), keys: ["stale"] }))
    expect(pipe(ws, ["cache", "gc", "--checkpoints"]).stdout).toBe("removed 0 artifacts, freed 100B; kept 0\n")
    expect(readdirSync(join(pipeDir, "checkpoints"))).toEqual(["inuse"])
    expect(readdirSync(join(pipeDir, "leases"))).toEqual(["live.json"])
  })
})
