import { createHash } from "node:crypto"
import { describe, expect, it } from "vitest"
import { DataError } from "../../src/dirac/data/errors.js"
import { openSource } from "../../src/dirac/data/source.js"
import { renderSynthetic, SyntheticSource } from "../../src/dirac/data/synthetic.js"

const down2 = (img: Float32Array, R: number): Float32Array => {
  const r = R / 2
  const out = new Float32Array(r * r * 3)
  const at = (y: number, x: number, c: number): number => img[(y * R + x) * 3 + c]
  for (let y = 0; y < r; y++)
    for (let x = 0; x < r; x++)
      for (let c = 0; c < 3; c++)
        out[(y * r + x) * 3 + c] =
          (at(2 * y, 2 * x, c) + at(2 * y, 2 * x + 1, c) + at(2 * y + 1, 2 * x, c) + at(2 * y + 1, 2 * x + 1, c)) / 4
  return out
}

const meanAbsDiff = (a: Float32Array, b: Float32Array): number => a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0) / a.length

describe("synthetic images", () => {
  it("are deterministic in (seed, index, resolution) and pinned across machines", () => {
    const a = renderSynthetic(0, 0, 32)
    expect(renderSynthetic(0, 0, 32)).toEqual(a)
    // Only integer ops and + - * / sqrt are used, so this digest must hold on every machine. If it changes on
    // purpose, bump SYNTHETIC_GENERATOR_VERSION.
    const bytes = Buffer.from(Array.from(a, (v) => Math.round(v * 255)))
    expect(createHash("sha256").update(bytes).digest("hex").slice(0, 16)).toBe("11fa4c9d59274926")
  })

  it("differ between seeds and between indices", () => {
    const base = renderSynthetic(1, 5, 32)
    expect(meanAbsDiff(base, renderSynthetic(2, 5, 32))).toBeGreaterThan(0.02)
    expect(meanAbsDiff(base, renderSynthetic(1, 6, 32))).toBeGreaterThan(0.02)
  })

  it("hold 8-bit levels in [0, 1]", () => {
    for (const R of [8, 33, 64]) {
      const img = renderSynthetic(4, 2, R)
      expect(img.length).toBe(R * R * 3)
      const bad = img.filter((v) => !(v >= 0 && v <= 1 && Math.abs(v * 255 - Math.round(v * 255)) < 1e-4))
      expect(bad.length).toBe(0)
    }
  })

  it("look the same at every resolution: a downscaled 128² rendering matches the 64² one", () => {
    for (let i = 0; i < 6; i++) {
      expect(meanAbsDiff(down2(renderSynthetic(3, i, 128), 128), renderSynthetic(3, i, 64))).toBeLessThan(0.01)
    }
  })

  it("have structure: contrast, sharp edges, but mostly smooth regions", () => {
    for (let i = 0; i < 8; i++) {
      const R = 64
      const img = renderSynthetic(5, i, R)
      const mean = img.reduce((s, v) => s + v, 0) / img.length
      const std = Math.sqrt(img.reduce((s, v) => s + (v - mean) ** 2, 0) / img.length)
      expect(std).toBeGreaterThan(0.05)
      let edges = 0
      for (let y = 0; y < R; y++)
        for (let x = 0; x < R - 1; x++) {
          let g = 0
          for (let c = 0; c < 3; c++) g += Math.abs(img[(y * R + x + 1) * 3 + c] - img[(y * R + x) * 3 + c])
          if (g / 3 > 0.1) edges++
        }
      const fraction = edges / (R * (R - 1))
      expect(fraction).toBeGreaterThan(0.001)
      expect(fraction).toBeLessThan(0.25)
    }
  })
})

describe("SyntheticSource", () => {
  const source = new SyntheticSource({ seed: 9, count: 7, resolution: 16 })

  it("has stable ids and streams batches from a start cursor", async () => {
    expect(source.ids).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => `synthetic/9/${i}`))
    const batches = []
    for await (const b of source.batches(2, 3)) batches.push(b)
    expect(batches.map((b) => b.ids)).toEqual([
      ["synthetic/9/3", "synthetic/9/4"],
      ["synthetic/9/5", "synthetic/9/6"],
    ])
    expect(batches[0].shape).toEqual([2, 16, 16, 3])
    expect(batches[1].indices).toEqual([5, 6])
    const single = await source.load([4])
    expect(batches[0].pixels.subarray(16 * 16 * 3)).toEqual(single.pixels)
  })

  it("loads any indices in the order given and rejects bad ones", async () => {
    const b = await source.load([6, 0])
    expect(b.ids).toEqual(["synthetic/9/6", "synthetic/9/0"])
    expect(b.pixels.subarray(0, 768)).toEqual(renderSynthetic(9, 6, 16))
    await expect(source.load([7])).rejects.toThrow(DataError)
  })

  it("offsets keep ids and pixels of the shared seed", async () => {
    const later = new SyntheticSource({ seed: 9, count: 2, resolution: 16, offset: 5 })
    expect(later.ids).toEqual(["synthetic/9/5", "synthetic/9/6"])
    expect((await later.load([0])).pixels).toEqual((await source.load([5])).pixels)
  })

  it("re-opens from its JSON description and fingerprints its parameters", async () => {
    const again = await openSource(JSON.parse(JSON.stringify(source.describe())))
    expect(again.ids).toEqual(source.ids)
    expect(await again.fingerprint()).toBe(await source.fingerprint())
    for (const other of [
      { seed: 8, count: 7, resolution: 16 },
      { seed: 9, count: 6, resolution: 16 },
      { seed: 9, count: 7, resolution: 32 },
    ]) {
      expect(await new SyntheticSource(other).fingerprint()).not.toBe(await source.fingerprint())
    }
    await expect(openSource({ ...source.describe(), version: "synthetic-v0" })).rejects.toThrow(/generator/)
    expect(() => new SyntheticSource({ seed: 1, count: 1, resolution: 4 })).toThrow(/resolution/)
  })
})
