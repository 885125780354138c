import type { RunEventListener } from "../runtime/events.js"

/** A consumer of the run's event stream. The engine never knows which one is plugged in. */
export interface Reporter {
  readonly onEvent: RunEventListener
  /** Flushes and releases the terminal; called once after the last event. */
  readonly close: () => Promise<void>
}
