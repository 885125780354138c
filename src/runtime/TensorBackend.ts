import type * as tfc from "@tensorflow/tfjs-core"
import { Context, Effect, Layer } from "effect"
import type { BackendInfo } from "../nodes/contract.js"
import type { BackendChoice } from "./backend/select.js"
import { BackendError } from "./errors.js"

export interface TensorBackendShape {
  readonly info: BackendInfo
  readonly tf: typeof tfc
}

/** The tfjs backend, chosen once per run; every tensor of the run lives on it. */
export class TensorBackend extends Context.Service<TensorBackend, TensorBackendShape>()("dirac-pipe/runtime/TensorBackend") {
  static readonly layer = (choice: BackendChoice, options: { threads?: number } = {}) =>
    Layer.effect(
      TensorBackend,
      Effect.tryPromise({
        // Loaded on first use: commands that never touch tensors start faster.
        try: () => import("./backend/select.js").then(({ initBackend }) => initBackend(choice, options)),
        catch: (cause) => new BackendError({ reason: cause instanceof Error ? cause.message : String(cause) }),
      }).pipe(
        Effect.map(({ tf, ...info }) =>
          TensorBackend.of({
            tf,
            info: { name: info.name, version: info.version, device: info.device, threads: info.threads, fingerprint: info.fingerprint },
          }),
        ),
      ),
    )
}
