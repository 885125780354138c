import { Effect } from "effect"
import { resolve } from "node:path"
import type { ArtifactStoreShape } from "../runtime/ArtifactStore.js"
import { parseStoreLocation, type StoreLocation } from "../runtime/store/location.js"
import type { S3Settings } from "../runtime/store/s3-objects.js"
import { flag, UsageError, type FlagSpec, type ParsedArgs } from "./args.js"
import { cacheDir } from "./context.js"

export const storeFlags: ReadonlyArray<FlagSpec> = [
  {
    name: "store",
    value: "WHERE",
    description: "where artifacts are kept: file:DIR (a cache folder, as --cache-dir) or s3://BUCKET/PREFIX (env PIPE_STORE)",
  },
  {
    name: "s3-endpoint",
    value: "URL",
    description: "the S3-compatible service of an s3:// store, path-style (env AWS_ENDPOINT_URL; default AWS)",
  },
]

export interface StoreChoice {
  readonly location: StoreLocation
  /** The local folder: the file store itself, or the runs, records and read cache beside an s3:// store. */
  readonly root: string
  readonly s3: S3Settings
}

/** The store that `--store` (or PIPE_STORE) names, default the cache folder; `--cache-dir` stays the local folder. */
export const storeChoice = (args: ParsedArgs, pipelineFile?: string): StoreChoice => {
  const given = flag(args, "store")
  const text = given ?? process.env.PIPE_STORE
  const parsed = text === undefined ? { kind: "file" as const, dir: cacheDir(args, pipelineFile) } : parseStoreLocation(text)
  if (typeof parsed === "string") throw new UsageError(`${given !== undefined ? "--store" : "PIPE_STORE"}: ${parsed}`)
  const endpoint = flag(args, "s3-endpoint") ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL
  if (parsed.kind === "file") {
    if (flag(args, "s3-endpoint") !== undefined) throw new UsageError("--s3-endpoint is for an s3:// store; this one is a folder")
    const explicit = flag(args, "cache-dir")
    if (given !== undefined && explicit !== undefined && resolve(explicit) !== resolve(parsed.dir))
      throw new UsageError(`--store ${given} and --cache-dir ${explicit} name two folders for one cache; give one of them`)
    return { location: parsed, root: resolve(given === undefined && explicit !== undefined ? explicit : parsed.dir), s3: {} }
  }
  if (endpoint !== undefined && !/^https?:\/\/[^/]+/.test(endpoint))
    throw new UsageError(`the S3 endpoint '${endpoint}' is not an http:// or https:// address`)
  return { location: parsed, root: cacheDir(args, pipelineFile), s3: endpoint !== undefined ? { endpoint } : {} }
}

/** Fails with what to check when the store cannot be reached, before any work. */
export const storeReady = (store: ArtifactStoreShape): Effect.Effect<void, UsageError> =>
  store.ready.pipe(Effect.mapError((e) => new UsageError(`the store ${store.location}: ${String(e.cause)}`)))
