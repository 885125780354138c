/**
 * Shards handed to `pipe worker` processes through BullMQ on Redis. A job's id is the shard's cache key, so a
 * shard queued twice is one job, and a retried or duplicated job only repeats work whose result is the same.
 */
import { Effect } from "effect"
import { Queue } from "bullmq"
import { NodeFailure } from "../../nodes/contract.js"
import type { PlannedNode } from "../planner.js"
import type { Shard } from "../shards.js"
import type { RedisAddress } from "./redis-address.js"

export const QUEUE_NAME = "pipe-shards"

const POLL_MS = 300

/** What a worker needs to compute a shard the way the coordinator planned it. */
export interface ShardJob {
  /** The pipeline file (absolute) and what the coordinator's command line gave with it. */
  readonly file: string
  readonly sets: ReadonlyArray<string>
  readonly plugins: ReadonlyArray<string>
  /** The coordinator's cache folder (workers share it). */
  readonly root: string
  /** The default shard size (`--shard-size`), for nodes whose config sets none. */
  readonly size?: number
  readonly node: string
  readonly nodeKey: string
  readonly shardKey: string
  readonly index: number
  readonly count: number
}

export type JobBase = Pick<ShardJob, "file" | "sets" | "plugins" | "root" | "size">

export const connectionOf = (address: RedisAddress) => ({ host: address.host, port: address.port })

/** How long a job's lock lasts without renewal: a worker that died is noticed after it, and its job retried. */
export const DEFAULT_LOCK_SECONDS = 30

/**
 * Queues the missing shards of a node and waits until each is stored; Ctrl-C removes its jobs that no worker has
 * taken (those being computed finish and stay valid cache entries).
 */
export const queueShards = (queue: Queue, base: JobBase, isStored: (key: string) => Effect.Effect<boolean>) =>
  Effect.fn("queueShards")(function* (node: PlannedNode, shards: ReadonlyArray<Shard>) {
    const attempt = <A>(what: string, run: () => Promise<A>) =>
      Effect.tryPromise({ try: run, catch: (e) => new NodeFailure({ message: `${what}: ${e instanceof Error ? e.message : String(e)}` }) })
    // A job that failed in an earlier run would keep its id, and its failure, for good.
    yield* Effect.forEach(shards, (shard) =>
      attempt("asking the queue", async () => {
        const job = await queue.getJob(shard.key)
        if (job && (await job.isFailed())) await job.remove()
      }),
    )
    yield* attempt("queueing its shards", () =>
      queue.addBulk(
        shards.map((shard) => ({
          name: node.id,
          data: {
            ...base,
            node: node.id,
            nodeKey: node.key,
            shardKey: shard.key,
            index: shard.index,
            count: shard.count,
          } satisfies ShardJob,
          opts: { jobId: shard.key, removeOnComplete: true, attempts: 2 },
        })),
      ),
    )
    const removeWaiting = Effect.forEach(shards, (shard) =>
      Effect.promise(async () => {
        const job = await queue.getJob(shard.key)
        if (job && ((await job.isWaiting()) || (await job.isDelayed()))) await job.remove().catch(() => undefined)
      }),
    )
    const waitFor = (shard: Shard) =>
      Effect.gen(function* () {
        for (;;) {
          const state = yield* attempt("asking the queue", () => queue.getJobState(shard.key))
          if (state === "failed") {
            const job = yield* attempt("asking the queue", () => queue.getJob(shard.key))
            yield* Effect.promise(() => job?.remove().catch(() => undefined) ?? Promise.resolve())
            return yield* Effect.fail(
              new NodeFailure({
                message: `shard ${shard.index + 1}/${shard.count} failed on a worker: ${job?.failedReason ?? "no reason given"}`,
              }),
            )
          }
          if (state === "completed" || state === "unknown") {
            if (yield* isStored(shard.key)) return
            return yield* Effect.fail(
              new NodeFailure({
                message: `a worker finished shard ${shard.index + 1}/${shard.count}, but it is not in ${base.root}: workers must share the cache folder (--cache-dir)`,
              }),
            )
          }
          yield* Effect.sleep(POLL_MS)
        }
      })
    yield* Effect.forEach(shards, waitFor, { concurrency: "unbounded", discard: true }).pipe(Effect.onInterrupt(() => removeWaiting))
  })
