import { Effect } from "effect"
import { open } from "node:fs/promises"
import { join } from "node:path"
import type { RunEvent } from "../../runtime/events.js"
import { parseRunLog } from "../../runtime/RunLog.js"
import { chooseReporter } from "../../ui/choose.js"
import { choiceFlag, UsageError } from "../args.js"
import { cacheDir, commonFlags, exitCodes } from "../context.js"
import { isAlive } from "../../runtime/key-lock.js"
import { listRuns, type RunSummary } from "../run-list.js"
import type { Command } from "./command.js"

/** Reads whole lines appended to a file since the last call. */
const tailer = (path: string) => {
  let offset = 0
  let partial = ""
  return async (): Promise<RunEvent[]> => {
    const file = await open(path, "r").catch(() => undefined)
    if (!file) return []
    try {
      const { size } = await file.stat()
      if (size <= offset) return []
      const buffer = Buffer.alloc(size - offset)
      await file.read(buffer, 0, buffer.length, offset)
      offset = size
      const text = partial + buffer.toString("utf8")
      const end = text.lastIndexOf("\n")
      partial = text.slice(end + 1)
      return parseRunLog(text.slice(0, end + 1))
    } finally {
      await file.close()
    }
  }
}

/** The run named by `wanted` (an id or its prefix); by default the latest running one, else the latest. */
const findRun = async (root: string, wanted: string | undefined): Promise<RunSummary> => {
  const runs = await listRuns(root)
  if (runs.length === 0) throw new UsageError(`no runs in ${root}; start one with 'pipe run FILE'`)
  if (wanted === undefined) return runs.findLast((r) => r.status === "running") ?? runs[runs.length - 1]
  const matches = runs.filter((r) => r.id.startsWith(wanted))
  if (matches.length !== 1)
    throw new UsageError(
      matches.length === 0 ? `no run '${wanted}' in ${root}` : `'${wanted}' matches ${matches.length} runs; give more of the id`,
    )
  return matches[0]
}

export const watch: Command = {
  name: "watch",
  summary: "follow a running or finished run from another terminal",
  usage: "pipe watch [RUN] [--cache-dir DIR]",
  maxArguments: 1,
  flags: [{ name: "ui", value: "MODE", description: "auto, tui, lines or json" }, ...commonFlags],
  details:
    "RUN is a run id or its prefix (see pipe runs); by default the latest running run, else the latest run. Exit codes: 0 the run succeeded, 1 it failed or stopped.",
  interrupted: "pipe watch: stopped watching; the run itself goes on",
  run: (args) =>
    Effect.gen(function* () {
      const root = cacheDir(args)
      const { id: runId, pid } = yield* Effect.tryPromise({ try: () => findRun(root, args.positional[0]), catch: (e) => e as UsageError })
      const runDir = join(root, "runs", runId)
      const reporter = yield* Effect.promise(() =>
        chooseReporter(choiceFlag(args, "ui", ["auto", "tui", "lines", "json"] as const) ?? "auto"),
      )
      const next = tailer(join(runDir, "events.ndjson"))
      return yield* Effect.gen(function* () {
        const exitCode = (events: RunEvent[]) => {
          const last = events.find((e) => e.type === "run-finished")
          return last?.type === "run-finished" ? (last.status === "succeeded" ? exitCodes.ok : exitCodes.failed) : undefined
        }
        for (;;) {
          const alive = isAlive(pid)
          const events = yield* Effect.promise(next)
          events.forEach(reporter.onEvent)
          const code = exitCode(events)
          if (code !== undefined) return code
          if (!alive) {
            process.stderr.write(`run ${runId} stopped without finishing (killed?); 'pipe run' again resumes it\n`)
            return exitCodes.failed
          }
          yield* Effect.sleep(250)
        }
      }).pipe(Effect.ensuring(Effect.promise(() => reporter.close())))
    }),
}
