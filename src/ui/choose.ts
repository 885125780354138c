import { makeJsonReporter } from "./json-reporter.js"
import { makeLineReporter } from "./line-reporter.js"
import type { Reporter } from "./reporter.js"

export type UiMode = "auto" | "tui" | "lines" | "json"

/** Ink when stderr is a terminal, plain lines otherwise (CI logs), NDJSON on stdout when asked. */
export const chooseReporter = async (mode: UiMode, options: { debug?: boolean } = {}): Promise<Reporter> => {
  if (mode === "json") return makeJsonReporter({ write: (chunk) => process.stdout.write(chunk) })
  const tty = process.stderr.isTTY === true && !process.env.CI
  if (mode === "tui" || (mode === "auto" && tty)) {
    const { makeInkReporter } = await import("./ink-reporter.js")
    return makeInkReporter({ stream: process.stderr })
  }
  return makeLineReporter({ write: (line) => process.stderr.write(`${line}\n`), debug: options.debug })
}
