import { Effect } from "effect"
import { upstreamOf } from "../../runtime/planner.js"
import { EventBus } from "../../runtime/EventBus.js"
import { execute } from "../../runtime/executor.js"
import { parseRedisUrl, probeRedis } from "../../runtime/queue/redis-address.js"
import { DEFAULT_LOCK_SECONDS, type ShardJob } from "../../runtime/queue/shard-jobs.js"
import { runShardWorker } from "../../runtime/queue/shard-worker.js"
import { planRun } from "../../runtime/run.js"
import { TensorBackend } from "../../runtime/TensorBackend.js"
import { flag, integerFlag, UsageError, type ParsedArgs } from "../args.js"
import { commonFlags, loadGraph, loadKinds } from "../context.js"
import { backendFlags, runtimeLayer } from "./run.js"
import type { Command } from "./command.js"

/** The command line the coordinator's run had, as far as it decides the shard: its file, values and plugins. */
const jobArgs = (job: ShardJob, args: ParsedArgs): ParsedArgs => {
  const own = (name: string): Array<[string, string[]]> => {
    const value = flag(args, name)
    return value === undefined ? [] : [[name, [value]]]
  }
  return {
    positional: [job.file],
    flags: new Map([
      ["set", [...job.sets]],
      ["plugin", [...job.plugins]],
      ["cache-dir", [flag(args, "cache-dir") ?? job.root]],
      ...own("backend"),
      ...own("threads"),
    ]),
  }
}

const shardName = (job: ShardJob) => `${job.node} shard ${job.index + 1}/${job.count}`

/** Computes one queued shard as the coordinator planned it: the node's key must be the same here. */
const computeShard = (job: ShardJob, args: ParsedArgs, progress: (done: number, total: number) => void) =>
  Effect.gen(function* () {
    const own = jobArgs(job, args)
    const kinds = yield* loadKinds(own)
    const graph = yield* loadGraph(own, kinds)
    return yield* Effect.gen(function* () {
      const bus = yield* EventBus
      const failures: string[] = []
      yield* bus.subscribe((event) => {
        if (event.type === "node-failed") failures.push(`${event.id}: ${event.error}`)
        if (event.type === "node-progress" && event.id === job.node && event.total !== undefined) progress(event.done, event.total)
      })
      const planned = yield* planRun(graph, { selected: upstreamOf(graph, [job.node]) })
      const node = planned.find((p) => p.id === job.node)
      if (node?.key !== job.nodeKey)
        return {
          error: `here '${job.node}' has another cache key than the coordinator's: the pipeline file, its data, --set values or the backend differ`,
          retry: false,
        }
      const backend = yield* TensorBackend
      yield* execute(graph, planned, {
        jobs: 1,
        backend: backend.ready,
        shards: { ...(job.size !== undefined ? { size: job.size } : {}), mine: (shard) => shard.key === job.shardKey },
      })
      return failures.length > 0 ? { error: failures.join("; "), retry: true } : undefined
    }).pipe(Effect.scoped, Effect.provide(runtimeLayer(own, graph, kinds)))
  }).pipe(Effect.catch((e) => Effect.succeed({ error: e.message ?? String(e), retry: false })))

export const worker: Command = {
  name: "worker",
  summary: "compute the shards that 'pipe run --queue' hands out, until stopped",
  usage: "pipe worker --queue redis://HOST:PORT [options]",
  maxArguments: 0,
  flags: [
    { name: "queue", value: "redis://HOST:PORT", description: "the Redis of the coordinating 'pipe run --queue'" },
    { name: "concurrency", value: "N", description: "shards computed at once (default 1)" },
    {
      name: "lock-seconds",
      value: "S",
      description: `how long a shard stays this worker's without a sign of life; after that another worker takes it over (default ${DEFAULT_LOCK_SECONDS})`,
    },
    ...backendFlags,
    ...commonFlags,
  ],
  details: "Workers read the pipeline file at the path the coordinator names and share its cache folder (the same path, or --cache-dir).",
  interrupted: "pipe worker: stopped; a shard it was computing goes to another worker",
  run: (args) =>
    Effect.gen(function* () {
      const url = flag(args, "queue")
      if (url === undefined) return yield* Effect.fail(new UsageError("--queue redis://HOST:PORT is required"))
      const address = yield* parseRedisUrl(url).pipe(Effect.mapError((e) => new UsageError(e.message)))
      yield* probeRedis(address).pipe(Effect.mapError((e) => new UsageError(e.message)))
      const say = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`)
      say(`waiting for shards on ${url} (pid ${process.pid})`)
      return yield* runShardWorker(address, {
        concurrency: integerFlag(args, "concurrency", 1) ?? 1,
        lockSeconds: integerFlag(args, "lock-seconds", 1) ?? DEFAULT_LOCK_SECONDS,
        handle: (job, progress) => Effect.runPromise(computeShard(job, args, progress)),
        onJob: (event, job, detail) => say(`${shardName(job)} ${event}${detail ? `: ${detail}` : ""}`),
      })
    }),
}
