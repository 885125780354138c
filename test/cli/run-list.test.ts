import { spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { listRuns } from "../../src/cli/run-list.js"

const deadPid = (): number => spawnSync(process.execPath, ["-e", ""]).pid!

const addRun = (root: string, id: string, pid: number, log: string) => {
  mkdirSync(join(root, "runs", id), { recursive: true })
  const startedAt = `2026-01-01T00:00:0${id.at(-1)}.000Z`
  writeFileSync(join(root, "runs", id, "run.json"), JSON.stringify({ runId: id, pipeline: `p${id}`, file: "p.yaml", pid, startedAt }))
  writeFileSync(join(root, "runs", id, "events.ndjson"), log)
}

describe("listRuns", () => {
  it("tells running, finished and stopped (killed) runs apart, oldest first", async () => {
    const root = mkdtempSync(join(tmpdir(), "run-list-"))
    const end = { type: "run-finished", at: 0, status: "failed", durationMs: 1500, counts: { ran: 0, cached: 0, failed: 1, skipped: 0 } }
    addRun(root, "r2", deadPid(), `{"type":"node-started"}\n${JSON.stringify(end)}\n`)
    addRun(root, "r1", process.pid, `{"type":"node-started"}\n`)
    addRun(root, "r3", deadPid(), `{"type":"node-started"}\n`)
    mkdirSync(join(root, "runs", "r4"))
    const runs = await listRuns(root)
    expect(runs.map((r) => [r.id, r.pipeline, r.status, r.durationMs !== undefined])).toEqual([
      ["r1", "pr1", "running", true],
      ["r2", "pr2", "failed", true],
      ["r3", "pr3", "stopped", false],
    ])
    expect(runs[1].durationMs).toBe(1500)
  })

  it("is empty without a runs folder", async () => {
    expect(await listRuns(mkdtempSync(join(tmpdir(), "run-list-")))).toEqual([])
  })
})
