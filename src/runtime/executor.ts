import { Deferred, Effect, Option, Semaphore } from "effect"
import { rm } from "node:fs/promises"
import { inputSources, refsOf, type PipelineGraph } from "../dsl/graph.js"
import { NodeFailure, type NodeContext, type PortValue } from "../nodes/contract.js"
import { ArtifactStore } from "./ArtifactStore.js"
import { EventBus } from "./EventBus.js"
import { tryLockKey, type KeyLock } from "./key-lock.js"
import { NodeRegistry } from "./NodeRegistry.js"
import type { PlannedNode } from "./planner.js"
import { Seeds } from "./Seeds.js"
import type { BackendError } from "./errors.js"
import type { ReadyBackend } from "./TensorBackend.js"
import { isMerged, runSharded, shardSizeOf, withKeyLock } from "./shards.js"
import type { ShardOptions } from "./shards.js"
import { disposeValue, toPortValue, toStored } from "./tensors.js"

export interface ExecuteOptions {
  /** Nodes that may run at once; tensor work is serialised on the backend regardless. */
  readonly jobs: number
  /** The tensor backend, started by the first node that runs (cached nodes never need it). */
  readonly backend: Effect.Effect<ReadyBackend, BackendError>
  /** Called as each node settles, so that an interrupted run can still say what it finished. */
  readonly onOutcome?: (outcome: NodeOutcome) => void
  /** How shardable nodes split their work; without it they run in one piece unless their config sets shard_size. */
  readonly shards?: ShardOptions
}

export interface NodeOutcome {
  readonly id: string
  /** partial: some of its shards are left to other processes; deferred: it needs a partial node. */
  readonly result: "ran" | "cached" | "failed" | "skipped" | "partial" | "deferred"
}

const LOCK_POLL_MS = 200

const describeCause = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

/**
 * Runs the planned nodes as fibers that wait for their inputs. A failed node skips its descendants; the other
 * branches go on. Cached results are verified before they are trusted. Interruption disposes tensors and keeps
 * checkpoints, and nothing half-written reaches the store.
 */
export const execute = Effect.fn("execute")(function* (graph: PipelineGraph, planned: ReadonlyArray<PlannedNode>, options: ExecuteOptions) {
  const store = yield* ArtifactStore
  const bus = yield* EventBus
  const registry = yield* NodeRegistry
  const seeds = yield* Seeds
  const tensorLock = yield* Semaphore.make(1)
  const jobs = yield* Semaphore.make(Math.max(1, options.jobs))
  const done = new Map<string, Deferred.Deferred<NodeOutcome["result"]>>()
  for (const p of planned) done.set(p.id, yield* Deferred.make<NodeOutcome["result"]>())
  const now = () => Date.now()

  const backendFor = (p: PlannedNode) =>
    Effect.gen(function* () {
      const ready = yield* options.backend.pipe(
        Effect.mapError((e) => new NodeFailure({ message: `the tensor backend failed to start: ${e.message}` })),
      )
      const planned = p.material.backend
      if (planned !== undefined && planned !== ready.info.fingerprint) {
        // Its cache key names another backend than the one that would compute it: storing that result would lie.
        return yield* Effect.fail(
          new NodeFailure({
            message: `the run was planned for backend ${planned}, but the backend started as ${ready.info.fingerprint}; nothing was computed, run again`,
          }),
        )
      }
      return ready
    })

  const loadInputs = (p: PlannedNode, tf: ReadyBackend["tf"]) =>
    Effect.gen(function* () {
      const node = graph.nodes.get(p.id)!
      const values: Record<string, PortValue | PortValue[]> = {}
      for (const [port, ref] of Object.entries(node.inputs)) {
        const loaded: PortValue[] = []
        const refs = refsOf(ref)
        for (const [i, source] of p.material.inputs[port].entries()) {
          const [key, sourcePort] = source.split(":")
          if (Option.isNone(yield* store.manifest(key))) {
            const from = refs[i]!.node
            return yield* Effect.fail(
              new NodeFailure({
                message: `its input '${port}' from '${from}' is not in the cache (removed since planning?); run with --to ${p.id} to compute what it needs`,
              }),
            )
          }
          loaded.push(toPortValue(tf, yield* store.read(key, sourcePort)))
        }
        values[port] = Array.isArray(ref) ? loaded : loaded[0]
      }
      return values
    })

  const warn = (p: PlannedNode, message: string) => bus.publish({ type: "node-log", at: now(), id: p.id, level: "warn", message })

  /** The newest intact checkpoint; each damaged one is named in a warning, and so is what the node falls back to. */
  const loadCheckpoint = (p: PlannedNode, key = p.key) =>
    Effect.gen(function* () {
      const loaded = yield* store.checkpoint
        .load(key)
        .pipe(Effect.catch((e) => Effect.as(warn(p, `ignoring an unreadable checkpoint: ${e.message}`), undefined)))
      if (loaded === undefined) return Option.none()
      for (const { file, reason } of loaded.setAside)
        yield* warn(p, `checkpoint ${file} is damaged (${reason}): set aside as ${file}.damaged`)
      if (loaded.setAside.length > 0)
        yield* warn(
          p,
          Option.isSome(loaded.state) ? "resuming from the checkpoint before it" : "no intact checkpoint left: starting from scratch",
        )
      return loaded.state
    })

  const runNode = (p: PlannedNode) =>
    Effect.gen(function* () {
      const node = graph.nodes.get(p.id)!
      const kind = registry.get(node.kind.kind)!
      const { tf, info: backend } = yield* backendFor(p)
      const started = now()
      const checkpoint = yield* loadCheckpoint(p)
      yield* bus.publish({ type: "node-started", at: started, id: p.id, ...(Option.isSome(checkpoint) ? { resumed: "checkpoint" } : {}) })
      const reportDir = store.scratchDir(p.key)
      const before = tf.memory()
      const inputs = yield* loadInputs(p, tf)
      const ctx: NodeContext<unknown> = {
        id: p.id,
        config: node.config,
        inputs,
        sources: inputSources(node.inputs),
        seed: seeds.forNode(p.key),
        pipelineSeed: seeds.pipelineSeed,
        tf,
        backend,
        reportDir,
        progress: (progress) => bus.publish({ type: "node-progress", at: now(), id: p.id, ...progress }),
        log: (message, level = "info") => bus.publish({ type: "node-log", at: now(), id: p.id, level, message }),
        checkpoints: checkpointsOf(p.key, Effect.succeed(Option.map(checkpoint, (v) => toPortValue(tf, v)))),
      }
      const size = shardSizeOf(node.config, options.shards)
      const sharded =
        kind.shards && size !== undefined
          ? Effect.flatMap(kind.shards(ctx), (work) =>
              runSharded({
                node: p,
                pipeline: graph.name,
                work,
                size,
                tf,
                backend,
                ...(options.shards ? { options: options.shards } : {}),
                contextFor: (shard) => ({
                  ...ctx,
                  checkpoints: checkpointsOf(
                    shard.key,
                    loadCheckpoint(p, shard.key).pipe(Effect.map(Option.map((v) => toPortValue(tf, v)))),
                  ),
                }),
              }).pipe(Effect.provideService(ArtifactStore, store), Effect.provideService(EventBus, bus)),
            )
          : Effect.map(kind.run(ctx), (merged) => ({ merged }))
      const outcome = yield* sharded.pipe(
        Effect.catchDefect((defect) => Effect.fail(new NodeFailure({ message: describeCause(defect) }))),
        Effect.ensuring(Effect.sync(() => Object.values(inputs).flat().forEach(disposeValue))),
      )
      if (!isMerged(outcome)) {
        const reason = `${outcome.stored} of ${outcome.total} shards stored; the others are left to other processes, and a run without --shard-index merges them`
        yield* bus.publish({ type: "node-skipped", at: now(), id: p.id, reason })
        return "partial" as const
      }
      const outputs = outcome.merged
      const write = Effect.gen(function* () {
        const missing = Object.keys(kind.outputs).filter((port) => !(port in outputs) && !kind.outputs[port].optional)
        if (missing.length > 0)
          return yield* Effect.fail(
            new NodeFailure({ message: `internal: kind '${kind.kind}' returned no value for output ${missing.join(", ")}` }),
          )
        const stored = yield* Effect.tryPromise({
          try: async () =>
            Object.fromEntries(await Promise.all(Object.entries(outputs).map(async ([port, v]) => [port, await toStored(v)] as const))),
          catch: (e) => new NodeFailure({ message: describeCause(e) }),
        })
        yield* store.write(
          {
            key: p.key,
            node: p.id,
            pipeline: graph.name,
            material: p.material,
            backend: backend.fingerprint,
            device: backend.device,
            backendReason: backend.reason,
            durationMs: now() - started,
          },
          stored,
          reportDir,
        )
      })
      // Shards are computed without the node's lock (each has its own); processes that merge them take turns.
      yield* (
        isSharded(p)
          ? withKeyLock(
              store.root,
              p.key,
              Effect.flatMap(isStored(p.key), (done) => (done ? Effect.void : write)),
            )
          : write
      ).pipe(
        Effect.ensuring(Effect.sync(() => Object.values(outputs).forEach(disposeValue))),
        Effect.ensuring(Effect.promise(() => rm(reportDir, { recursive: true, force: true }))),
      )
      yield* store.checkpoint.clear(p.key)
      const after = tf.memory()
      // A node that shares the backend runs beside others, whose tensors would be counted as its own.
      const memory = kind.sharesBackend
        ? undefined
        : { tensors: after.numTensors - before.numTensors, bytes: after.numBytes - before.numBytes }
      if (memory && memory.tensors !== 0) {
        yield* bus.publish({
          type: "node-log",
          at: now(),
          id: p.id,
          level: "debug",
          message: `tensor memory grew by ${memory.tensors} tensors (${memory.bytes} bytes)`,
        })
      }
      yield* bus.publish({ type: "node-finished", at: now(), id: p.id, durationMs: now() - started, ...(memory ? { memory } : {}) })
      return "ran" as const
    })

  const isSharded = (p: PlannedNode) => {
    const node = graph.nodes.get(p.id)!
    return node.kind.shardable === true && shardSizeOf(node.config, options.shards) !== undefined
  }

  const isStored = (key: string) =>
    store.verify(key).pipe(
      Effect.as(true),
      Effect.catch(() => Effect.succeed(false)),
    )

  const checkpointsOf = (key: string, load: Effect.Effect<Option.Option<PortValue>, NodeFailure>) => ({
    load,
    save: (state: PortValue) =>
      Effect.tryPromise({ try: () => toStored(state), catch: (e) => new NodeFailure({ message: describeCause(e) }) }).pipe(
        Effect.flatMap((stored) => store.checkpoint.save(key, stored)),
        Effect.mapError((e) => new NodeFailure({ message: `saving a checkpoint failed: ${e.message}` })),
      ),
  })

  /** Repeats `attempt` while another process is computing the node (it gives that process's pid). */
  const unlessComputedElsewhere = (p: PlannedNode, attempt: Effect.Effect<NodeOutcome | { readonly busy: number }>) =>
    Effect.gen(function* () {
      for (let waited = false; ; waited = true) {
        const outcome = yield* attempt
        if (!("busy" in outcome)) return outcome
        if (!waited) {
          const who = outcome.busy > 0 ? `process ${outcome.busy}` : "another process"
          yield* bus.publish({ type: "node-log", at: now(), id: p.id, level: "info", message: `${who} is computing it; waiting` })
        }
        yield* Effect.sleep(LOCK_POLL_MS)
      }
    })

  const settle = (p: PlannedNode): Effect.Effect<NodeOutcome> =>
    Effect.gen(function* () {
      const node = graph.nodes.get(p.id)!
      const upstream = [...new Set(Object.values(node.inputs).flatMap((ref) => refsOf(ref).map((r) => r.node)))]
      for (const id of upstream) {
        const deferred = done.get(id)
        const result = deferred && (yield* Deferred.await(deferred))
        if (result === "partial" || result === "deferred") {
          yield* bus.publish({ type: "node-skipped", at: now(), id: p.id, reason: `it needs '${id}', whose shards are not all stored yet` })
          return { id: p.id, result: "deferred" as const }
        }
        if (result !== undefined && result !== "ran" && result !== "cached") {
          yield* bus.publish({ type: "node-skipped", at: now(), id: p.id, reason: `upstream '${id}' did not complete` })
          return { id: p.id, result: "skipped" as const }
        }
      }
      const cached: Effect.Effect<NodeOutcome> = Effect.suspend(() =>
        Effect.as(bus.publish({ type: "node-cached", at: now(), id: p.id }), { id: p.id, result: "cached" as const }),
      )
      if (p.status === "cached") {
        const intact = yield* store.verify(p.key).pipe(
          Effect.as(true),
          Effect.catch((e) =>
            Effect.as(bus.publish({ type: "node-log", at: now(), id: p.id, level: "warn", message: `${e.message}: recomputing` }), false),
          ),
        )
        if (intact) return yield* cached
      }
      const run = node.kind.sharesBackend ? runNode(p) : tensorLock.withPermits(1)(runNode(p))
      const compute: Effect.Effect<NodeOutcome> = run.pipe(
        Effect.map((result) => ({ id: p.id, result })),
        Effect.catch((e) =>
          Effect.as(bus.publish({ type: "node-failed", at: now(), id: p.id, error: e.message }), { id: p.id, result: "failed" as const }),
        ),
      )
      // Another run on this cache may have computed it since planning (a damaged entry does not verify; a forced
      // node is recomputed whatever is there), or be computing it now: then it is waited for, without a job slot.
      const storedMeanwhile = p.forced ? Effect.succeed(false) : isStored(p.key)
      if (isSharded(p)) return yield* jobs.withPermits(1)(Effect.flatMap(storedMeanwhile, (stored) => (stored ? cached : compute)))
      const attempt = jobs.withPermits(1)(
        Effect.acquireUseRelease(
          Effect.promise(() => tryLockKey(store.root, p.key)),
          (lock: KeyLock): Effect.Effect<NodeOutcome | { readonly busy: number }> =>
            lock.acquired ? Effect.flatMap(storedMeanwhile, (stored) => (stored ? cached : compute)) : Effect.succeed({ busy: lock.pid }),
          (lock) => (lock.acquired ? Effect.promise(lock.release) : Effect.void),
        ),
      )
      return yield* unlessComputedElsewhere(p, attempt)
    }).pipe(
      Effect.tap((outcome) => Effect.sync(() => options.onOutcome?.(outcome))),
      Effect.tap((outcome) => Deferred.succeed(done.get(p.id)!, outcome.result)),
    )

  return yield* Effect.forEach(planned, settle, { concurrency: "unbounded" })
})
