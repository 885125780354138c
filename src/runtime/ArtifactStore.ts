import { Context, Effect, Layer, Option } from "effect"
import { randomUUID } from "node:crypto"
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises"
import { join } from "node:path"
import type { KeyMaterial } from "./cache-key.js"
import { CorruptArtifact, StoreError } from "./errors.js"
import { loadCheckpoint, saveCheckpoint, type LoadedCheckpoint } from "./checkpoint-store.js"
import { hashFile, readValue, writeValue, type StoredValue } from "./stored-value.js"
import { tmpPrefix } from "./leases.js"

export type { StoredValue }

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
  readonly root: string
  readonly dirOf: (key: string) => string
  readonly manifest: (key: string) => Effect.Effect<Option.Option<Manifest>, StoreError>
  /** Re-hashes every file of an entry; fails with CorruptArtifact on any difference. */
  readonly verify: (key: string) => Effect.Effect<void, CorruptArtifact | StoreError>
  readonly read: (key: string, port: string) => Effect.Effect<StoredValue, CorruptArtifact | StoreError>
  /** Writes into a temporary folder, checksums, then renames into place: never a half-written entry. */
  readonly write: (
    manifest: Omit<Manifest, "files" | "createdAt">,
    values: Readonly<Record<string, StoredValue>>,
    /** A folder of files for people (plots, tables) that moves into the entry as `report/`. */
    reportDir?: string,
  ) => Effect.Effect<void, StoreError>
  /** A scratch folder for a node's report files, to pass to `write`. */
  readonly scratchDir: (key: string) => string
  readonly remove: (key: string) => Effect.Effect<void, StoreError>
  readonly list: Effect.Effect<ReadonlyArray<Manifest>, StoreError>
  readonly checkpoint: {
    /** The newest intact checkpoint; damaged ones are set aside and listed, never returned. */
    readonly load: (key: string) => Effect.Effect<LoadedCheckpoint, StoreError>
    readonly save: (key: string, value: StoredValue) => Effect.Effect<void, StoreError>
    readonly clear: (key: string) => Effect.Effect<void, StoreError>
  }
}

const portFile = (port: string) => `${port}.safetensors`

const attempt = <A>(path: string, run: () => Promise<A>): Effect.Effect<A, StoreError> =>
  Effect.tryPromise({ try: run, catch: (cause) => new StoreError({ path, cause }) })

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  )

/** Content-addressed artifacts under `root/objects/KEY/`, checkpoints under `root/checkpoints/KEY/`. */
export const makeArtifactStore = (root: string): ArtifactStoreShape => {
  const objects = join(root, "objects")
  const tmp = join(root, "tmp")
  const dirOf = (key: string) => join(objects, key)
  const checkpointDir = (key: string) => join(root, "checkpoints", key)

  const manifest = (key: string) =>
    attempt(dirOf(key), async () => {
      const path = join(dirOf(key), "manifest.json")
      if (!(await exists(path))) return Option.none<Manifest>()
      return Option.some(JSON.parse(await readFile(path, "utf8")) as Manifest)
    })

  const checkFile = (key: string, m: Manifest, name: string) =>
    Effect.gen(function* () {
      const expected = m.files[name]
      const actual = yield* attempt(dirOf(key), () => hashFile(join(dirOf(key), name)).catch(() => "missing"))
      if (!expected || actual !== expected.sha256) return yield* Effect.fail(new CorruptArtifact({ key, file: name }))
    })

  const requireManifest = (key: string) =>
    Effect.flatMap(manifest(key), (m) =>
      Option.isSome(m) ? Effect.succeed(m.value) : Effect.fail(new CorruptArtifact({ key, file: "manifest.json" })),
    )

  const verify = (key: string) =>
    Effect.gen(function* () {
      const m = yield* requireManifest(key)
      for (const name of Object.keys(m.files)) yield* checkFile(key, m, name)
    })

  const read = (key: string, port: string) =>
    Effect.gen(function* () {
      const m = yield* requireManifest(key)
      yield* checkFile(key, m, portFile(port))
      return yield* attempt(dirOf(key), () => readValue(join(dirOf(key), portFile(port))))
    })

  const write: ArtifactStoreShape["write"] = (info, values, reportDir) => {
    const staging = join(tmp, `${tmpPrefix()}${randomUUID()}`)
    return attempt(staging, async () => {
      await mkdir(staging, { recursive: true })
      const files: Record<string, { sha256: string; bytes: number }> = {}
      const record = async (name: string) => {
        const path = join(staging, name)
        files[name] = { sha256: await hashFile(path), bytes: (await stat(path)).size }
      }
      for (const [port, value] of Object.entries(values)) {
        await writeValue(join(staging, portFile(port)), value)
        await record(portFile(port))
      }
      if (reportDir && (await exists(reportDir))) {
        await rename(reportDir, join(staging, "report"))
        for (const name of await readdir(join(staging, "report"), { recursive: true })) {
          if ((await stat(join(staging, "report", name))).isFile()) await record(join("report", name))
        }
      }
      const full: Manifest = { ...info, createdAt: new Date().toISOString(), files }
      await writeFile(join(staging, "manifest.json"), JSON.stringify(full, null, 2))
      await mkdir(objects, { recursive: true })
      await rm(dirOf(info.key), { recursive: true, force: true })
      await rename(staging, dirOf(info.key))
    }).pipe(Effect.ensuring(Effect.promise(() => rm(staging, { recursive: true, force: true }))))
  }

  const remove = (key: string) => attempt(dirOf(key), () => rm(dirOf(key), { recursive: true, force: true }))

  const list = attempt(objects, async () => {
    const keys = (await exists(objects)) ? await readdir(objects) : []
    const manifests = await Promise.all(
      keys.map((key) =>
        readFile(join(dirOf(key), "manifest.json"), "utf8").then(
          (t) => JSON.parse(t) as Manifest,
          () => undefined,
        ),
      ),
    )
    return manifests.filter((m): m is Manifest => m !== undefined)
  })

  const checkpoint: ArtifactStoreShape["checkpoint"] = {
    load: (key) => attempt(checkpointDir(key), () => loadCheckpoint(checkpointDir(key))),
    save: (key, value) => attempt(checkpointDir(key), () => saveCheckpoint(checkpointDir(key), value)),
    clear: (key) => attempt(checkpointDir(key), () => rm(checkpointDir(key), { recursive: true, force: true })),
  }

  const scratchDir = (key: string) => join(tmp, `${tmpPrefix()}${key.slice(0, 16)}-report-${randomUUID()}`)

  return { root, dirOf, manifest, verify, read, write, scratchDir, remove, list, checkpoint }
}

export class ArtifactStore extends Context.Service<ArtifactStore, ArtifactStoreShape>()("dirac-pipe/runtime/ArtifactStore") {
  static readonly layer = (root: string) => Layer.succeed(ArtifactStore, makeArtifactStore(root))
}
