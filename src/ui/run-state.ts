import type { BackendSummary, MemoryDelta, PlanStatus, RunEvent, RunStatus, SweepMembership } from "../runtime/events.js"

/** View model of one run, built only from events so that live runs and replayed event files look the same. */

export type NodeStatus = "pending" | "cached" | "running" | "done" | "failed" | "skipped"

export interface ProgressView {
  readonly at: number
  readonly done: number
  readonly total?: number
  readonly unit?: string
  readonly scalars?: Readonly<Record<string, number>>
  readonly message?: string
}

export interface LogLine {
  readonly at: number
  readonly level: "info" | "warn" | "debug"
  readonly message: string
}

export interface NodeView {
  readonly id: string
  readonly kind: string
  readonly status: NodeStatus
  readonly plan?: PlanStatus
  readonly planReason?: string
  readonly resumed?: string
  readonly startedAt?: number
  readonly finishedAt?: number
  readonly durationMs?: number
  readonly progress?: ProgressView
  /** Exponential moving average of units per second. */
  readonly rate?: number
  /** Seconds left at the time of the last progress event; only when total and rate are known. */
  readonly etaSeconds?: number
  /** Anchor of the rate estimate: the last progress sample with a distinct timestamp. */
  readonly rateSample?: { readonly at: number; readonly done: number }
  readonly logs: ReadonlyArray<LogLine>
  readonly memory?: MemoryDelta
  readonly error?: string
  readonly skipReason?: string
}

export interface RunCounts {
  readonly ran: number
  readonly cached: number
  readonly failed: number
  readonly skipped: number
}

/** One variant of a sweep, as far as its events have come. */
export interface VariantView {
  readonly index: number
  readonly runId: string
  readonly params: Readonly<Record<string, string>>
  readonly status: "running" | RunStatus
  /** Nodes settled (ran, cached, failed or skipped) of `nodes`. */
  readonly settled: number
  readonly nodes: number
  readonly durationMs?: number
}

export interface SweepView {
  readonly id: string
  readonly count: number
  /** The variants started so far, in order. */
  readonly variants: ReadonlyArray<VariantView>
}

export interface RunState {
  /** When the runs are the variants of a sweep: the sweep, across its runs (the rest of the state is the current run's). */
  readonly sweep?: SweepView
  readonly runId?: string
  readonly pipeline?: { readonly name: string; readonly file: string }
  /** The backend the run was planned with (run-started). */
  readonly backend?: BackendSummary
  /** The backend as started (only once a node has to run): which, after how many settled nodes, how long it took. */
  readonly backendStarted?: {
    readonly backend: BackendSummary
    readonly afterSettled: number
    readonly initMs: number
    readonly replanned: boolean
  }
  readonly status: "waiting" | "running" | RunStatus
  readonly startedAt?: number
  readonly finishedAt?: number
  readonly durationMs?: number
  readonly lastEventAt?: number
  /** Nodes in declaration order (run-started list, then any unknown ids as they appear). */
  readonly nodes: ReadonlyArray<NodeView>
  /** Ids in the order they reached a terminal status (done, cached, failed, skipped); append-only. */
  readonly settledOrder: ReadonlyArray<string>
  readonly counts?: RunCounts
  readonly outputs?: string
}

export const MAX_LOG_LINES = 5
/** Time constant of the rate average: older samples weigh exp(-age / tau). */
export const RATE_TAU_MS = 5_000

export const initialRunState = (): RunState => ({ status: "waiting", nodes: [], settledOrder: [] })

const newNode = (id: string, kind = "?"): NodeView => ({ id, kind, status: "pending", logs: [] })

const updateNode = (state: RunState, id: string, update: (node: NodeView) => NodeView): RunState => {
  const index = state.nodes.findIndex((node) => node.id === id)
  const nodes = index === -1 ? [...state.nodes, update(newNode(id))] : state.nodes.map((n, i) => (i === index ? update(n) : n))
  return { ...state, nodes }
}

const settle = (state: RunState, id: string, update: (node: NodeView) => NodeView): RunState => {
  const next = updateNode(state, id, update)
  return state.settledOrder.includes(id) ? next : { ...next, settledOrder: [...state.settledOrder, id] }
}

const applyProgress = (node: NodeView, progress: ProgressView): NodeView => {
  const anchor = node.rateSample
  let rate = node.rate
  let rateSample = anchor ?? { at: progress.at, done: progress.done }
  if (anchor && progress.done < anchor.done) {
    // Counter went backwards (a new phase): restart the estimate.
    rate = undefined
    rateSample = { at: progress.at, done: progress.done }
  } else if (anchor && progress.at > anchor.at) {
    const dtMs = progress.at - anchor.at
    const instant = ((progress.done - anchor.done) * 1000) / dtMs
    const weight = 1 - Math.exp(-dtMs / RATE_TAU_MS)
    rate = rate === undefined ? instant : rate + weight * (instant - rate)
    rateSample = { at: progress.at, done: progress.done }
  }
  const etaSeconds =
    progress.total !== undefined && rate !== undefined && rate > 0 ? Math.max(0, progress.total - progress.done) / rate : undefined
  return { ...node, status: node.status === "pending" ? "running" : node.status, progress, rate, rateSample, etaSeconds }
}

/** The sweep after a variant's run started. */
const startVariant = (sweep: SweepView | undefined, member: SweepMembership, runId: string, nodes: number): SweepView => {
  const variants = sweep?.id === member.id ? sweep.variants.filter((v) => v.index !== member.index) : []
  const started: VariantView = { index: member.index, runId, params: member.params, status: "running", settled: 0, nodes }
  return { id: member.id, count: member.count, variants: [...variants, started].sort((a, b) => a.index - b.index) }
}

const updateVariant = (state: RunState, update: (variant: VariantView) => VariantView): RunState =>
  state.sweep === undefined
    ? state
    : { ...state, sweep: { ...state.sweep, variants: state.sweep.variants.map((v) => (v.runId === state.runId ? update(v) : v)) } }

export const reduceRun = (state: RunState, event: RunEvent): RunState => {
  const next = reduceOneRun(state, event)
  if (event.type === "run-started")
    return { ...next, sweep: event.sweep && startVariant(state.sweep, event.sweep, event.runId, event.nodes.length) }
  if (event.type === "run-finished")
    return updateVariant(next, (v) => ({ ...v, status: event.status, durationMs: event.durationMs, settled: next.settledOrder.length }))
  return next.settledOrder.length === state.settledOrder.length
    ? next
    : updateVariant(next, (v) => ({ ...v, settled: next.settledOrder.length }))
}

const reduceOneRun = (state: RunState, event: RunEvent): RunState => {
  const s: RunState = { ...state, lastEventAt: event.at }
  switch (event.type) {
    case "run-started":
      return {
        ...s,
        backendStarted: undefined,
        counts: undefined,
        outputs: undefined,
        finishedAt: undefined,
        durationMs: undefined,
        runId: event.runId,
        pipeline: event.pipeline,
        backend: event.backend,
        status: "running",
        startedAt: event.at,
        nodes: event.nodes.map((n) => newNode(n.id, n.kind)),
        settledOrder: [],
      }
    case "backend-ready":
      return {
        ...s,
        backendStarted: {
          backend: event.backend,
          afterSettled: s.settledOrder.length,
          initMs: event.initMs,
          replanned: event.expected !== event.fingerprint,
        },
      }
    case "node-planned":
      return updateNode(s, event.id, (n) => ({ ...n, plan: event.status, planReason: event.reason }))
    case "node-cached":
      return settle(s, event.id, (n) => ({ ...n, status: "cached", finishedAt: event.at }))
    case "node-started":
      return updateNode(s, event.id, (n) => ({ ...n, status: "running", startedAt: event.at, resumed: event.resumed }))
    case "node-progress": {
      const { type: _type, id: _id, ...progress } = event
      return updateNode(s, event.id, (n) => applyProgress(n, progress))
    }
    case "node-log": {
      const line: LogLine = { at: event.at, level: event.level, message: event.message }
      return updateNode(s, event.id, (n) => ({ ...n, logs: [...n.logs, line].slice(-MAX_LOG_LINES) }))
    }
    case "node-finished":
      return settle(s, event.id, (n) => ({
        ...n,
        status: "done",
        finishedAt: event.at,
        durationMs: event.durationMs,
        memory: event.memory,
        etaSeconds: undefined,
      }))
    case "node-failed":
      return settle(s, event.id, (n) => ({ ...n, status: "failed", finishedAt: event.at, error: event.error, etaSeconds: undefined }))
    case "node-skipped":
      return settle(s, event.id, (n) => ({ ...n, status: "skipped", finishedAt: event.at, skipReason: event.reason }))
    case "run-finished":
      return {
        ...s,
        status: event.status,
        finishedAt: event.at,
        durationMs: event.durationMs,
        counts: event.counts,
        outputs: event.outputs,
      }
  }
}

export const replayRun = (events: Iterable<RunEvent>): RunState => {
  let state = initialRunState()
  for (const event of events) state = reduceRun(state, event)
  return state
}

export const countByStatus = (state: RunState): Record<NodeStatus, number> => {
  const counts: Record<NodeStatus, number> = { pending: 0, cached: 0, running: 0, done: 0, failed: 0, skipped: 0 }
  for (const node of state.nodes) counts[node.status] += 1
  return counts
}

export const isRunOver = (state: RunState): boolean =>
  state.status === "succeeded" || state.status === "failed" || state.status === "interrupted"
