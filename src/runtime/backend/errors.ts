/** Which tensor backend a {@link BackendUnavailable} error is about. */
export type BackendName = "tensorflow" | "webgpu" | "wasm" | "cpu"

/**
 * A requested tensor backend cannot be used in this process (package not
 * installed, native binding missing, no GPU adapter...). `message` always says
 * how to get it.
 */
export class BackendUnavailable extends Error {
  readonly _tag = "BackendUnavailable" as const
  override readonly name = "BackendUnavailable"
  readonly backend: BackendName

  constructor(backend: BackendName, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.backend = backend
  }
}
