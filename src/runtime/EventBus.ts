import { Context, Effect, Layer } from "effect"
import type { Reporter } from "../ui/reporter.js"
import type { RunEvent } from "./events.js"

type Listener = Reporter["onEvent"]

export interface EventBusShape {
  readonly publish: (event: RunEvent) => Effect.Effect<void>
  /** Adds a listener for the lifetime of the current scope. */
  readonly subscribe: (listener: Listener) => Effect.Effect<void, never, import("effect").Scope.Scope>
}

/**
 * The run's one event stream. Delivery is synchronous and in order, so every reporter has seen every event
 * by the time `publish` returns, including the last one before the process exits.
 */
export class EventBus extends Context.Service<EventBus, EventBusShape>()("dirac-pipe/runtime/EventBus") {
  static readonly layer = Layer.sync(EventBus, () => {
    const listeners = new Set<Listener>()
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
