import { Effect, Option } from "effect"
import { randomUUID } from "node:crypto"
import { cp, mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { CorruptArtifact } from "../errors.js"
import { tmpPrefix } from "../leases.js"
import { hashFile, readValue, writeValue } from "../stored-value.js"
import { attempt, localCheckpoints, portFile, requireManifest, type ArtifactStoreShape, type Manifest } from "./shape.js"

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  )

/** Content-addressed artifacts under `root/objects/KEY/`, checkpoints under `root/checkpoints/KEY/`. */
export const makeFileStore = (root: string): ArtifactStoreShape => {
  const objects = join(root, "objects")
  const tmp = join(root, "tmp")
  const dirOf = (key: string) => join(objects, key)

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

  const verify = (key: string) =>
    Effect.gen(function* () {
      const m = yield* requireManifest(manifest, key)
      for (const name of Object.keys(m.files)) yield* checkFile(key, m, name)
    })

  const read = (key: string, port: string) =>
    Effect.gen(function* () {
      const m = yield* requireManifest(manifest, key)
      yield* checkFile(key, m, portFile(port))
      return yield* attempt(dirOf(key), () => readValue(join(dirOf(key), portFile(port))))
    })

  /** Writes into a temporary folder, checksums, then renames into place. */
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

  const copyReport = (key: string, destination: string) =>
    attempt(dirOf(key), async () => {
      const source = join(dirOf(key), "report")
      if (!(await exists(source))) return false
      await mkdir(destination, { recursive: true })
      await cp(source, destination, { recursive: true })
      return true
    })

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

  return {
    root,
    location: `file:${root}`,
    locationOf: dirOf,
    ready: Effect.void,
    has: (key) => attempt(dirOf(key), () => exists(join(dirOf(key), "manifest.json"))),
    manifest,
    verify,
    read,
    write,
    scratchDir: (key) => join(tmp, `${tmpPrefix()}${key.slice(0, 16)}-report-${randomUUID()}`),
    copyReport,
    remove,
    list,
    // A write in progress is a folder in root/tmp, which removeOrphans cleans up.
    removeLeftovers: () => Effect.succeed(0),
    checkpoint: localCheckpoints(root),
  }
}
