import type { PipelineGraph } from "../dsl/graph.js"
import type { ShardOptions } from "../runtime/shards.js"
import { integerFlag, UsageError, type FlagSpec, type ParsedArgs } from "./args.js"

export const shardFlags: ReadonlyArray<FlagSpec> = [
  { name: "shard-size", value: "N", description: "images per shard of sample and metric nodes whose config sets no shard_size" },
  {
    name: "shard-index",
    value: "I",
    description: "compute only the shards s with s % COUNT == I of sharded nodes, and what they need; a later run merges them",
  },
  { name: "shard-count", value: "COUNT", description: "how many processes share the shards (with --shard-index)" },
]

/** How this run shards: `--shard-size`, and in shard-index mode which shards are this process's. */
export const shardOptions = (args: ParsedArgs, graph: PipelineGraph): ShardOptions | undefined => {
  const size = integerFlag(args, "shard-size", 1)
  const index = integerFlag(args, "shard-index", 0)
  const count = integerFlag(args, "shard-count", 1)
  if ((index === undefined) !== (count === undefined)) throw new UsageError("--shard-index and --shard-count go together")
  if (index !== undefined && count !== undefined) {
    if (index >= count) throw new UsageError(`--shard-index must be below --shard-count (${count}), got ${index}`)
    const sharded = [...graph.nodes.values()].some((node) => node.kind.shardable && (node.config as { shard_size?: number }).shard_size)
    if (size === undefined && !sharded)
      throw new UsageError("--shard-index needs shards: give --shard-size N, or shard_size in the config of a sample or metric node")
    return { ...(size !== undefined ? { size } : {}), mine: (shard) => shard.index % count === index }
  }
  return size !== undefined ? { size } : undefined
}
