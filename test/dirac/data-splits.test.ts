import { join } from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { openFolder } from "../../src/dirac/data/folder.js"
import { tempDir, tinyPng, writeFile } from "./data-fixtures.js"

const pad = (n: number): string => String(n).padStart(5, "0")

describe("FFHQ layout", () => {
  const root = tempDir()
  beforeAll(async () => {
    const png = await tinyPng(1)
    for (let f = 0; f < 70; f++) writeFile(join(root, pad(f), `${pad(f * 1000)}.png`), png)
    writeFile(join(root, pad(0), "00001.png"), png)
    writeFile(join(root, "LICENSE.txt"), "not a folder")
  })

  it("test = folder 00000, val = 00001-00007, train = the other 62", async () => {
    const open = (split: "train" | "val" | "test") => openFolder({ root, layout: "ffhq", split, resolution: 8 })
    expect((await open("test")).ids).toEqual(["00000/00000", "00000/00001"])
    expect((await open("val")).ids).toEqual([1, 2, 3, 4, 5, 6, 7].map((f) => `${pad(f)}/${pad(f * 1000)}`))
    const train = await open("train")
    expect(train.count).toBe(62)
    expect(train.ids[0]).toBe("00008/08000")
    expect(train.ids[61]).toBe("00069/69000")
    expect((await openFolder({ root, layout: "ffhq", split: "test", limit: 1, resolution: 8 })).ids).toEqual(["00000/00000"])
  })

  it("explains the expected layout when it does not match", async () => {
    const partial = tempDir()
    const png = await tinyPng(1)
    for (let f = 0; f < 3; f++) writeFile(join(partial, pad(f), "x.png"), png)
    const err = await openFolder({ root: partial, layout: "ffhq", split: "train", resolution: 8 }).catch((e) => e)
    expect(err.code).toBe("bad-layout")
    expect(err.message).toMatch(/70 subfolders .*00000 … 00069.*Found 3 five-digit subfolders/)
    // the test split needs only the first folder
    expect((await openFolder({ root: partial, layout: "ffhq", split: "test", resolution: 8 })).ids).toEqual(["00000/x"])
    const flat = tempDir()
    writeFile(join(flat, "a.png"), png)
    await expect(openFolder({ root: flat, layout: "ffhq", split: "test", resolution: 8 })).rejects.toThrow(/no five-digit subfolders/)
  })
})

describe("CelebA-HQ layout", () => {
  it("shuffles the sorted list like Python random.seed(0); random.shuffle, then splits 80/10/10", async () => {
    const root = tempDir()
    const png = await tinyPng(2)
    for (let i = 19; i >= 0; i--) writeFile(join(root, `${pad(i)}.jpg`), png) // sharp sniffs the content, not the name
    // Python 3.11: l = list(range(20)); random.seed(0); random.shuffle(l)
    const order = [10, 18, 16, 14, 0, 17, 11, 2, 3, 9, 5, 7, 4, 19, 6, 15, 8, 1, 13, 12].map(pad)
    const open = (split: "train" | "val" | "test" | "all") => openFolder({ root, layout: "celeba-hq", split, resolution: 8 })
    expect((await open("train")).ids).toEqual(order.slice(0, 16))
    expect((await open("val")).ids).toEqual(order.slice(16, 18))
    expect((await open("test")).ids).toEqual(order.slice(18))
    expect((await open("all")).ids).toEqual(Array.from({ length: 20 }, (_, i) => pad(i)))
  })
})

describe("ImageNet layout", () => {
  const root = tempDir()
  beforeAll(async () => {
    const png = await tinyPng(3)
    for (const p of ["train/n01/a.JPEG", "train/n01/b.JPEG", "train/n02/c.JPEG"]) writeFile(join(root, p), png)
    for (const p of ["val/n01/v1.JPEG", "val/n01/v2.JPEG", "val/n01/v3.JPEG", "val/n02/v4.JPEG", "val/n02/v5.JPEG", "val/n03/v6.JPEG"])
      writeFile(join(root, p), png)
  })

  it("train = train/, val/test = first/last file per class in val/, seeded shuffle", async () => {
    const open = (split: "train" | "val" | "test") => openFolder({ root, layout: "imagenet", split, resolution: 8 })
    expect((await open("train")).ids).toEqual(["train/n01/a", "train/n01/b", "train/n02/c"])
    // Python: random.seed(0); random.shuffle([0, 1, 2]) gives [0, 2, 1]
    expect((await open("val")).ids).toEqual(["val/n01/v1", "val/n03/v6", "val/n02/v4"])
    expect((await open("test")).ids).toEqual(["val/n01/v3", "val/n03/v6", "val/n02/v5"])
    expect((await openFolder({ root, layout: "imagenet", split: "val", from: 1, resolution: 8 })).ids).toEqual(["val/n03/v6", "val/n02/v4"])
  })

  it("names the missing part of the layout", async () => {
    const bare = tempDir()
    writeFile(join(bare, "train", "n01", "a.png"), await tinyPng(1))
    const err = await openFolder({ root: bare, layout: "imagenet", split: "val", resolution: 8 }).catch((e) => e)
    expect(err.code).toBe("missing-folder")
    expect(err.message).toContain(join(bare, "val"))
  })
})
