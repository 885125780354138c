import { Effect } from "effect"
import { alignedColumns } from "../../report/compare-table.js"
import { formatDuration } from "../../ui/format.js"
import { hasFlag } from "../args.js"
import { cacheDir, commonFlags, exitCodes } from "../context.js"
import { listRuns, type RunSummary } from "../run-list.js"
import type { Command } from "./command.js"

const columns = ["RUN", "PIPELINE", "SWEEP", "STATUS", "STARTED", "DURATION"]

const row = (r: RunSummary): string[] => [
  r.id,
  r.pipeline,
  r.sweep ? `${r.sweep.id} ${r.sweep.index + 1}/${r.sweep.count}` : "-",
  r.status,
  r.startedAt.replace("T", " ").slice(0, 19),
  r.durationMs === undefined ? "-" : formatDuration(r.durationMs),
]

export const runs: Command = {
  name: "runs",
  summary: "list the runs in the cache: id, pipeline, sweep (id, variant), status, start, duration",
  usage: "pipe runs [--json] [--cache-dir DIR]",
  maxArguments: 0,
  flags: [{ name: "json", description: "one JSON array of the runs" }, ...commonFlags],
  details: "Status: running, succeeded, failed, interrupted, or stopped (its process ended without finishing: killed).",
  run: (args) =>
    Effect.gen(function* () {
      const root = cacheDir(args)
      const found = yield* Effect.promise(() => listRuns(root))
      if (hasFlag(args, "json")) process.stdout.write(`${JSON.stringify(found)}\n`)
      else if (found.length === 0) process.stdout.write(`no runs in ${root}; start one with 'pipe run FILE'\n`)
      else process.stdout.write(`${alignedColumns([columns, ...found.map(row)])}\n`)
      return exitCodes.ok
    }),
}
