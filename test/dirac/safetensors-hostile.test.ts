import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { readSafetensors } from "../../src/dirac/io/safetensors.js"

const dir = mkdtempSync(join(tmpdir(), "st-hostile-"))

/** A file with the given header text and `dataBytes` bytes of data after it. */
const fileWith = (name: string, header: string, dataBytes = 100, declaredLength?: bigint): string => {
  const path = join(dir, `${name}.safetensors`)
  const headerBytes = Buffer.from(header, "utf8")
  const prefix = Buffer.alloc(8)
  prefix.writeBigUInt64LE(declaredLength ?? BigInt(headerBytes.length))
  writeFileSync(path, Buffer.concat([prefix, headerBytes, Buffer.alloc(dataBytes, 1)]))
  return path
}

const tensor = (dtype: unknown, shape: unknown, offsets: unknown) => ({ dtype, shape, data_offsets: offsets })
const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth)

const cases: ReadonlyArray<[string, string, RegExp, bigint?]> = [
  [
    "offsets past the end",
    JSON.stringify({ w: tensor("F32", [100], [0, 400]) }),
    /tensor 'w' data_offsets \[0, 400\] run past the end of the data \(100 bytes\)/,
  ],
  [
    "4 GB range",
    JSON.stringify({ w: tensor("U8", [4000000000], [0, 4000000000]) }),
    /tensor 'w' data_offsets \[0, 4000000000\] run past the end/,
  ],
  [
    "2 GB range in a small file",
    JSON.stringify({ w: tensor("U8", [2000000000], [0, 2000000000]) }),
    /tensor 'w' data_offsets \[0, 2000000000\] run past the end/,
  ],
  ["reversed pair", JSON.stringify({ w: tensor("F32", [2], [8, 0]) }), /tensor 'w' data_offsets \[8, 0\] are reversed/],
  [
    "overlapping ranges",
    JSON.stringify({ a: tensor("F32", [4], [0, 16]), b: tensor("F32", [4], [8, 24]) }),
    /tensor 'b' overlaps tensor 'a'/,
  ],
  ["negative shape", JSON.stringify({ w: tensor("F32", [-1], [0, 4]) }), /tensor 'w' shape \[-1\] is not a list of non-negative integers/],
  ["fractional shape", JSON.stringify({ w: tensor("F32", [1.5], [0, 4]) }), /tensor 'w' shape \[1.5\] is not a list/],
  [
    "huge shape",
    JSON.stringify({ w: tensor("F32", [1e9, 1e9, 1e9], [0, 4]) }),
    /tensor 'w' shape \[1000000000, 1000000000, 1000000000\] of F32 needs too many bytes/,
  ],
  [
    "shape disagrees with the range",
    JSON.stringify({ w: tensor("F32", [3], [0, 8]) }),
    /tensor 'w' shape \[3\] of F32 needs 12 bytes, data_offsets give 8/,
  ],
  ["unknown dtype", JSON.stringify({ w: tensor("C64", [1], [0, 8]) }), /tensor 'w' unsupported dtype "C64"/],
  ["missing offsets", JSON.stringify({ w: { dtype: "F32", shape: [1] } }), /tensor 'w' data_offsets undefined is not a pair/],
  ["offsets not a pair", JSON.stringify({ w: tensor("F32", [1], [0, 4, 8]) }), /tensor 'w' data_offsets \[0, 4, 8\] is not a pair/],
  ["deeply nested tensor entry", `{"w": ${nested(100000)}}`, /tensor 'w' is not an object with dtype, shape and data_offsets/],
  [
    "deeply nested shape",
    `{"w": {"dtype": "F32", "shape": ${nested(100000)}, "data_offsets": [0, 4]}}`,
    /tensor 'w' shape a list is not a list of non-negative integers/,
  ],
  ["deeply nested header", nested(100000), /header is not a JSON object/],
  ["metadata not strings", JSON.stringify({ __metadata__: { a: { b: 1 } } }), /__metadata__ 'a' is not a string/],
  ["header not JSON", "{ not json", /header is not JSON/],
  ["header longer than the file", "{}", /header length 5000/, 5000n],
  ["header over the cap", "{}", /header length 18446744073709551615, over 100000000/, 2n ** 64n - 1n],
]

describe("safetensors reader refuses hostile headers before reading data", () => {
  it.each(cases)("%s", async (name, header, message, declared) => {
    const path = fileWith(name.replace(/\W+/g, "-"), header, 100, declared)
    const started = performance.now()
    const error = await readSafetensors(path).then(
      () => undefined,
      (e: Error) => e,
    )
    expect(error?.message).toMatch(message)
    expect(error?.message).toContain(path)
    expect(performance.now() - started).toBeLessThan(2000)
  })

  it("still reads a valid file with a zero-length tensor and unordered header keys", async () => {
    const header = JSON.stringify({ b: tensor("F32", [1], [4, 8]), a: tensor("F32", [1], [0, 4]), e: tensor("F32", [0], [8, 8]) })
    const path = fileWith("valid", header, 8)
    const { tensors } = await readSafetensors(path)
    expect(Object.keys(tensors).sort()).toEqual(["a", "b", "e"])
    expect(tensors.e.shape).toEqual([0])
  })

  it("names a file cut short of its data", async () => {
    const path = fileWith("short", JSON.stringify({ w: tensor("F32", [2], [0, 8]) }), 4)
    await expect(readSafetensors(path)).rejects.toThrow(/tensor 'w' data_offsets \[0, 8\] run past the end of the data \(4 bytes\)/)
  })
})
