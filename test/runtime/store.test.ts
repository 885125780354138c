import { Effect, Exit, Option } from "effect"
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import type { StoredValue } from "../../src/runtime/ArtifactStore.js"
import { makeFileStore } from "../../src/runtime/store/file-store.js"
import { readSafetensors, writeSafetensors } from "../../src/dirac/io/safetensors.js"

const value: StoredValue = {
  meta: { ids: ["a", "b"], note: "hello" },
  tensors: {
    x: { dtype: "float32", shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6.5]) },
    n: { dtype: "int32", shape: [3], data: Int32Array.from([7, -8, 9]) },
  },
}
const info = {
  key: "k1",
  node: "n",
  pipeline: "p",
  material: { kind: "k", version: 1, config: {}, inputs: {} },
  backend: "cpu/4.22.0/js",
  device: "JS",
  durationMs: 1,
}

describe("safetensors", () => {
  it("round-trips tensors and metadata with a header a Python reader accepts", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "st-")), "v.safetensors")
    await writeSafetensors(path, value.tensors, { hello: "world" })
    const bytes = readFileSync(path)
    const headerLength = Number(bytes.readBigUInt64LE(0))
    expect(headerLength % 8).toBe(0)
    const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString())
    expect(header.n).toEqual({ dtype: "I32", shape: [3], data_offsets: [0, 12] })
    expect(header.x).toEqual({ dtype: "F32", shape: [2, 3], data_offsets: [12, 36] })
    const back = await readSafetensors(path)
    expect(back.metadata).toEqual({ hello: "world" })
    expect([...back.tensors.x.data]).toEqual([1, 2, 3, 4, 5, 6.5])
    expect([...back.tensors.n.data]).toEqual([7, -8, 9])
  })
  it("reads F16 and BF16 as float32", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "st-")), "h.safetensors")
    const header = JSON.stringify({
      h: { dtype: "F16", shape: [2], data_offsets: [0, 4] },
      b: { dtype: "BF16", shape: [1], data_offsets: [4, 6] },
    })
    const prefix = Buffer.alloc(8)
    prefix.writeBigUInt64LE(BigInt(header.length))
    writeFileSync(path, Buffer.concat([prefix, Buffer.from(header), Buffer.from([0x00, 0x3c, 0x00, 0xc0, 0xc0, 0x3f])]))
    const back = await readSafetensors(path)
    expect([...back.tensors.h.data]).toEqual([1, -2])
    expect([...back.tensors.b.data]).toEqual([1.5])
  })
})

describe("ArtifactStore", () => {
  it("writes atomically, reads back, and verifies checksums", async () => {
    const root = mkdtempSync(join(tmpdir(), "store-"))
    const store = makeFileStore(root)
    await Effect.runPromise(store.write(info, { out: value }))
    expect(readdirSync(join(root, "tmp"))).toEqual([])
    const back = await Effect.runPromise(store.read("k1", "out"))
    expect(back.meta).toEqual(value.meta)
    expect([...back.tensors.x.data]).toEqual([1, 2, 3, 4, 5, 6.5])
    await Effect.runPromise(store.verify("k1"))
    const file = join(root, "objects", "k1", "out.safetensors")
    const bytes = readFileSync(file)
    bytes[bytes.length - 2] ^= 1
    writeFileSync(file, bytes)
    const exit = await Effect.runPromiseExit(store.read("k1", "out"))
    expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toContain("CorruptArtifact")
    expect(Exit.isFailure(await Effect.runPromiseExit(store.verify("k1")))).toBe(true)
  })

  it("never leaves a half-written entry when writing fails", async () => {
    const root = mkdtempSync(join(tmpdir(), "store-"))
    const store = makeFileStore(root)
    const bad: StoredValue = { meta: {}, tensors: { x: { dtype: "float32", shape: [2], data: null as unknown as Float32Array } } }
    const exit = await Effect.runPromiseExit(store.write(info, { out: bad }))
    expect(Exit.isFailure(exit)).toBe(true)
    expect(Option.isNone(await Effect.runPromise(store.manifest("k1")))).toBe(true)
    expect(readdirSync(join(root, "tmp"))).toEqual([])
  })

  it("saves, loads and clears checkpoints", async () => {
    const store = makeFileStore(mkdtempSync(join(tmpdir(), "store-")))
    expect(Option.isNone((await Effect.runPromise(store.checkpoint.load("k"))).state)).toBe(true)
    await Effect.runPromise(store.checkpoint.save("k", value))
    await Effect.runPromise(store.checkpoint.save("k", { ...value, meta: { step: 2 } }))
    const loaded = await Effect.runPromise(store.checkpoint.load("k"))
    expect(Option.getOrThrow(loaded.state).meta).toEqual({ step: 2 })
    expect(loaded.setAside).toEqual([])
    await Effect.runPromise(store.checkpoint.clear("k"))
    expect(Option.isNone((await Effect.runPromise(store.checkpoint.load("k"))).state)).toBe(true)
  })
})
