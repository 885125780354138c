import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { pipe, workspace } from "./cli.js"

const pipeline = "version: 1\nname: rec\nnodes:\n  a: { use: make, with: { size: 3 } }\n  b: { use: make, with: { size: 2 } }\n"

/** A workspace whose one run left `records/rec.json`, which is then replaced by `damaged`. */
const damagedRecord = (damaged: string) => {
  const ws = workspace()
  ws.write("p.yaml", pipeline)
  expect(pipe(ws, ["run", "p.yaml"]).code).toBe(0)
  const record = join(ws.dir, ".pipe", "records", "rec.json")
  const full = readFileSync(record, "utf8")
  writeFileSync(record, damaged === "half" ? full.slice(0, full.length / 2) : damaged)
  return { ws, record }
}

const warning = (record: string, problem: RegExp) =>
  new RegExp(
    `pipe: warning: ${record} is damaged \\(${problem.source}\\): set aside as ${record}\\.damaged; the next run writes a new one\\n`,
  )

describe("a damaged records/NAME.json is reported once and rebuilt, never fatal", () => {
  it("0 bytes: plan warns once and plans as if there were no record; run then writes a new one", () => {
    const { ws, record } = damagedRecord("")
    const plan = pipe(ws, ["plan", "p.yaml"])
    expect(plan.code).toBe(0)
    expect(plan.stderr).toMatch(warning(record, /empty/))
    expect(plan.stdout).toMatch(/^a +cached\nb +cached\n$/)
    expect(existsSync(`${record}.damaged`)).toBe(true)
    const run = pipe(ws, ["run", "p.yaml"])
    expect(run.code).toBe(0)
    expect(run.stderr).not.toContain("warning")
    expect(Object.keys(JSON.parse(readFileSync(record, "utf8")).nodes).sort()).toEqual(["a", "b"])
  })

  it("truncated: run warns once, succeeds and rebuilds the record", () => {
    const { ws, record } = damagedRecord("half")
    const run = pipe(ws, ["run", "p.yaml"])
    expect(run.code).toBe(0)
    expect(run.stderr.match(/warning/g)).toHaveLength(1)
    expect(run.stderr).toMatch(warning(record, /not JSON: .*/))
    expect(Object.keys(JSON.parse(readFileSync(record, "utf8")).nodes).sort()).toEqual(["a", "b"])
  })

  it("JSON of the wrong shape: cache gc warns, succeeds and keeps that pipeline's results until a run rebuilds the record", () => {
    const { ws, record } = damagedRecord('{"nodes": {"a": 1}}')
    const gc = pipe(ws, ["cache", "gc"])
    expect(gc.code).toBe(0)
    expect(gc.stderr).toMatch(warning(record, /node 'a' has no key and material/))
    expect(gc.stdout).toMatch(/^removed 0 artifacts, .*; kept 2\n$/)
    const again = pipe(ws, ["cache", "gc"])
    expect(again.stderr).toBe("")
    expect(again.stdout).toMatch(/^removed 0 artifacts, .*; kept 2\n$/)
  })

  it("pending shards that are not a list of nodes: gc warns and keeps that pipeline's results", () => {
    const { ws, record } = damagedRecord('{"nodes": {}, "pending": "rec"}')
    const gc = pipe(ws, ["cache", "gc"])
    expect(gc.code).toBe(0)
    expect(gc.stderr).toMatch(warning(record, /pending is not a list of nodes/))
    expect(gc.stdout).toMatch(/^removed 0 artifacts, .*; kept 2\n$/)
  })

  it("a rewritten record leaves no temporary file beside it", () => {
    const ws = workspace()
    ws.write("p.yaml", pipeline)
    expect(pipe(ws, ["run", "p.yaml"]).code).toBe(0)
    expect(pipe(ws, ["run", "p.yaml"]).code).toBe(0)
    expect(readdirSync(join(ws.dir, ".pipe", "records"))).toEqual(["rec.json"])
  })
})
