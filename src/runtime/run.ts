import { Effect } from "effect"
import { mkdir } from "node:fs/promises"
import { join } from "node:path"
import { settingOf, type PipelineGraph } from "../dsl/graph.js"
import { ArtifactStore } from "./ArtifactStore.js"
import { EventBus, type EventBusShape } from "./EventBus.js"
import type { PredictedBackend } from "./backend/predict.js"
import type { BackendSummary, RunStatus } from "./events.js"
import { DataUnavailable, type BackendError } from "./errors.js"
import { execute, type NodeOutcome } from "./executor.js"
import { removeLease, removeOrphans, writeLease } from "./leases.js"
import type { ShardOptions } from "./shards.js"
import { plan, upstreamOf, type PlannedNode, type RunRecord } from "./planner.js"
import { assembleReport } from "./report-index.js"
import { writeRunInfo, type SweepMembership } from "./run-info.js"
import { loadRecordFile, recordPath, writeRecordFile } from "./run-record.js"
import { makeRunLogWriter } from "./RunLog.js"
import { TensorBackend, type ReadyBackend, type TensorBackendShape } from "./TensorBackend.js"

export interface RunOptions {
  readonly runId: string
  /** A plan made just before (so that data problems surface before the run starts); made here otherwise. */
  readonly planned?: ReadonlyArray<PlannedNode>
  readonly selected?: ReadonlySet<string>
  readonly force?: ReadonlyArray<string>
  readonly jobs?: number
  /** The values overridden on the command line, recorded with the run. */
  readonly settings?: Readonly<Record<string, string>>
  /** When the run is a variant of a sweep. */
  readonly sweep?: SweepMembership
  readonly shards?: ShardOptions
}

export interface RunResult {
  readonly runId: string
  readonly runDir: string
  readonly status: RunStatus
  readonly outcomes: ReadonlyArray<NodeOutcome>
  readonly planned: ReadonlyArray<PlannedNode>
  /** The run's report page, when a node wrote a report. */
  readonly report?: string
}

export const readRecord = (root: string, pipeline: string): Effect.Effect<RunRecord | undefined> =>
  Effect.promise(() => loadRecordFile(recordPath(root, pipeline)).then((loaded) => loaded.record))

/** The plan of a pipeline against the current cache: what is cached and why the rest will run. */
export const planRun = Effect.fn("planRun")(function* (graph: PipelineGraph, options: Pick<RunOptions, "selected" | "force">) {
  const store = yield* ArtifactStore
  const backend = yield* TensorBackend
  const previous = yield* readRecord(store.root, graph.name)
  const external = yield* externalFingerprints(graph, options.selected)
  const planWith = (isStored: (key: string) => boolean) =>
    plan(graph, {
      external,
      backend: (backend.current()?.info ?? backend.expected).fingerprint,
      isStored,
      previous,
      force: options.force,
      selected: options.selected,
    })
  // The keys do not depend on what is stored: ask the store about all of them at once.
  const keys = planWith(() => false).map((p) => p.key)
  const stored = yield* Effect.forEach(keys, (key) => Effect.map(store.has(key), (has) => (has ? [key] : [])), { concurrency: 8 })
  return planWith((key) => stored.flat().includes(key))
})

/** The external-data fingerprints of the selected nodes and of everything upstream of them (their keys need them). */
const externalFingerprints = (graph: PipelineGraph, selected?: ReadonlySet<string>) => {
  const needed = selected && upstreamOf(graph, [...selected])
  const ids = graph.order.filter((id) => graph.nodes.get(id)!.kind.externalFingerprint && (!needed || needed.has(id)))
  return Effect.forEach(ids, (id) => {
    const node = graph.nodes.get(id)!
    return Effect.tryPromise({
      try: () => node.kind.externalFingerprint!(node.config, (key) => settingOf(node, key)),
      catch: (cause) => ({ node: id, reason: cause instanceof Error ? cause.message : String(cause) }),
    }).pipe(Effect.result)
  }).pipe(
    // Every missing folder at once, rather than one per attempt.
    Effect.flatMap((results) => {
      const missing = results.flatMap((r) => (r._tag === "Failure" ? [r.failure] : []))
      const found = results.flatMap((r, i) => (r._tag === "Success" ? [[ids[i], r.success] as const] : []))
      return missing.length > 0 ? Effect.fail(new DataUnavailable({ missing })) : Effect.succeed(new Map(found))
    }),
  )
}

/** One run of a pipeline: plan, execute, and leave the event log and the run record behind. */
export const runPipeline = Effect.fn("runPipeline")(function* (graph: PipelineGraph, options: RunOptions) {
  const store = yield* ArtifactStore
  const bus = yield* EventBus
  const backend = yield* TensorBackend
  const runDir = join(store.root, "runs", options.runId)
  yield* Effect.promise(async () => {
    await removeOrphans(store.root)
    await mkdir(runDir, { recursive: true })
    await writeRunInfo(runDir, {
      runId: options.runId,
      pipeline: graph.name,
      file: graph.file,
      pid: process.pid,
      startedAt: new Date().toISOString(),
      ...(options.settings ? { settings: options.settings } : {}),
      ...(options.sweep ? { sweep: options.sweep } : {}),
    })
  })
  yield* bus.subscribe(makeRunLogWriter(join(runDir, "events.ndjson")))
  const started = Date.now()
  const finish = (status: RunStatus, outcomes: ReadonlyArray<NodeOutcome>, report?: string) =>
    bus.publish({
      type: "run-finished",
      at: Date.now(),
      status,
      durationMs: Date.now() - started,
      counts: {
        ran: outcomes.filter((o) => o.result === "ran").length,
        cached: outcomes.filter((o) => o.result === "cached").length,
        failed: outcomes.filter((o) => o.result === "failed").length,
        skipped: outcomes.filter((o) => o.result === "skipped").length,
      },
      ...(report ? { outputs: report } : {}),
    })
  yield* bus.publish({
    type: "run-started",
    at: started,
    runId: options.runId,
    pipeline: { name: graph.name, file: graph.file },
    ...(options.sweep ? { sweep: options.sweep } : {}),
    backend: summary(backend.current()?.info ?? backend.expected),
    nodes: graph.order
      .filter((id) => !options.selected || options.selected.has(id))
      .map((id) => ({ id, kind: graph.nodes.get(id)!.kind.kind })),
  })
  const ready = announced(backend, bus)
  let planned = options.planned ?? (yield* planRun(graph, options))
  if (planned.some((p) => p.status === "run")) {
    // Started before anything runs, so that a backend other than the predicted one can still be planned for.
    const actual = (yield* ready.pipe(Effect.tapError(() => finish("failed", [])))).info.fingerprint
    if (planned.some((p) => p.material.backend !== undefined && p.material.backend !== actual)) planned = yield* planRun(graph, options)
  }
  for (const p of planned) yield* bus.publish({ type: "node-planned", at: Date.now(), id: p.id, status: p.status, reason: p.reason })
  const final = planned
  yield* Effect.promise(() => writeLease(store.root, options.runId, keysUsed(final)))

  return yield* Effect.gen(function* () {
    const settled: NodeOutcome[] = []
    const outcomes = yield* execute(graph, final, {
      jobs: options.jobs ?? 2,
      backend: ready,
      onOutcome: (o) => settled.push(o),
      ...(options.shards ? { shards: options.shards } : {}),
    }).pipe(Effect.onInterrupt(() => finish("interrupted", settled)))
    yield* saveRecord(store.root, graph, options, final, outcomes)
    const status: RunStatus = outcomes.some((o) => o.result === "failed" || o.result === "skipped") ? "failed" : "succeeded"
    const completed = final.filter((p) => outcomes.some((o) => o.id === p.id && (o.result === "ran" || o.result === "cached")))
    const reportDir = join(runDir, "report")
    const withReports = yield* Effect.filter(completed, (p) =>
      store
        .copyReport(p.key, join(reportDir, p.id))
        .pipe(
          Effect.catch((e) =>
            Effect.as(
              bus.publish({ type: "node-log", at: Date.now(), id: p.id, level: "warn", message: `its report is left out: ${e.message}` }),
              false,
            ),
          ),
        ),
    )
    const report = yield* Effect.promise(() =>
      assembleReport(
        graph,
        withReports.map((p) => p.id),
        reportDir,
      ),
    )
    yield* finish(status, outcomes, report)
    return { runId: options.runId, runDir, status, outcomes, planned: final, report } satisfies RunResult
  }).pipe(Effect.ensuring(Effect.promise(() => removeLease(store.root, options.runId))))
})

/** The keys of the planned nodes and of the inputs they read: what `cache gc` must leave alone during the run. */
const keysUsed = (planned: ReadonlyArray<PlannedNode>): string[] =>
  planned.flatMap((p) => [p.key, ...Object.values(p.material.inputs).flatMap((sources) => sources.map((s) => s.split(":")[0]!))])

const summary = (info: PredictedBackend & { readonly threads?: number }): BackendSummary => ({
  name: info.name,
  version: info.version,
  device: info.device,
  ...(info.threads !== undefined ? { threads: info.threads } : {}),
  reason: info.reason,
})

/** The backend, started on first use; the first use of a run announces it with a `backend-ready` event. */
const announced = (backend: TensorBackendShape, bus: EventBusShape): Effect.Effect<ReadyBackend, BackendError> => {
  let done = false
  return backend.ready.pipe(
    Effect.tap((ready) => {
      if (done) return Effect.void
      done = true
      const { info } = ready
      return bus.publish({
        type: "backend-ready",
        at: Date.now(),
        backend: summary(info),
        fingerprint: info.fingerprint,
        expected: backend.expected.fingerprint,
        initMs: Math.round(ready.initMs),
      })
    }),
  )
}

/** Remembers what each completed node computed, for the next plan's "changed from ... to ...". */
const saveRecord = (
  root: string,
  graph: PipelineGraph,
  { runId, sweep }: RunOptions,
  planned: ReadonlyArray<PlannedNode>,
  outcomes: ReadonlyArray<NodeOutcome>,
) =>
  Effect.gen(function* () {
    const pipeline = graph.name
    const previous = yield* readRecord(root, pipeline)
    const completed = new Set(outcomes.filter((o) => o.result === "ran" || o.result === "cached").map((o) => o.id))
    const nodes = Object.fromEntries(Object.entries(previous?.nodes ?? {}).filter(([id]) => graph.nodes.has(id)))
    for (const p of planned) if (completed.has(p.id)) nodes[p.id] = { key: p.key, material: p.material }
    const earlier = sweep && previous?.sweep?.id === sweep.id ? previous.sweep.keys : []
    const keys = [...new Set([...earlier, ...Object.values(nodes).map((n) => n.key)])]
    const pending = pendingNodes(graph, previous, planned, outcomes, sweep !== undefined)
    const record: RunRecord = {
      pipeline,
      runId,
      nodes,
      ...(sweep ? { sweep: { ...sweep, keys } } : {}),
      ...(pending.length > 0 ? { pending } : {}),
    }
    yield* Effect.promise(() => writeRecordFile(recordPath(root, pipeline), record))
  })

/**
 * The nodes left partial by this run, and those of earlier runs still waiting for a merge: an earlier one is dropped
 * once its key is computed, or, outside a sweep (whose other variants may still merge theirs), once its node is
 * computed with another configuration.
 */
const pendingNodes = (
  graph: PipelineGraph,
  previous: RunRecord | undefined,
  planned: ReadonlyArray<PlannedNode>,
  outcomes: ReadonlyArray<NodeOutcome>,
  inSweep: boolean,
): ReadonlyArray<{ node: string; key: string }> => {
  const keyOf = new Map(planned.map((p) => [p.id, p.key]))
  const resultOf = new Map(outcomes.map((o) => [o.id, o.result]))
  const done = (id: string) => resultOf.get(id) === "ran" || resultOf.get(id) === "cached"
  const now = planned.filter((p) => resultOf.get(p.id) === "partial").map((p) => ({ node: p.id, key: p.key }))
  const earlier = (previous?.pending ?? []).filter(
    (e) => graph.nodes.has(e.node) && !now.some((n) => n.key === e.key) && !(done(e.node) && (keyOf.get(e.node) === e.key || !inSweep)),
  )
  return [...earlier, ...now]
}
