/** The one typed event stream of a run. Every reporter (Ink, plain lines, NDJSON, the run log) consumes it. */

import type { Progress } from "../nodes/contract.js"
import type { SweepMembership } from "./run-info.js"

export type { Progress, SweepMembership }

export interface BackendSummary {
  readonly name: string
  readonly version: string
  readonly device: string
  readonly threads?: number
  /** Why this backend: the choice, and under auto what decided it. */
  readonly reason: string
}

export interface NodeSummary {
  readonly id: string
  readonly kind: string
}

export type PlanStatus = "cached" | "run"

export interface MemoryDelta {
  readonly tensors: number
  readonly bytes: number
}

export type RunStatus = "succeeded" | "failed" | "interrupted"

export type RunEvent =
  | {
      readonly type: "run-started"
      readonly at: number
      readonly runId: string
      readonly pipeline: { readonly name: string; readonly file: string }
      /** When the run is a variant of a sweep. */
      readonly sweep?: SweepMembership
      /** The backend the run will use; it starts only when a node has to run (then `backend-ready` follows). */
      readonly backend: BackendSummary
      readonly nodes: ReadonlyArray<NodeSummary>
    }
  | {
      readonly type: "backend-ready"
      readonly at: number
      readonly backend: BackendSummary
      readonly fingerprint: string
      /** The fingerprint planned with before it started; a different one means the run planned again. */
      readonly expected: string
      readonly initMs: number
    }
  | { readonly type: "node-planned"; readonly at: number; readonly id: string; readonly status: PlanStatus; readonly reason: string }
  | { readonly type: "node-cached"; readonly at: number; readonly id: string }
  | { readonly type: "node-started"; readonly at: number; readonly id: string; readonly resumed?: string }
  | ({ readonly type: "node-progress"; readonly at: number; readonly id: string } & Progress)
  | {
      readonly type: "node-log"
      readonly at: number
      readonly id: string
      readonly level: "info" | "warn" | "debug"
      readonly message: string
    }
  | {
      readonly type: "node-finished"
      readonly at: number
      readonly id: string
      readonly durationMs: number
      readonly memory?: MemoryDelta
    }
  | { readonly type: "node-failed"; readonly at: number; readonly id: string; readonly error: string }
  | { readonly type: "node-skipped"; readonly at: number; readonly id: string; readonly reason: string }
  | {
      readonly type: "run-finished"
      readonly at: number
      readonly status: RunStatus
      readonly durationMs: number
      readonly counts: { readonly ran: number; readonly cached: number; readonly failed: number; readonly skipped: number }
      readonly outputs?: string
    }

export type RunEventType = RunEvent["type"]

/** Consumes the run's events as they are published (reporters, the run log). */
export type RunEventListener = (event: RunEvent) => void
