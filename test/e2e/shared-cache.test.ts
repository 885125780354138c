/** Several processes on one cache. */
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { events, manifests, pipe, pipeAsync, workspace } from "./cli.js"

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
})
