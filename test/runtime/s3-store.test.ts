import type { S3Client } from "@aws-sdk/client-s3"
import { Cause, Effect, Exit, Option } from "effect"
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { StoredValue } from "../../src/runtime/ArtifactStore.js"
import { makeS3Client, s3Objects } from "../../src/runtime/store/s3-objects.js"
import { makeS3Store } from "../../src/runtime/store/s3-store.js"
import { startS3Server, type S3Server } from "../fixtures/s3-server.js"

const value: StoredValue = {
  meta: { note: "hello" },
  tensors: { x: { dtype: "float32", shape: [2, 2], data: Float32Array.from([1, 2, 3, 4.5]) } },
}
const info = (key: string) => ({
  key,
  node: "n",
  pipeline: "p",
  material: { kind: "k", version: 1, config: {}, inputs: {} },
  backend: "cpu/4.22.0/js",
  device: "JS",
  durationMs: 1,
})

let server: S3Server
beforeAll(async () => {
  server = await startS3Server()
  Object.assign(process.env, server.env)
})
afterAll(() => server.close())

const client = () => makeS3Client({ endpoint: server.endpoint })

/** A store under its own prefix, with an empty local folder. */
const fresh = (s3: S3Client = client()) => {
  const prefix = `t-${Math.random().toString(36).slice(2)}`
  const objects = s3Objects(s3, server.bucket)
  const root = mkdtempSync(join(tmpdir(), "s3-store-"))
  return { store: makeS3Store({ bucket: server.bucket, prefix }, objects, root), objects, prefix, root }
}

const failure = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.isFailure(exit) && String((Cause.squash(exit.cause) as { cause?: unknown }).cause ?? Cause.squash(exit.cause))

const keysUnder = async (objects: ReturnType<typeof s3Objects>, prefix: string) => (await objects.list(prefix)).map((o) => o.key).sort()

describe("the S3 artifact store", () => {
  it("stores the files and then the manifest, reads them back from any machine, and keeps a read cache", async () => {
    const { store, objects, prefix } = fresh()
    const report = mkdtempSync(join(tmpdir(), "report-"))
    mkdirSync(join(report, "sub"))
    writeFileSync(join(report, "table.md"), "| a |")
    writeFileSync(join(report, "sub", "data.json"), "[1]")
    await Effect.runPromise(store.write(info("k1"), { out: value }, report))
    expect(await keysUnder(objects, prefix)).toEqual(
      ["manifest.json", "out.safetensors", "report/sub/data.json", "report/table.md"].map((f) => `${prefix}/objects/k1/${f}`),
    )
    const elsewhere = makeS3Store({ bucket: server.bucket, prefix }, objects, mkdtempSync(join(tmpdir(), "s3-store-")))
    expect(await Effect.runPromise(elsewhere.has("k1"))).toBe(true)
    expect(await Effect.runPromise(elsewhere.has("k2"))).toBe(false)
    const back = await Effect.runPromise(elsewhere.read("k1", "out"))
    expect(back.meta).toEqual(value.meta)
    expect([...back.tensors.x!.data]).toEqual([1, 2, 3, 4.5])
    await Effect.runPromise(elsewhere.verify("k1"))
    const copied = mkdtempSync(join(tmpdir(), "copied-"))
    expect(await Effect.runPromise(elsewhere.copyReport("k1", copied))).toBe(true)
    expect(readFileSync(join(copied, "sub", "data.json"), "utf8")).toBe("[1]")
    expect((await Effect.runPromise(elsewhere.list)).map((m) => m.key)).toEqual(["k1"])
    expect(store.locationOf("k1")).toBe(`s3://${server.bucket}/${prefix}/objects/k1`)
  })

  it("detects a damaged file in the bucket, and fetches again a damaged copy in the read cache", async () => {
    const { store, objects, prefix, root } = fresh()
    await Effect.runPromise(store.write(info("k1"), { out: value }))
    const cached = readdirSync(join(root, "read-cache"))
    expect(cached).toHaveLength(1)
    writeFileSync(join(root, "read-cache", cached[0]!), "damaged")
    expect((await Effect.runPromise(store.read("k1", "out"))).meta).toEqual(value.meta)
    const blob = `${prefix}/objects/k1/out.safetensors`
    const bytes = (await objects.get(blob))!
    bytes[bytes.length - 1] ^= 1
    await objects.put(blob, bytes)
    const other = makeS3Store({ bucket: server.bucket, prefix }, objects, mkdtempSync(join(tmpdir(), "s3-store-")))
    const exit = await Effect.runPromiseExit(other.read("k1", "out"))
    expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toContain("CorruptArtifact")
    expect(Exit.isFailure(await Effect.runPromiseExit(other.verify("k1")))).toBe(true)
    expect(readdirSync(join(other.root, "read-cache"))).toEqual([])
  })

  it("leaves no manifest and no file when a write fails midway", async () => {
    const s3 = client()
    let puts = 0
    s3.middlewareStack.add(
      (next) => async (args) => {
        if ((args.input as { Key?: string }).Key?.endsWith("b.safetensors") && ++puts === 1) throw new Error("injected: connection lost")
        return next(args)
      },
      { step: "initialize", name: "failSecondFile" },
    )
    const { store, objects, prefix } = fresh(s3)
    await Effect.runPromise(store.write(info("k1"), { a: value }))
    const exit = await Effect.runPromiseExit(store.write(info("k1"), { a: value, b: value }))
    expect(failure(exit)).toContain("injected: connection lost")
    expect(Option.isNone(await Effect.runPromise(store.manifest("k1")))).toBe(true)
    expect(await keysUnder(objects, prefix)).toEqual([])
    expect(readdirSync(join(store.root, "tmp"))).toEqual([])
    await Effect.runPromise(store.write(info("k1"), { a: value, b: value }))
    expect((await Effect.runPromise(store.read("k1", "b"))).meta).toEqual(value.meta)
  })

  it("removes an entry manifest first, and says when the bucket cannot be reached", async () => {
    const { store, objects, prefix } = fresh()
    await Effect.runPromise(store.write(info("k1"), { out: value }))
    await Effect.runPromise(store.remove("k1"))
    expect(await keysUnder(objects, prefix)).toEqual([])
    await Effect.runPromise(store.ready)
    const missing = makeS3Store({ bucket: "no-such-bucket", prefix: "" }, s3Objects(client(), "no-such-bucket"), store.root)
    const exit = await Effect.runPromiseExit(missing.ready)
    expect(failure(exit)).toContain("no such bucket")
  })

  it("collects the files an interrupted write left over an hour ago, and local copies no entry needs", async () => {
    const { store, objects, prefix, root } = fresh()
    await Effect.runPromise(store.write(info("k1"), { out: value }))
    await objects.put(`${prefix}/objects/old/out.safetensors`, "left by a writer killed long ago")
    await objects.put(`${prefix}/objects/new/out.safetensors`, "being written")
    const anHourAgo = new Date(Date.now() - 3700 * 1000)
    const oldFiles = join(server.directory, server.bucket, prefix, "objects", "old")
    for (const name of readdirSync(oldFiles)) utimesSync(join(oldFiles, name), anHourAgo, anHourAgo)
    writeFileSync(join(root, "read-cache", "0".repeat(64)), "no entry needs this")
    const freed = "left by a writer killed long ago".length + "no entry needs this".length
    expect(await Effect.runPromise(store.removeLeftovers(true))).toBe(freed)
    expect(await keysUnder(objects, `${prefix}/objects/old/`)).toHaveLength(1)
    expect(await Effect.runPromise(store.removeLeftovers(false))).toBe(freed)
    expect(await keysUnder(objects, `${prefix}/objects/old/`)).toEqual([])
    expect(await keysUnder(objects, `${prefix}/objects/new/`)).toHaveLength(1)
    expect(readdirSync(join(root, "read-cache"))).toHaveLength(1)
    expect((await Effect.runPromise(store.read("k1", "out"))).meta).toEqual(value.meta)
  })
})
