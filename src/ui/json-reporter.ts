import type { RunEvent } from "../runtime/events.js"
import type { Reporter } from "./reporter.js"

export interface JsonReporterOptions {
  readonly write: (chunk: string) => void
}

/** NDJSON: each event as one JSON line, nothing else. */
export const makeJsonReporter = (options: JsonReporterOptions): Reporter => ({
  onEvent: (event: RunEvent) => options.write(`${JSON.stringify(event)}\n`),
  close: async () => {},
})
