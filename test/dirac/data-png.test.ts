import "@tensorflow/tfjs-backend-cpu"
import { join } from "node:path"
import sharp from "sharp"
import { describe, expect, it } from "vitest"
import { batchImage, encodePng, imageGrid, toBytes, writeBatchPngs, writeGridPng, writePng } from "../../src/dirac/data/png.js"
import { openFolder } from "../../src/dirac/data/folder.js"
import { SyntheticSource } from "../../src/dirac/data/synthetic.js"
import { batchToTensor4D, tensor4DToBatch } from "../../src/dirac/data/tensor.js"
import { tempDir } from "./data-fixtures.js"

describe("PNG output", () => {
  it("round-trips a synthetic batch through PNG files exactly (8-bit levels)", async () => {
    const src = new SyntheticSource({ seed: 1, count: 3, resolution: 16 })
    const batch = await src.load([0, 1, 2])
    const dir = tempDir()
    const paths = await writeBatchPngs(dir, batch)
    expect(paths[2]).toBe(join(dir, "synthetic", "1", "2.png"))
    const back = await openFolder({ root: dir, resolution: 16 })
    expect(back.ids).toEqual(batch.ids)
    expect((await back.load([0, 1, 2])).pixels).toEqual(batch.pixels)
  })

  it("clips and quantises (round or truncate like plt.imsave)", async () => {
    const px = Float32Array.from([-0.5, 0.5, 2, 0.999, Number.NaN, 1 / 255])
    expect(Array.from(toBytes(px))).toEqual([0, 128, 255, 255, 0, 1])
    expect(Array.from(toBytes(px, "truncate"))).toEqual([0, 127, 255, 254, 0, 1])
    const png = await encodePng({ pixels: px, width: 2, height: 1 })
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true })
    expect([info.width, info.height, info.channels]).toEqual([2, 1, 3])
    expect(Array.from(data)).toEqual([0, 128, 255, 255, 0, 1])
    await expect(writePng(join(tempDir(), "x.png"), { pixels: px, width: 3, height: 1 })).rejects.toThrow(/values/)
  })

  it("lays images out in a grid with gaps", async () => {
    const src = new SyntheticSource({ seed: 2, count: 5, resolution: 8 })
    const batch = await src.load([0, 1, 2, 3, 4])
    const grid = imageGrid(batch, { cols: 3, gap: 1, background: [0, 0, 0] })
    expect([grid.width, grid.height]).toEqual([3 * 8 + 4, 2 * 8 + 3])
    const at = (x: number, y: number) => Array.from(grid.pixels.subarray((y * grid.width + x) * 3, (y * grid.width + x) * 3 + 3))
    expect(at(0, 0)).toEqual([0, 0, 0])
    const fifth = batchImage(batch, 4) // row 1, column 1
    expect(at(1 + 9 + 2, 1 + 9 + 3)).toEqual(Array.from(fifth.pixels.subarray((3 * 8 + 2) * 3, (3 * 8 + 2) * 3 + 3)))
    expect(at(grid.width - 5, grid.height - 5)).toEqual([0, 0, 0]) // empty sixth cell
    const path = join(tempDir(), "grid", "g.png")
    await writeGridPng(path, batch, { rows: 1 })
    expect((await sharp(path).metadata()).width).toBe(5 * 8 + 6 * 2)
    expect(() => imageGrid(batch, { rows: 1, cols: 2 })).toThrow(/cannot hold/)
  })
})

describe("tensor helpers", () => {
  it("turn a batch into an NHWC tensor and back", async () => {
    const batch = await new SyntheticSource({ seed: 3, count: 2, resolution: 8 }).load([0, 1])
    const t = batchToTensor4D(batch)
    expect(t.shape).toEqual([2, 8, 8, 3])
    const back = await tensor4DToBatch(t, batch.ids, batch.indices)
    t.dispose()
    expect(back.pixels).toEqual(batch.pixels)
  })
})
