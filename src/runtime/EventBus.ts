import { Context, Effect, Layer, type Scope } from "effect"
import type { RunEvent, RunEventListener } from "./events.js"

export interface EventBusShape {
  readonly publish: (event: RunEvent) => Effect.Effect<void>
  /** Adds a listener for the lifetime of the current scope. */
  readonly subscribe: (listener: RunEventListener) => Effect.Effect<void, never, Scope.Scope>
}

/**
 * The run's one event stream. Delivery is synchronous and in order, so every reporter has seen every event
 * by the time `publish` returns, including the last one before the process exits.
 */
export class EventBus extends Context.Service<EventBus, EventBusShape>()("dirac-pipe/runtime/EventBus") {
  static readonly layer = Layer.sync(EventBus, () => {
    const listeners = new Set<RunEventListener>()
    return EventBus.of({
      publish: (event) =>
        Effect.sync(() => {
          for (const listener of listeners) listener(event)
        }),
      subscribe: (listener) =>
        Effect.acquireRelease(
          Effect.sync(() => listeners.add(listener)),
          () => Effect.sync(() => listeners.delete(listener)),
        ).pipe(Effect.asVoid),
    })
  })
}
