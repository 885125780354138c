/**
 * Hostile pickles, generated here, are refused quickly with the limit they hit named (src/dirac/io/unpickle-limits.ts);
 * before the limits, the memo bomb drove `pipe convert` to a V8 out-of-memory abort.
 */
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { OpenedCheckpoint } from "../../src/dirac/io/torch-checkpoint.js"
import { toPlain, unpickle } from "../../src/dirac/io/unpickle.js"
import { ZipWriter } from "../../bench/lib/zip64-writer.js"

const PROTO2 = [0x80, 0x02]
const [EMPTY_LIST, MARK, LIST, APPEND, APPENDS, BINGET, BINPUT, LONG_BINPUT, POP, NONE, STOP] = [
  0x5d, 0x28, 0x6c, 0x61, 0x65, 0x68, 0x71, 0x72, 0x30, 0x4e, 0x2e,
]

/** "Billion laughs": list i holds `fanout` memo references to list i - 1, 1 KB for fanout^levels values. */
const memoBomb = (levels = 29, fanout = 10): Uint8Array => {
  const ops = [...PROTO2, EMPTY_LIST, BINPUT, 0]
  for (let i = 1; i <= levels; i++)
    ops.push(
      MARK,
      ...Array(fanout)
        .fill([BINGET, i - 1])
        .flat(),
      LIST,
      BINPUT,
      i,
    )
  return Uint8Array.from([...ops, STOP])
}

/** The same bomb with every list made empty first and filled from the top down, after it is nested. */
const memoBombFilledLate = (levels = 29, fanout = 10): Uint8Array => {
  const ops = [...PROTO2]
  for (let i = 0; i <= levels; i++) ops.push(EMPTY_LIST, BINPUT, i, POP)
  for (let i = levels; i >= 1; i--)
    ops.push(
      BINGET,
      i,
      MARK,
      ...Array(fanout)
        .fill([BINGET, i - 1])
        .flat(),
      APPENDS,
      POP,
    )
  return Uint8Array.from([...ops, BINGET, levels, STOP])
}

/** `n` lists, each appended to the one before: n deep, 2 bytes a level. */
const nestedLists = (n: number): Uint8Array => {
  const bytes = new Uint8Array(PROTO2.length + 2 * n)
  bytes.set(PROTO2)
  bytes.fill(EMPTY_LIST, 2, 2 + n)
  bytes.fill(APPEND, 2 + n, 1 + 2 * n)
  bytes[1 + 2 * n] = STOP
  return bytes
}

/** One None stored under `n` memo keys. */
const memoFlood = (n: number): Uint8Array => {
  const bytes = Buffer.alloc(PROTO2.length + 1 + 5 * n + 1)
  bytes.set([...PROTO2, NONE])
  for (let i = 0; i < n; i++) {
    bytes[3 + 5 * i] = LONG_BINPUT
    bytes.writeUInt32LE(i, 4 + 5 * i)
  }
  bytes[bytes.length - 1] = STOP
  return bytes
}

const refusal = (bytes: Uint8Array) => {
  const started = performance.now()
  let message = ""
  try {
    unpickle(bytes, { source: "hostile.ckpt" })
  } catch (e) {
    message = (e as Error).message
  }
  return { message, ms: performance.now() - started }
}

describe("unpickler limits", () => {
  it.each([
    ["the memo bomb (1 KB)", () => memoBomb(), /unpickleLimits\.expanded/, 1_000],
    ["the memo bomb filled after nesting", () => memoBombFilledLate(), /unpickleLimits\.expanded/, 1_000],
    ["8 M nested lists (16 MB)", () => nestedLists(8_000_000), /limit of 2,000,000 values built \(unpickleLimits\.objects\)/, 5_000],
    ["5,000 nested lists", () => nestedLists(5_000), /limit of 1,000 levels of nesting \(unpickleLimits\.depth\)/, 1_000],
    ["a memo of 2 M + 1 entries", () => memoFlood(2_000_001), /limit of 2,000,000 memo entries \(unpickleLimits\.memo\)/, 5_000],
  ])("refuses %s quickly, naming the limit", (_name, make, limit, withinMs) => {
    const { message, ms } = refusal(make())
    expect(message).toMatch(/^hostile\.ckpt: the pickle exceeds the limit of /)
    expect(message).toMatch(limit)
    expect(ms).toBeLessThan(withinMs)
  })

  it("accepts what is below the limits: shared values and nesting a real checkpoint never reaches", () => {
    const plain = toPlain(unpickle(memoBomb(4, 10))) as unknown[]
    expect(plain).toHaveLength(10)
    expect(JSON.stringify(plain).match(/\[\]/g)).toHaveLength(10_000)
    expect(() => unpickle(nestedLists(900))).not.toThrow()
  })
})

describe("checkpoints with a hostile pickle", () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "unpickle-limits-"))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  const checkpointWith = async (name: string, pickle: Uint8Array) => {
    const path = join(dir, name)
    const zip = await ZipWriter.create(path)
    await zip.add("archive/data.pkl", pickle.length, [pickle])
    await zip.add("archive/version", 2, [Buffer.from("3\n")])
    await zip.finish()
    return path
  }

  it("a memo bomb is refused when opened, naming the file and the limit", async () => {
    const path = await checkpointWith("bomb.ckpt", memoBomb())
    await expect(OpenedCheckpoint.open(path)).rejects.toThrow(`${path}: the pickle exceeds the limit of 10,000,000 values when expanded`)
  })

  it("a pickle record over 64 MB is refused before it is read", async () => {
    const path = await checkpointWith("big.ckpt", new Uint8Array((64 << 20) + 1))
    await expect(OpenedCheckpoint.open(path)).rejects.toThrow(
      `${path}: archive/data.pkl is 67108865 bytes; the pickle exceeds the limit of 67,108,864 bytes of pickle (unpickleLimits.pickleBytes)`,
    )
  })
})
