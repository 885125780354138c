import { Effect, Option } from "effect"
import { rm } from "node:fs/promises"
import { join } from "node:path"
import type { KeyMaterial } from "../cache-key.js"
import { loadCheckpoint, saveCheckpoint, type LoadedCheckpoint } from "../checkpoint-store.js"
import { CorruptArtifact, StoreError } from "../errors.js"
import type { StoredValue } from "../stored-value.js"

export interface Manifest {
  readonly key: string
  readonly node: string
  readonly pipeline: string
  readonly material: KeyMaterial
  /** Backend fingerprint, e.g. "wasm/4.22.0/simd" or "webgpu/4.22.0/nvidia-hopper". */
  readonly backend: string
  /** What computed the values, e.g. "WASM SIMD, 8 threads" or "WebGPU on NVIDIA H100 80GB HBM3". */
  readonly device: string
  /** Why that backend computed it (the run's choice; under auto, what decided it). Absent in older entries. */
  readonly backendReason?: string
  readonly createdAt: string
  readonly durationMs: number
  readonly files: Readonly<Record<string, { readonly sha256: string; readonly bytes: number }>>
}

export interface ArtifactStoreShape {
  /** The local folder: run logs, records, leases, locks, checkpoints, scratch files (and the S3 store's read cache). */
  readonly root: string
  /** Where the artifacts are, as `--store` names it: `file:DIR` or `s3://BUCKET/PREFIX`. */
  readonly location: string
  /** Where one entry's files are: a folder, or an `s3://` address. */
  readonly locationOf: (key: string) => string
  /** Fails when the store cannot be reached or written, before any work. */
  readonly ready: Effect.Effect<void, StoreError>
  /** Whether the entry is committed (its manifest exists); its files are not checked. */
  readonly has: (key: string) => Effect.Effect<boolean, StoreError>
  readonly manifest: (key: string) => Effect.Effect<Option.Option<Manifest>, StoreError>
  /** Re-hashes every file of an entry; fails with CorruptArtifact on any difference. */
  readonly verify: (key: string) => Effect.Effect<void, CorruptArtifact | StoreError>
  readonly read: (key: string, port: string) => Effect.Effect<StoredValue, CorruptArtifact | StoreError>
  /** Stores the files first and the manifest last: a reader never sees a half-written entry, a failed write leaves none. */
  readonly write: (
    manifest: Omit<Manifest, "files" | "createdAt">,
    values: Readonly<Record<string, StoredValue>>,
    /** A folder of files for people (plots, tables) that is stored with the entry as `report/`. */
    reportDir?: string,
  ) => Effect.Effect<void, StoreError>
  /** A scratch folder for a node's report files, to pass to `write`. */
  readonly scratchDir: (key: string) => string
  /** Copies the entry's `report/` files into `destination`; false when it has none. */
  readonly copyReport: (key: string, destination: string) => Effect.Effect<boolean, CorruptArtifact | StoreError>
  readonly remove: (key: string) => Effect.Effect<void, StoreError>
  readonly list: Effect.Effect<ReadonlyArray<Manifest>, StoreError>
  /** Removes what interrupted writes left in the store (besides `root/tmp`) and local copies no entry needs; returns the bytes freed. */
  readonly removeLeftovers: (dryRun: boolean) => Effect.Effect<number, StoreError>
  /** Checkpoints stay in the local folder: they are one process's progress, not results to share. */
  readonly checkpoint: {
    /** The newest intact checkpoint; damaged ones are set aside and listed, never returned. */
    readonly load: (key: string) => Effect.Effect<LoadedCheckpoint, StoreError>
    readonly save: (key: string, value: StoredValue) => Effect.Effect<void, StoreError>
    readonly clear: (key: string) => Effect.Effect<void, StoreError>
  }
}

export const portFile = (port: string) => `${port}.safetensors`

export const reportPrefix = "report/"

export const attempt = <A>(path: string, run: () => Promise<A>): Effect.Effect<A, StoreError> =>
  Effect.tryPromise({ try: run, catch: (cause) => new StoreError({ path, cause }) })

/** The entry's manifest, or CorruptArtifact when it has none. */
export const requireManifest = (manifest: ArtifactStoreShape["manifest"], key: string) =>
  Effect.flatMap(manifest(key), (m) =>
    Option.isSome(m) ? Effect.succeed(m.value) : Effect.fail(new CorruptArtifact({ key, file: "manifest.json" })),
  )

export const localCheckpoints = (root: string): ArtifactStoreShape["checkpoint"] => {
  const dir = (key: string) => join(root, "checkpoints", key)
  return {
    load: (key) => attempt(dir(key), () => loadCheckpoint(dir(key))),
    save: (key, value) => attempt(dir(key), () => saveCheckpoint(dir(key), value)),
    clear: (key) => attempt(dir(key), () => rm(dir(key), { recursive: true, force: true })),
  }
}
