/** A BullMQ worker that computes queued shards, until interrupted. */
import { Effect } from "effect"
import { hostname } from "node:os"
import { UnrecoverableError, Worker, type Job } from "bullmq"
import { connectionOf, QUEUE_NAME, type ShardJob } from "./shard-jobs.js"
import type { RedisAddress } from "./redis-address.js"

export interface WorkerOptions {
  readonly concurrency: number
  readonly lockSeconds: number
  /** Computes a job's shard; on failure says why, and `retry: false` when trying again cannot help (another pipeline, say). */
  readonly handle: (
    job: ShardJob,
    progress: (done: number, total: number) => void,
  ) => Promise<{ readonly error: string; readonly retry: boolean } | undefined>
  readonly onJob: (event: "started" | "done" | "failed", job: ShardJob, detail?: string) => void
}

export const runShardWorker = (address: RedisAddress, options: WorkerOptions): Effect.Effect<never> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const worker = new Worker<ShardJob>(
        QUEUE_NAME,
        async (job: Job<ShardJob>) => {
          options.onJob("started", job.data)
          const failed = await options.handle(job.data, (done, total) => void job.updateProgress({ done, total }).catch(() => undefined))
          if (failed) throw failed.retry ? new Error(failed.error) : new UnrecoverableError(failed.error)
        },
        {
          connection: connectionOf(address),
          name: `${hostname()}:${process.pid}`,
          concurrency: options.concurrency,
          lockDuration: options.lockSeconds * 1000,
          stalledInterval: options.lockSeconds * 1000,
          // A worker whose event loop was busy past its lock is taken for dead too: its shard's next taker waits on the
          // shard's lock file, then finds it stored. Giving up after a few stalls would fail a sound job.
          maxStalledCount: 10,
        },
      )
      worker.on("completed", (job) => options.onJob("done", job.data))
      worker.on("failed", (job, error) => job && options.onJob("failed", job.data, error.message))
      // Redis going away is retried by the client; the worker goes on once it is back.
      worker.on("error", () => undefined)
      return worker
    }),
    (worker) => Effect.promise(() => worker.close()),
  ).pipe(Effect.andThen(Effect.never), Effect.scoped)
