import { appendFileSync } from "node:fs"
import type { RunEvent } from "./events.js"

/**
 * Appends a run's events to `events.ndjson` for `pipe watch`. State changes are written at once; progress of a
 * node at most every `intervalMs`, and its latest progress is written before its next state change.
 */
export const makeRunLogWriter = (path: string, intervalMs = 500) => {
  const lastWritten = new Map<string, number>()
  const pending = new Map<string, RunEvent>()
  const write = (event: RunEvent) => appendFileSync(path, `${JSON.stringify(event)}\n`)
  return (event: RunEvent): void => {
    if (event.type === "node-progress") {
      if (event.at - (lastWritten.get(event.id) ?? 0) >= intervalMs) {
        lastWritten.set(event.id, event.at)
        pending.delete(event.id)
        write(event)
      } else pending.set(event.id, event)
      return
    }
    const id = "id" in event ? event.id : undefined
    const flush = id === undefined ? [...pending.values()] : [pending.get(id)].filter((e): e is RunEvent => e !== undefined)
    for (const e of flush) write(e)
    if (id === undefined) pending.clear()
    else pending.delete(id)
    write(event)
  }
}

export const parseRunLog = (text: string): RunEvent[] =>
  text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as RunEvent]
      } catch {
        return []
      }
    })
