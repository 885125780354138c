/**
 * Shards of a shardable node (sample, metric): its images split into runs of `shard_size`, each shard's part of
 * the work cached under its own key (the node's key and the shard's image ids), then merged into the node's
 * outputs. A shard is computed here, by another process of the same run (shard-index mode), or by a worker.
 */
import { Effect } from "effect"
import { NodeFailure, type NodeContext, type PortValue, type ShardedWork } from "../nodes/contract.js"
import type * as tfc from "@tensorflow/tfjs-core"
import { ArtifactStore, type Manifest } from "./ArtifactStore.js"
import { canonicalJson, sha256 } from "./cache-key.js"
import { EventBus } from "./EventBus.js"
import { tryLockKey } from "./key-lock.js"
import type { PlannedNode } from "./planner.js"
import { disposeValue, toPortValue, toStored } from "./tensors.js"

export interface Shard {
  readonly index: number
  readonly count: number
  readonly key: string
  readonly ids: ReadonlyArray<string>
}

export interface ShardOptions {
  /** Images per shard for shardable nodes whose config gives no `shard_size`; without either they run in one piece. */
  readonly size?: number
  /** The shards this process computes; the node is merged only once every shard is stored. Default: all. */
  readonly mine?: (shard: Shard) => boolean
  /** Has the missing shards computed elsewhere (workers) and waits until they are stored. */
  readonly delegate?: (node: PlannedNode, shards: ReadonlyArray<Shard>) => Effect.Effect<void, NodeFailure>
}

/** The port a shard's part is stored under. */
export const PART_PORT = "part"

const LOCK_POLL_MS = 200

export const shardKey = (nodeKey: string, ids: ReadonlyArray<string>): string => sha256(canonicalJson({ node: nodeKey, ids }))

/** Consecutive runs of `size` units (one empty shard when there are none). */
export const shardsOf = (nodeKey: string, units: ReadonlyArray<string>, size: number): Shard[] => {
  const count = Math.max(1, Math.ceil(units.length / size))
  return Array.from({ length: count }, (_, index) => {
    const ids = units.slice(index * size, (index + 1) * size)
    return { index, count, key: shardKey(nodeKey, ids), ids }
  })
}

/** The shard size of a node: its config's `shard_size`, else the run's default; undefined: one piece. */
export const shardSizeOf = (config: unknown, options?: ShardOptions): number | undefined =>
  (config as { shard_size?: number }).shard_size ?? options?.size

export type ShardedOutcome = { readonly merged: Readonly<Record<string, PortValue>> } | { readonly stored: number; readonly total: number }

export interface ShardedRun {
  readonly node: PlannedNode
  readonly pipeline: string
  readonly work: ShardedWork
  readonly size: number
  readonly options?: ShardOptions
  readonly tf: typeof tfc
  readonly backend: { readonly fingerprint: string; readonly device: string; readonly reason: string }
  /** The node's context for computing one shard (its checkpoints under the shard's key). */
  readonly contextFor: (shard: Shard) => NodeContext<unknown>
}

/**
 * Brings every shard of the node into the store (cached ones are verified, missing ones computed here or
 * elsewhere), then merges them; when some shards are left to other processes, says how many are stored.
 */
export const runSharded = Effect.fn("runSharded")(function* (run: ShardedRun) {
  const store = yield* ArtifactStore
  const bus = yield* EventBus
  const { node } = run
  const shards = shardsOf(node.key, run.work.units, run.size)
  const isStored = (shard: Shard) =>
    store.verify(shard.key).pipe(
      Effect.as(true),
      Effect.catch(() => Effect.succeed(false)),
    )
  const log = (message: string) => bus.publish({ type: "node-log", at: Date.now(), id: node.id, level: "info", message })
  const missing = yield* Effect.filter(shards, (shard) => Effect.map(isStored(shard), (stored) => !stored))
  yield* log(`${shards.length} shards of up to ${run.size} images; ${shards.length - missing.length} cached`)

  const compute = (shard: Shard) =>
    Effect.gen(function* () {
      const started = Date.now()
      const part = yield* run.work.part(run.contextFor(shard), shard.ids)
      const stored = yield* Effect.tryPromise({
        try: () => toStored(part),
        catch: (e) => new NodeFailure({ message: e instanceof Error ? e.message : String(e) }),
      }).pipe(Effect.ensuring(Effect.sync(() => disposeValue(part))))
      const manifest: Omit<Manifest, "files" | "createdAt"> = {
        key: shard.key,
        node: `${node.id}[shard ${shard.index + 1}/${shard.count}]`,
        pipeline: run.pipeline,
        material: node.material,
        backend: run.backend.fingerprint,
        device: run.backend.device,
        backendReason: run.backend.reason,
        durationMs: Date.now() - started,
      }
      yield* store.write(manifest, { [PART_PORT]: stored })
      yield* store.checkpoint.clear(shard.key)
      yield* log(`shard ${shard.index + 1}/${shard.count} computed (${shard.ids.length} images)`)
    }).pipe(Effect.mapError((e) => (e instanceof NodeFailure ? e : new NodeFailure({ message: `storing a shard failed: ${e.message}` }))))

  /** Computes a shard unless another process stored it meanwhile (one that is computing it is waited for). */
  const bringIn = (shard: Shard) =>
    withKeyLock(
      store.root,
      shard.key,
      Effect.flatMap(isStored(shard), (stored) => (stored ? Effect.void : compute(shard))),
    )

  if (run.options?.delegate && missing.length > 0) yield* run.options.delegate(node, missing)
  else for (const shard of missing.filter((s) => run.options?.mine?.(s) ?? true)) yield* bringIn(shard)

  const absent = yield* Effect.filter(shards, (shard) => Effect.map(isStored(shard), (stored) => !stored))
  if (absent.length > 0) return { stored: shards.length - absent.length, total: shards.length } satisfies ShardedOutcome
  const parts: PortValue[] = []
  return yield* Effect.gen(function* () {
    for (const shard of shards) {
      const stored = yield* store
        .read(shard.key, PART_PORT)
        .pipe(Effect.mapError((e) => new NodeFailure({ message: `shard ${shard.index + 1}/${shard.count}: ${e.message}` })))
      parts.push(toPortValue(run.tf, stored))
    }
    return { merged: yield* run.work.merge(parts) } satisfies ShardedOutcome
  }).pipe(Effect.ensuring(Effect.sync(() => parts.forEach(disposeValue))))
})

/** Runs `effect` holding the lock of `key`, waiting while another process holds it. */
export const withKeyLock = <A, E, R>(root: string, key: string, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.gen(function* () {
    for (;;) {
      const lock = yield* Effect.promise(() => tryLockKey(root, key))
      if (lock.acquired) return yield* effect.pipe(Effect.ensuring(Effect.promise(lock.release)))
      yield* Effect.sleep(LOCK_POLL_MS)
    }
  })

export const isMerged = (outcome: ShardedOutcome): outcome is { readonly merged: Readonly<Record<string, PortValue>> } =>
  "merged" in outcome
