import { symlinkSync, utimesSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { DataError } from "../../src/dirac/data/errors.js"
import { openFolder } from "../../src/dirac/data/folder.js"
import { openSource } from "../../src/dirac/data/source.js"
import { encode, tempDir, tinyPng, writeFile } from "./data-fixtures.js"

const px = (pixels: Float32Array, R: number, x: number, y: number): number[] =>
  Array.from(pixels.subarray((y * R + x) * 3, (y * R + x) * 3 + 3), (v) => Math.round(v * 255))

describe("folder of images", () => {
  const root = tempDir()
  beforeAll(async () => {
    writeFile(join(root, "b-grey.png"), await encode(16, 16, 1, (x) => [x * 16]))
    // alpha 0 on the left half: PIL convert("RGB") drops alpha and keeps the stored colour
    writeFile(join(root, "a", "rgba.PNG"), await encode(16, 16, 4, (x) => [200, 100, 50, x < 8 ? 0 : 255]))
    // 24×16, cropped to the centre 16×16: green columns 0-3 and 20-23 are cut, the middle is a ramp
    writeFile(join(root, "a", "wide.png"), await encode(24, 16, 3, (x) => (x < 4 || x >= 20 ? [0, 255, 0] : [(x - 4) * 16, 0, 255])))
    writeFile(join(root, "a", "z", "photo.JPG"), await encode(40, 24, 3, (x, y) => [x * 6, y * 10, 90], "jpeg"))
    writeFile(join(root, "c.jpeg"), await encode(20, 30, 3, () => [10, 20, 30], "jpeg"))
    writeFile(join(root, "notes.txt"), "not an image")
    writeFile(join(root, ".hidden.png"), "hidden files are skipped")
  })

  it("finds images recursively (extensions in any case) in sorted order, ids without extension", async () => {
    const src = await openFolder({ root, resolution: 16 })
    expect(src.ids).toEqual(["a/rgba", "a/wide", "a/z/photo", "b-grey", "c"])
    expect(src.count).toBe(5)
  })

  it("converts grey and RGBA to RGB like PIL, crops the centre square and keeps values in [0, 1]", async () => {
    const src = await openFolder({ root, resolution: 16 })
    const b = await src.load([0, 1, 3])
    expect(b.shape).toEqual([3, 16, 16, 3])
    expect(px(b.pixels, 16, 2, 5)).toEqual([200, 100, 50]) // transparent pixel keeps its colour
    expect(px(b.pixels, 16, 12, 5)).toEqual([200, 100, 50])
    const wide = b.pixels.subarray(16 * 16 * 3, 2 * 16 * 16 * 3)
    expect(px(wide, 16, 0, 3)).toEqual([0, 0, 255]) // crop offset 4: no green left
    expect(px(wide, 16, 15, 3)).toEqual([240, 0, 255])
    const grey = b.pixels.subarray(2 * 16 * 16 * 3)
    expect(px(grey, 16, 5, 9)).toEqual([80, 80, 80])
    expect(b.pixels.every((v) => v >= 0 && v <= 1)).toBe(true)
  })

  it("resizes non-square JPEGs after the centre crop", async () => {
    const src = await openFolder({ root, resolution: 8 })
    const b = await src.load([2, 4])
    expect(b.shape).toEqual([2, 8, 8, 3])
    const photo = b.pixels.subarray(0, 8 * 8 * 3)
    // 40×24 → centre 24×24 from x = 8: red ramps from about 8·6 to 31·6, green from 0 to 230
    expect(px(photo, 8, 0, 0)[0]).toBeGreaterThan(40)
    expect(px(photo, 8, 7, 0)[0]).toBeLessThan(200)
    expect(px(photo, 8, 0, 7)[1]).toBeGreaterThan(180)
    expect(Math.abs(px(b.pixels.subarray(8 * 8 * 3), 8, 4, 4)[2] - 30)).toBeLessThanOrEqual(2)
  })

  it("streams batches from a start cursor, matching random access", async () => {
    const src = await openFolder({ root, resolution: 8 })
    const seen: string[][] = []
    let last
    for await (const batch of src.batches(2, 1)) {
      seen.push(batch.ids)
      last = batch
    }
    expect(seen).toEqual([
      ["a/wide", "a/z/photo"],
      ["b-grey", "c"],
    ])
    expect(last!.pixels).toEqual((await src.load([3, 4])).pixels)
    expect(last!.indices).toEqual([3, 4])
    const none = []
    for await (const batch of src.batches(4, 5)) none.push(batch)
    expect(none).toEqual([])
    await expect(src.batches(0).next()).rejects.toThrow(/batch size/)
  })

  it("applies from/to/limit after the split and re-opens from its description", async () => {
    const src = await openFolder({ root, resolution: 8, from: 1, to: 4, limit: 2 })
    expect(src.ids).toEqual(["a/wide", "a/z/photo"])
    expect((await openFolder({ root, resolution: 8, from: 3 })).ids).toEqual(["b-grey", "c"])
    const again = await openSource(JSON.parse(JSON.stringify(src.describe())))
    expect(again.ids).toEqual(src.ids)
    expect(again.resolution).toBe(8)
    expect(src.describe()).toMatchObject({ kind: "folder", root, layout: "plain", split: "all", from: 1, to: 4, limit: 2 })
  })
})

describe("folder fingerprints", () => {
  it("change with a file's size or mtime (or bytes in content mode) and stay otherwise", async () => {
    const root = tempDir()
    const file = writeFile(join(root, "x.png"), await tinyPng(1))
    writeFile(join(root, "y.png"), await tinyPng(2))
    const t0 = 1_700_000_000 // whole seconds, so the mtime can be restored exactly
    utimesSync(file, t0, t0)
    const open = (content = false) => openFolder({ root, resolution: 8, content })
    const a = await (await open()).fingerprint()
    expect(await (await open()).fingerprint()).toBe(a)
    expect(await (await openFolder({ root, resolution: 16 })).fingerprint()).not.toBe(a)

    utimesSync(file, t0, t0 + 5)
    expect(await (await open()).fingerprint()).not.toBe(a)
    utimesSync(file, t0, t0)
    expect(await (await open()).fingerprint()).toBe(a)

    const c = await (await open(true)).fingerprint()
    const same = await tinyPng(3)
    writeFileSync(file, same) // same size, other bytes; restore the mtime
    utimesSync(file, t0, t0)
    expect(await (await open()).fingerprint()).toBe(a)
    expect(await (await open(true)).fingerprint()).not.toBe(c)

    writeFileSync(file, Buffer.concat([same, Buffer.from("extra")]))
    utimesSync(file, t0, t0)
    expect(await (await open()).fingerprint()).not.toBe(a)
  })
})

describe("folder errors", () => {
  it("name a missing folder", async () => {
    const missing = join(tempDir(), "nope")
    const err = await openFolder({ root: missing, resolution: 8 }).catch((e) => e)
    expect(err).toBeInstanceOf(DataError)
    expect(err.code).toBe("missing-folder")
    expect(err.message).toContain(missing)
  })

  it("say where they looked and for which extensions when there are no images", async () => {
    const root = tempDir()
    writeFile(join(root, "readme.txt"), "hi")
    const err = await openFolder({ root, resolution: 8 }).catch((e) => e)
    expect(err.code).toBe("no-images")
    expect(err.message).toContain(root)
    expect(err.message).toContain(".png, .jpg, .jpeg")
  })

  it("name a corrupt file; skip mode leaves it out, logs and lists it", async () => {
    const root = tempDir()
    writeFile(join(root, "0.png"), await tinyPng(0))
    const broken = writeFile(join(root, "1.png"), "definitely not a PNG")
    const truncated = writeFile(join(root, "2.jpg"), (await encode(32, 32, 3, (x, y) => [x * 8, y * 8, 0], "jpeg")).subarray(0, 300))
    writeFile(join(root, "3.png"), await tinyPng(3))

    const failing = await openFolder({ root, resolution: 8 })
    const err = await failing.load([0, 1]).catch((e) => e)
    expect(err).toBeInstanceOf(DataError)
    expect(err.code).toBe("unreadable-image")
    expect(err.message).toContain(broken)
    await expect(failing.load([2])).rejects.toThrow(truncated)

    const logged: string[] = []
    const skipping = await openFolder({ root, resolution: 8, onError: "skip", log: (m) => logged.push(m) })
    const batches = []
    for await (const b of skipping.batches(3)) batches.push(b)
    expect(batches.map((b) => b.ids)).toEqual([["0"], ["3"]])
    expect(batches[0].shape).toEqual([1, 8, 8, 3])
    expect(skipping.skipped.map((s) => s.id)).toEqual(["1", "2"])
    expect(skipping.skipped[0].path).toBe(broken)
    expect(logged).toHaveLength(2)
    expect(logged[1]).toContain(truncated)
  })

  it("refuse links that lead out of the folder: an error, or skipped with a warning; links inside are followed", async () => {
    const outside = tempDir()
    const secret = writeFile(join(outside, "secret.png"), await tinyPng(7))
    const root = tempDir()
    writeFile(join(root, "0.png"), await tinyPng(0))
    symlinkSync(join(root, "0.png"), join(root, "1.png"))
    symlinkSync(secret, join(root, "2.png"))
    symlinkSync(outside, join(root, "elsewhere"))

    const err = await openFolder({ root, resolution: 8 }).catch((e) => e)
    expect(err).toBeInstanceOf(DataError)
    expect(err.code).toBe("link-outside-root")
    expect(err.message).toBe(
      `${join(root, "2.png")} is a link to a file outside the data folder ${root} (and 1 more); remove the link, or skip such files with on_error: skip`,
    )

    const logged: string[] = []
    const skipping = await openFolder({ root, resolution: 8, onError: "skip", log: (m) => logged.push(m) })
    expect(skipping.ids).toEqual(["0", "1"])
    expect(logged).toEqual([
      `skipping ${join(root, "2.png")} is a link to a file outside the data folder ${root}`,
      `skipping ${join(root, "elsewhere", "secret.png")} is a link to a file outside the data folder ${root}`,
    ])
    const batch = await skipping.load([0, 1])
    expect(batch.ids).toEqual(["0", "1"])
    await expect(openFolder({ root, resolution: 8, onError: "skip", from: 2, log: () => {} })).rejects.toThrow(
      `every selected image is a link to a file outside the data folder ${root}`,
    )
  })

  it("reject bad options and descriptions", async () => {
    const root = tempDir()
    writeFile(join(root, "0.png"), await tinyPng(0))
    await expect(openFolder({ root, resolution: 8, split: "train" })).rejects.toThrow(/plain folder/)
    await expect(openFolder({ root, resolution: 8, from: -1 })).rejects.toThrow(/from/)
    await expect(openFolder({ root, resolution: 3 })).rejects.toThrow(/resolution/)
    await expect(openSource({ kind: "tape" })).rejects.toThrow(/kind/)
  })
})
