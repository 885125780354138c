import { open, readdir } from "node:fs/promises"
import { join } from "node:path"
import type { RunEvent } from "../runtime/events.js"
import { parseRunLog } from "../runtime/RunLog.js"
import { isAlive } from "../runtime/key-lock.js"
import { readRunInfo, type RunInfo } from "../runtime/run-info.js"

/** `running` while its process lives; `stopped` when the process is gone without the log's end event (killed). */
export type RunListStatus = "running" | "stopped" | Extract<RunEvent, { type: "run-finished" }>["status"]

export interface RunSummary extends Pick<RunInfo, "pipeline" | "file" | "pid" | "startedAt" | "settings" | "sweep"> {
  readonly id: string
  readonly status: RunListStatus
  /** To the end event; for a running run, so far; unknown for a stopped one. */
  readonly durationMs?: number
}

/** The end event is the log's last line; reading its tail spares reading long progress logs whole. */
const endEvent = async (log: string) => {
  const file = await open(log, "r").catch(() => undefined)
  if (!file) return undefined
  try {
    const { size } = await file.stat()
    const length = Math.min(size, 16_384)
    const buffer = Buffer.alloc(length)
    await file.read(buffer, 0, length, size - length)
    return parseRunLog(buffer.toString("utf8")).find((e) => e.type === "run-finished")
  } finally {
    await file.close()
  }
}

const summarize = async (runsDir: string, id: string): Promise<RunSummary | undefined> => {
  const info = await readRunInfo(join(runsDir, id))
  if (!info) return undefined
  const { runId: _runId, ...rest } = info
  const run = { id, ...rest }
  const end = await endEvent(join(runsDir, id, "events.ndjson"))
  if (end) return { ...run, status: end.status, durationMs: end.durationMs }
  return isAlive(info.pid)
    ? { ...run, status: "running", durationMs: Date.now() - Date.parse(info.startedAt) }
    : { ...run, status: "stopped" }
}

/** Every run in the cache at `root`, oldest first. */
export const listRuns = async (root: string): Promise<RunSummary[]> => {
  const runsDir = join(root, "runs")
  const ids = (await readdir(runsDir).catch(() => [] as string[])).sort()
  const runs = await Promise.all(ids.map((id) => summarize(runsDir, id)))
  return runs.filter((r): r is RunSummary => r !== undefined).sort((a, b) => a.startedAt.localeCompare(b.startedAt))
}
