import { Effect } from "effect"
import { resolve } from "node:path"
import type { PipelineGraph } from "../dsl/graph.js"
import { ArtifactStore } from "../runtime/ArtifactStore.js"
import { EventBus } from "../runtime/EventBus.js"
import { parseRedisUrl, probeRedis, type RedisAddress } from "../runtime/queue/redis-address.js"
import { openQueue, queueShards } from "../runtime/queue/shard-jobs.js"
import type { ShardOptions } from "../runtime/shards.js"
import { flag, integerFlag, UsageError, type FlagSpec, type ParsedArgs } from "./args.js"
import { pluginPaths } from "./context.js"

export const shardFlags: ReadonlyArray<FlagSpec> = [
  { name: "shard-size", value: "N", description: "images per shard of sample and metric nodes whose config sets no shard_size" },
  {
    name: "shard-index",
    value: "I",
    description: "compute only the shards s with s % COUNT == I of sharded nodes, and what they need; a later run merges them",
  },
  { name: "shard-count", value: "COUNT", description: "how many processes share the shards (with --shard-index)" },
]

const hasShardSize = (graph: PipelineGraph) =>
  [...graph.nodes.values()].some((node) => node.kind.shardable && (node.config as { shard_size?: number }).shard_size !== undefined)

/** How this run shards: `--shard-size`, and in shard-index mode which shards are this process's. */
export const shardOptions = (args: ParsedArgs, graph: PipelineGraph): ShardOptions | undefined => {
  const size = integerFlag(args, "shard-size", 1)
  const index = integerFlag(args, "shard-index", 0)
  const count = integerFlag(args, "shard-count", 1)
  if ((index === undefined) !== (count === undefined)) throw new UsageError("--shard-index and --shard-count go together")
  if (index !== undefined && count !== undefined) {
    if (index >= count) throw new UsageError(`--shard-index must be below --shard-count (${count}), got ${index}`)
    if (size === undefined && !hasShardSize(graph))
      throw new UsageError("--shard-index needs shards: give --shard-size N, or shard_size in the config of a sample or metric node")
    return { ...(size !== undefined ? { size } : {}), mine: (shard) => shard.index % count === index }
  }
  return size !== undefined ? { size } : undefined
}

export const queueFlags: ReadonlyArray<FlagSpec> = [
  {
    name: "queue",
    value: "redis://HOST:PORT",
    description: "hand the shards of sample and metric nodes to 'pipe worker' processes through BullMQ on this Redis, then merge",
  },
]

/** The queue of `--queue`, checked before any work: a malformed address or an unreachable Redis is a usage error. */
export const queueAddress = (args: ParsedArgs, shards: ShardOptions | undefined, graph: PipelineGraph) =>
  Effect.gen(function* () {
    const url = flag(args, "queue")
    if (url === undefined) return undefined
    if (shards?.mine) return yield* Effect.fail(new UsageError("--queue and --shard-index are two ways to share shards; give one"))
    if (shards?.size === undefined && !hasShardSize(graph))
      return yield* Effect.fail(
        new UsageError("--queue needs shards: give --shard-size N, or shard_size in the config of a sample or metric node"),
      )
    const address = yield* parseRedisUrl(url)
    yield* probeRedis(address)
    return address
  }).pipe(Effect.mapError((e) => (e instanceof UsageError ? e : new UsageError(e.message))))

/** Shard options whose missing shards go to the queue's workers (the queue closes with the scope). */
/** `sets`: the PATH=VALUE overrides of this run (a sweep variant's included), which workers apply to the file too. */
export const queuedShards = (
  address: RedisAddress,
  sets: ReadonlyArray<string>,
  args: ParsedArgs,
  graph: PipelineGraph,
  shards: ShardOptions | undefined,
) =>
  Effect.gen(function* () {
    const store = yield* ArtifactStore
    const queue = yield* openQueue(address)
    const isStored = (key: string) =>
      store.verify(key).pipe(
        Effect.as(true),
        Effect.catch(() => Effect.succeed(false)),
      )
    const base = {
      file: resolve(graph.file),
      sets: [...sets],
      plugins: pluginPaths(args).map((path) => resolve(path)),
      root: store.root,
      ...(shards?.size !== undefined ? { size: shards.size } : {}),
    }
    const bus = yield* EventBus
    const report = {
      log: (id: string, message: string) => bus.publish({ type: "node-log", at: Date.now(), id, level: "info", message }),
      progress: (id: string, done: number, total: number, message: string) =>
        bus.publish({ type: "node-progress", at: Date.now(), id, done, total, unit: "shards", ...(message ? { message } : {}) }),
    }
    return { ...shards, delegate: queueShards(queue, base, isStored, report) } satisfies ShardOptions
  })
