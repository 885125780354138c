import { Data } from "effect"
import type { Diagnostic } from "../dsl/diagnostics.js"

/** The user's input is wrong (pipeline file, flags): exit code 2, diagnostics printed, nothing ran. */
export class InvalidInput extends Data.TaggedError("InvalidInput")<{ readonly diagnostics: ReadonlyArray<Diagnostic> }> {
  override get message() {
    return `${this.diagnostics.length} problem${this.diagnostics.length === 1 ? "" : "s"} in the pipeline`
  }
}

/** The cache folder could not be read or written. */
export class StoreError extends Data.TaggedError("StoreError")<{ readonly path: string; readonly cause: unknown }> {
  override get message() {
    const reason = this.cause instanceof Error ? this.cause.message : String(this.cause)
    return `cache ${this.path}: ${reason}`
  }
}

/** A stored artifact does not match its checksum: it is never trusted. */
export class CorruptArtifact extends Data.TaggedError("CorruptArtifact")<{ readonly key: string; readonly file: string }> {
  override get message() {
    return `artifact ${this.key.slice(0, 12)} is corrupted (checksum mismatch in ${this.file})`
  }
}

/** The tensor backend that was asked for cannot be used here; the message says how to get it. */
export class BackendError extends Data.TaggedError("BackendError")<{ readonly reason: string }> {
  override get message() {
    return this.reason
  }
}

/** Nodes' external data (folders of images) that cannot be read: all found before any work starts. */
export class DataUnavailable extends Data.TaggedError("DataUnavailable")<{
  readonly missing: ReadonlyArray<{ readonly node: string; readonly reason: string }>
}> {
  override get message() {
    return this.missing.map(({ node, reason }) => `node '${node}': ${reason}`).join("\n")
  }
}
