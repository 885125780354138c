import type { RunEvent } from "../runtime/events.js"
import { formatDuration, formatEta, formatNumber, formatPercent, formatRate, formatScalars } from "./format.js"
import type { Reporter } from "./reporter.js"
import { initialRunState, reduceRun, type NodeView, type RunState, type VariantView } from "./run-state.js"

export interface LineReporterOptions {
  readonly write: (line: string) => void
  /** Minimum gap between two progress lines of one node, on the events' clock. Default 5000. */
  readonly progressIntervalMs?: number
  /** Also print debug-level node logs. */
  readonly debug?: boolean
}

/** Plain, ANSI-free lines for CI logs and pipes: one per state change, progress throttled per node. */
export const makeLineReporter = (options: LineReporterOptions): Reporter => {
  const interval = options.progressIntervalMs ?? 5000
  const lastProgressLineAt = new Map<string, number>()
  let state = initialRunState()

  const onEvent = (event: RunEvent): void => {
    state = reduceRun(state, event)
    if (event.type === "node-progress") {
      const last = lastProgressLineAt.get(event.id)
      if (last !== undefined && event.at - last < interval) return
      lastProgressLineAt.set(event.id, event.at)
    }
    const line = formatEventLine(event, state, options.debug ?? false)
    if (line !== undefined) options.write(line)
  }

  return { onEvent, close: async () => {} }
}

/** The line for one event given the state after it, or undefined when the event prints nothing. */
export const formatEventLine = (event: RunEvent, state: RunState, debug = false): string | undefined => {
  switch (event.type) {
    case "run-started": {
      const b = event.backend
      const threads = b.threads !== undefined && !b.device.includes("thread") ? `, ${b.threads} threads` : ""
      const run = `[run] ${event.pipeline.name} run ${event.runId} backend ${b.name} (${b.device}${threads})${b.reason ? `: ${b.reason}` : ""}`
      const variant = state.sweep?.variants.find((v) => v.runId === event.runId)
      return variant ? `${variantLine(state, variant)}\n${run}` : run
    }
    case "backend-ready": {
      const replanned =
        event.expected !== event.fingerprint ? ` (${event.fingerprint}, not the expected ${event.expected}: planned again)` : ""
      const why = event.backend.reason ? `: ${event.backend.reason}` : ""
      return `[backend] ${event.backend.name} ${event.backend.device} started in ${formatDuration(event.initMs)}${replanned}${why}`
    }
    case "node-planned":
      return event.status === "cached" ? `[plan] ${event.id}: cached` : `[plan] ${event.id}: will run because ${event.reason}`
    case "node-cached":
      return `[cached] ${event.id}`
    case "node-started":
      return event.resumed !== undefined ? `[start] ${event.id} (resumed from ${event.resumed})` : `[start] ${event.id}`
    case "node-progress": {
      const node = state.nodes.find((n) => n.id === event.id)
      return node === undefined ? undefined : `[progress] ${progressText(node)}`
    }
    case "node-log":
      if (event.level === "debug" && !debug) return undefined
      return `[log] ${event.id}: ${event.level === "info" ? "" : `${event.level}: `}${event.message}`
    case "node-finished":
      return `[done] ${event.id} ${formatDuration(event.durationMs)}`
    case "node-failed":
      return `[fail] ${event.id}: ${event.error}`
    case "node-skipped":
      return `[skip] ${event.id}: ${event.reason}`
    case "run-finished": {
      const c = event.counts
      const outputs = event.outputs !== undefined ? `, outputs in ${event.outputs}` : ""
      const end = `[end] ${event.status}: ${c.ran} ran, ${c.cached} cached, ${c.failed} failed, ${c.skipped} skipped in ${formatDuration(event.durationMs)}${outputs}`
      const variant = state.sweep?.variants.find((v) => v.runId === state.runId)
      return variant ? `${end}\n${variantLine(state, variant)}` : end
    }
  }
}

/** `train 120/500 steps (24%) 3.1 steps/s ETA 2m02s loss 0.0123 - message`. */
const progressText = (node: NodeView): string => {
  const p = node.progress
  if (p === undefined) return node.id
  const unit = p.unit !== undefined ? ` ${p.unit}` : ""
  const parts = [node.id]
  parts.push(
    p.total !== undefined
      ? `${formatNumber(p.done)}/${formatNumber(p.total)}${unit} (${formatPercent(p.done, p.total)})`
      : `${formatNumber(p.done)}${unit}`,
  )
  if (node.rate !== undefined) parts.push(formatRate(node.rate, p.unit))
  if (node.etaSeconds !== undefined) parts.push(`ETA ${formatEta(node.etaSeconds)}`)
  const scalars = formatScalars(p.scalars)
  if (scalars !== "") parts.push(scalars)
  if (p.message !== undefined && p.message !== "") parts.push(`- ${p.message}`)
  return parts.join(" ")
}

/** `[variant 2/4] params.lr=1e-3 params.steps=800: succeeded in 3.1s, run ID`. */
export const variantLine = (state: RunState, v: VariantView): string => {
  const values = Object.entries(v.params).map(([path, value]) => `${path}=${value}`)
  const status = v.status === "running" ? `run ${v.runId}` : `${v.status} in ${formatDuration(v.durationMs ?? 0)}`
  return `[variant ${v.index + 1}/${state.sweep?.count}] ${values.join(" ")}: ${status}`
}
