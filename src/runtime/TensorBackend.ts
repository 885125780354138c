import type * as tfc from "@tensorflow/tfjs-core"
import { Context, Effect, Layer } from "effect"
import type { BackendInfo } from "../nodes/contract.js"
import type { PredictedBackend } from "./backend/predict.js"
import type { BackendChoice } from "./backend/choice.js"
import type { InitBackendOptions, StartedBackend } from "./backend/select.js"
import { BackendError } from "./errors.js"

export interface ReadyBackend {
  readonly info: BackendInfo
  readonly tf: typeof tfc
  /** How long the initialisation took. */
  readonly initMs: number
}

export interface TensorBackendShape {
  /** What planning keys on before initialisation: the predicted backend (the actual one for choices that cannot be predicted). */
  readonly expected: PredictedBackend
  /** Initialises the backend on first use; every later use gets the same one. */
  readonly ready: Effect.Effect<ReadyBackend, BackendError>
  /** The backend if it has been initialised. */
  readonly current: () => ReadyBackend | undefined
}

const toError = (cause: unknown) => new BackendError({ reason: cause instanceof Error ? cause.message : String(cause) })

/**
 * The tfjs backend of a run; every tensor of the run lives on it. It starts only when a node has to run, so a
 * fully cached run never pays for it. `expected` must then give the fingerprint that `init` will: the run checks,
 * and plans again when they differ.
 */
export class TensorBackend extends Context.Service<TensorBackend, TensorBackendShape>()("dirac-pipe/runtime/TensorBackend") {
  /** A backend started by `init` on first use, planned as `expected` until then (undefined: start it now). */
  static readonly make = (expected: PredictedBackend | undefined, init: () => Promise<StartedBackend>) =>
    Effect.gen(function* () {
      let started: Promise<ReadyBackend> | undefined
      let current: ReadyBackend | undefined
      const ready = Effect.tryPromise({
        try: () =>
          (started ??= (async () => {
            const t0 = performance.now()
            const { tf, ...info } = await init()
            current = { tf, info, initMs: performance.now() - t0 }
            return current
          })()),
        catch: toError,
      })
      const known = expected ?? (yield* ready).info
      return TensorBackend.of({ expected: known, ready, current: () => current })
    })

  static readonly layer = (choice: BackendChoice, options: InitBackendOptions = {}) =>
    Layer.effect(
      TensorBackend,
      Effect.gen(function* () {
        // Both loaded on first use: commands that never touch tensors start faster.
        const { predictBackend } = yield* Effect.promise(() => import("./backend/predict.js"))
        const expected = yield* Effect.try({ try: () => predictBackend(choice, options), catch: toError })
        return yield* TensorBackend.make(expected, () =>
          import("./backend/select.js").then(({ initBackend }) => initBackend(choice, options)),
        )
      }),
    )
}
