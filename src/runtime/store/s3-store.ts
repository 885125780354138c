import { Effect, Option } from "effect"
import { randomUUID } from "node:crypto"
import { copyFile, mkdir, readdir, readFile, rm, stat } from "node:fs/promises"
import { dirname, join } from "node:path"
import { CorruptArtifact, StoreError } from "../errors.js"
import { tmpPrefix } from "../leases.js"
import { hashFile, readValue, writeValue } from "../stored-value.js"
import { makeReadCache } from "./read-cache.js"
import type { S3Objects } from "./s3-objects.js"
import { attempt, localCheckpoints, portFile, reportPrefix, requireManifest, type ArtifactStoreShape, type Manifest } from "./shape.js"

export interface S3Location {
  readonly bucket: string
  /** Without a trailing slash; empty for the bucket's top. */
  readonly prefix: string
}

/** An entry's files with no manifest that stayed untouched this long are a write that was cut off. */
const INCOMPLETE_AFTER_MS = 3600 * 1000

const manifestName = "manifest.json"

/**
 * Artifacts in a bucket, laid out like the local store: `PREFIX/objects/KEY/PORT.safetensors`, `.../report/...`, and
 * `.../manifest.json`, written last. Files are read through a local read cache under `root/read-cache/`, checked
 * against the manifest's sha256 every time.
 */
export const makeS3Store = (location: S3Location, objects: S3Objects, root: string): ArtifactStoreShape => {
  const url = `s3://${location.bucket}${location.prefix ? `/${location.prefix}` : ""}`
  const objectsPrefix = `${location.prefix ? `${location.prefix}/` : ""}objects/`
  const entryPrefix = (key: string) => `${objectsPrefix}${key}/`
  const locationOf = (key: string) => `${url}/objects/${key}`
  const cache = makeReadCache(join(root, "read-cache"))
  const tmp = join(root, "tmp")
  const remote = <A>(key: string, run: () => Promise<A>) => attempt(locationOf(key), run)

  const manifest = (key: string) =>
    remote(key, async () => {
      const bytes = await objects.get(`${entryPrefix(key)}${manifestName}`)
      return bytes === undefined ? Option.none<Manifest>() : Option.some(JSON.parse(Buffer.from(bytes).toString("utf8")) as Manifest)
    })

  /** A local path of the entry's file, with the checksum its manifest gives. */
  const fetch = (key: string, m: Manifest, name: string) =>
    Effect.gen(function* () {
      const expected = m.files[name]
      const path =
        expected && (yield* remote(key, () => cache.fetch(expected.sha256, (to) => objects.download(`${entryPrefix(key)}${name}`, to))))
      if (!path) return yield* Effect.fail(new CorruptArtifact({ key, file: name }))
      return path
    })

  const verify = (key: string) =>
    Effect.gen(function* () {
      const m = yield* requireManifest(manifest, key)
      for (const name of Object.keys(m.files)) yield* fetch(key, m, name)
    })

  const read = (key: string, port: string) =>
    Effect.gen(function* () {
      const m = yield* requireManifest(manifest, key)
      const path = yield* fetch(key, m, portFile(port))
      return yield* remote(key, () => readValue(path))
    })

  const removeEntry = async (key: string) => {
    await objects.remove([`${entryPrefix(key)}${manifestName}`])
    await objects.remove((await objects.list(entryPrefix(key))).map((o) => o.key))
  }

  /** The files go up first and the manifest last; on a failure, what went up is removed again. */
  const write: ArtifactStoreShape["write"] = (info, values, reportDir) => {
    const staging = join(tmp, `${tmpPrefix()}${randomUUID()}`)
    const key = info.key
    return remote(key, async () => {
      await mkdir(staging, { recursive: true })
      const local: Record<string, string> = {}
      for (const [port, value] of Object.entries(values)) {
        local[portFile(port)] = join(staging, portFile(port))
        await writeValue(local[portFile(port)]!, value)
      }
      if (reportDir) {
        const names = await readdir(reportDir, { recursive: true }).catch(() => [] as string[])
        for (const name of names) if ((await stat(join(reportDir, name))).isFile()) local[`${reportPrefix}${name}`] = join(reportDir, name)
      }
      // An entry being replaced (forced, or found damaged) is no longer an entry from here on.
      await objects.remove([`${entryPrefix(key)}${manifestName}`])
      const files: Record<string, { sha256: string; bytes: number }> = {}
      try {
        for (const [name, path] of Object.entries(local)) {
          const bytes = await readFile(path)
          files[name] = { sha256: await hashFile(path), bytes: bytes.length }
          await objects.put(`${entryPrefix(key)}${name}`, bytes)
          await cache.keep(files[name]!.sha256, path)
        }
        const full: Manifest = { ...info, createdAt: new Date().toISOString(), files }
        await objects.put(`${entryPrefix(key)}${manifestName}`, JSON.stringify(full, null, 2))
      } catch (e) {
        await removeEntry(key).catch(() => undefined)
        throw e
      }
    }).pipe(Effect.ensuring(Effect.promise(() => rm(staging, { recursive: true, force: true }))))
  }

  const copyReport = (key: string, destination: string) =>
    Effect.gen(function* () {
      const m = yield* requireManifest(manifest, key)
      const names = Object.keys(m.files).filter((name) => name.startsWith(reportPrefix))
      for (const name of names) {
        const path = yield* fetch(key, m, name)
        const target = join(destination, name.slice(reportPrefix.length))
        yield* attempt(target, async () => {
          await mkdir(dirname(target), { recursive: true })
          await copyFile(path, target)
        })
      }
      return names.length > 0
    })

  /** The keys of the entries with at least one file, committed or not. */
  const entries = Effect.map(
    attempt(url, () => objects.list(objectsPrefix)),
    (found) => {
      const byKey = new Map<string, typeof found>()
      for (const o of found) {
        const key = o.key.slice(objectsPrefix.length).split("/")[0]!
        byKey.set(key, [...(byKey.get(key) ?? []), o])
      }
      return byKey
    },
  )

  const list = Effect.gen(function* () {
    const byKey = yield* entries
    const committed = [...byKey].filter(([key, files]) => files.some((o) => o.key === `${entryPrefix(key)}${manifestName}`))
    const manifests = yield* Effect.forEach(committed, ([key]) => manifest(key), { concurrency: 16 })
    return manifests.flatMap((m) => (Option.isSome(m) ? [m.value] : []))
  })

  const removeLeftovers = (dryRun: boolean) =>
    Effect.gen(function* () {
      const byKey = yield* entries
      let freed = 0
      for (const [key, files] of byKey) {
        const untouched = Date.now() - Math.max(...files.map((o) => o.modified.getTime())) > INCOMPLETE_AFTER_MS
        if (files.some((o) => o.key === `${entryPrefix(key)}${manifestName}`) || !untouched) continue
        freed += files.reduce((sum, o) => sum + o.bytes, 0)
        if (!dryRun) yield* remote(key, () => objects.remove(files.map((o) => o.key)))
      }
      const wanted = new Set((yield* list).flatMap((m) => Object.values(m.files).map((f) => f.sha256)))
      return freed + (yield* attempt(cache.dir, () => cache.prune(wanted, dryRun)))
    })

  return {
    root,
    location: url,
    locationOf,
    ready: attempt(url, () => objects.checkBucket()).pipe(
      Effect.mapError((e) => new StoreError({ path: url, cause: describeUnreachable(e.cause) })),
    ),
    has: (key) => Effect.map(manifest(key), Option.isSome),
    manifest,
    verify,
    read,
    write,
    scratchDir: (key) => join(tmp, `${tmpPrefix()}${key.slice(0, 16)}-report-${randomUUID()}`),
    copyReport,
    remove: (key) => remote(key, () => removeEntry(key)),
    list,
    removeLeftovers,
    checkpoint: localCheckpoints(root),
  }
}

const describeUnreachable = (cause: unknown): string => {
  const e = cause as { name?: string; message?: string; code?: string; $metadata?: { httpStatusCode?: number } }
  const status = e.$metadata?.httpStatusCode
  if (status === 404) return "no such bucket"
  if (status === 403) return "access denied (check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
  if (e.name === "CredentialsProviderError") return "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
  return `cannot be reached (${e.code ?? e.message ?? e.name ?? String(cause)}; is the endpoint right? --s3-endpoint or AWS_ENDPOINT_URL)`
}
