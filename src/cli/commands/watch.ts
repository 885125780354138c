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
    "RUN is a run id or its prefix (see pipe runs); by default the latest running run, else the latest run. A run of a sweep is followed with the whole sweep, one line per variant. Exit codes: 0 the run (every variant) succeeded, 1 it failed or stopped.",
  interrupted: "pipe watch: stopped watching; the run itself goes on",
  run: (args) =>
    Effect.gen(function* () {
      const root = cacheDir(args)
      const chosen = yield* Effect.tryPromise({ try: () => findRun(root, args.positional[0]), catch: (e) => e as UsageError })
      const reporter = yield* Effect.promise(() =>
        chooseReporter(choiceFlag(args, "ui", ["auto", "tui", "lines", "json"] as const) ?? "auto"),
      )
      return yield* Effect.gen(function* () {
        // A sweep is followed whole: its variants from the first, each as its process starts it.
        let run: RunSummary | undefined = chosen.sweep ? ((yield* Effect.promise(() => variantRun(root, chosen, 0))) ?? chosen) : chosen
        let failed = false
        while (run !== undefined) {
          const code = yield* follow(join(root, "runs", run.id), run, reporter.onEvent)
          if (code === undefined) return exitCodes.failed
          failed ||= code !== exitCodes.ok
          const sweep: RunSummary["sweep"] = run.sweep
          if (sweep === undefined || sweep.index + 1 >= sweep.count) break
          run = yield* waitForVariant(root, run, sweep.index + 1)
          if (run === undefined) {
            process.stderr.write(`sweep ${sweep.id} stopped after variant ${sweep.index + 1} of ${sweep.count} (killed?)\n`)
            return exitCodes.failed
          }
        }
        return failed ? exitCodes.failed : exitCodes.ok
      }).pipe(Effect.ensuring(Effect.promise(() => reporter.close())))
    }),
}

/** Replays a run's events and follows them to its end: its exit code, or undefined when its process died first. */
const follow = (runDir: string, run: RunSummary, onEvent: (event: RunEvent) => void) =>
  Effect.gen(function* () {
    const next = tailer(join(runDir, "events.ndjson"))
    for (;;) {
      const alive = isAlive(run.pid)
      const events = yield* Effect.promise(next)
      events.forEach(onEvent)
      const last = events.find((e) => e.type === "run-finished")
      if (last?.type === "run-finished") return last.status === "succeeded" ? exitCodes.ok : exitCodes.failed
      if (!alive) {
        process.stderr.write(`run ${run.id} stopped without finishing (killed?); 'pipe run' again resumes it\n`)
        return undefined
      }
      yield* Effect.sleep(250)
    }
  })

/** The run of variant `index` of the sweep of `run`, if it has started. */
const variantRun = async (root: string, run: RunSummary, index: number) =>
  (await listRuns(root)).find((r) => r.sweep?.id === run.sweep?.id && r.sweep?.index === index)

/** Waits for the sweep's process to start variant `index`; undefined when the process ends first. */
const waitForVariant = (root: string, run: RunSummary, index: number) =>
  Effect.gen(function* () {
    for (;;) {
      const alive = isAlive(run.pid)
      const found = yield* Effect.promise(() => variantRun(root, run, index))
      if (found !== undefined || !alive) return found
      yield* Effect.sleep(250)
    }
  })
