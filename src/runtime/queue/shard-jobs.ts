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

/** The queue of shard jobs, closed with the scope. */
export const openQueue = (address: RedisAddress) =>
  Effect.acquireRelease(
    Effect.sync(() => new Queue(QUEUE_NAME, { connection: connectionOf(address) })),
    (queue) => Effect.promise(() => queue.close()),
  )

/** How long a job's lock lasts without renewal: a worker that died is noticed after it, and its job retried. */
export const DEFAULT_LOCK_SECONDS = 30

/**
 * Queues the missing shards of a node and waits until each is stored; Ctrl-C removes its jobs that no worker has
 * taken (those being computed finish and stay valid cache entries).
 */
/** Where a queued node's shards stand, for the run's live view. */
export interface QueueReport {
  readonly log: (node: string, message: string) => Effect.Effect<void>
  readonly progress: (node: string, done: number, total: number, message: string) => Effect.Effect<void>
}

export const queueShards = (queue: Queue, base: JobBase, isStored: (key: string) => Effect.Effect<boolean>, reporter: QueueReport) =>
  Effect.fn("queueShards")(function* (node: PlannedNode, shards: ReadonlyArray<Shard>) {
    const report = {
      log: (message: string) => reporter.log(node.id, message),
      progress: (done: number, total: number, message: string) => reporter.progress(node.id, done, total, message),
    }
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
    const pending = new Map(shards.map((shard) => [shard.key, shard]))
    const holders = new Map<string, string>()
    let lastShown = ""
    const name = (shard: Shard) => `shard ${shard.index + 1}/${shard.count}`
    const poll = Effect.gen(function* () {
      const running: string[] = []
      for (const shard of [...pending.values()]) {
        const job = yield* attempt("asking the queue", () => queue.getJob(shard.key))
        const state = job ? yield* attempt("asking the queue", () => job.getState()) : "unknown"
        if (state === "failed") {
          yield* Effect.promise(() => job?.remove().catch(() => undefined) ?? Promise.resolve())
          return yield* Effect.fail(
            new NodeFailure({ message: `${name(shard)} failed on a worker: ${job?.failedReason ?? "no reason given"}` }),
          )
        }
        if (state === "completed" || state === "unknown") {
          if (!(yield* isStored(shard.key)))
            return yield* Effect.fail(
              new NodeFailure({
                message: `a worker finished ${name(shard)}, but it is not in ${base.root}: workers must share the cache folder (--cache-dir)`,
              }),
            )
          pending.delete(shard.key)
          continue
        }
        if (state !== "active" || !job?.processedBy) continue
        const progress = job.progress as { done?: number; total?: number }
        running.push(
          `${shard.index + 1} on ${job.processedBy}${progress.total ? ` ${Math.floor(progress.done ?? 0)}/${progress.total}` : ""}`,
        )
        const before = holders.get(shard.key)
        if (before !== job.processedBy) {
          holders.set(shard.key, job.processedBy)
          const again = before !== undefined || job.stalledCounter > 0 || job.attemptsMade > 0
          yield* report.log(
            `${name(shard)} taken by worker ${job.processedBy}${again ? " (again: its last worker failed or stopped answering)" : ""}`,
          )
        }
      }
      const waiting = pending.size - running.length
      const message = [...running, ...(waiting > 0 ? [`${waiting} waiting`] : [])].join("; ")
      if (`${pending.size} ${message}` !== lastShown) yield* report.progress(shards.length - pending.size, shards.length, message)
      lastShown = `${pending.size} ${message}`
    })
    const wait = Effect.gen(function* () {
      while (pending.size > 0) {
        yield* poll
        if (pending.size > 0) yield* Effect.sleep(POLL_MS)
      }
    })
    yield* wait.pipe(Effect.onInterrupt(() => removeWaiting))
  })
