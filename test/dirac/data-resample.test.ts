import { describe, expect, it } from "vitest"
import { centerCropOffsets, cropAndResizeSquare, resizeBilinearPil } from "../../src/dirac/data/pil-resize.js"
import { PythonRandom } from "../../src/dirac/data/python-random.js"

describe("PythonRandom (CPython's MT19937 random)", () => {
  it("matches CPython 3.11 outputs", () => {
    // random.seed(0); [random.getrandbits(32) for _ in range(3)]
    const r = new PythonRandom(0)
    expect([r.getrandbits(32), r.getrandbits(32), r.getrandbits(32)]).toEqual([3626764237, 1654615998, 3255389356])
    // random.seed(0); l = list(range(10)); random.shuffle(l)
    expect(new PythonRandom(0).shuffle([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])).toEqual([7, 8, 1, 5, 3, 4, 2, 0, 9, 6])
    // random.seed(0); l = list(range(30000)); random.shuffle(l); l[:5], l[-3:]
    const big = new PythonRandom(0).shuffle(Array.from({ length: 30000 }, (_, i) => i))
    expect(big.slice(0, 5)).toEqual([27143, 21976, 9514, 6352, 1842])
    expect(big.slice(-3)).toEqual([24836, 12623, 27670])
    // random.seed(12345678901234); getrandbits(53), getrandbits(7), randrange(1000003)
    const s = new PythonRandom(12345678901234)
    expect([s.getrandbits(53), s.getrandbits(7), s.randbelow(1000003)]).toEqual([5040290258295937, 18, 865442])
  })
})

describe("Pillow-compatible crop and resize", () => {
  it("uses torchvision's centre-crop offsets (Python round, halves to even)", () => {
    expect(centerCropOffsets(5, 4, 4)).toEqual({ left: 0, top: 0 }) // round(0.5) = 0
    expect(centerCropOffsets(7, 4, 4)).toEqual({ left: 2, top: 0 }) // round(1.5) = 2
    expect(centerCropOffsets(4, 9, 4)).toEqual({ left: 0, top: 2 }) // round(2.5) = 2
  })

  it("downscales with the antialiased triangle filter in Pillow's 8-bit fixed point", () => {
    // one row 0,100,200,255 → 2 pixels: weights (3,3,1)/7 and (1,3,3)/7 → 500/7 and 1465/7 → 71 and 209
    const row = Uint8Array.from([0, 100, 200, 255].flatMap((v) => [v, v, v]))
    const out = resizeBilinearPil({ data: row, width: 4, height: 1 }, 2, 1)
    expect(Array.from(out.data)).toEqual([71, 71, 71, 209, 209, 209])
  })

  it("leaves a square image at the target size untouched and keeps flat colours flat", () => {
    const data = Uint8Array.from({ length: 6 * 6 * 3 }, (_, i) => (i * 37) % 256)
    expect(cropAndResizeSquare({ data, width: 6, height: 6 }, 6).data).toEqual(data)
    const flat = { data: new Uint8Array(30 * 20 * 3).fill(123), width: 30, height: 20 }
    const r = cropAndResizeSquare(flat, 7)
    expect([r.width, r.height]).toEqual([7, 7])
    expect(r.data.every((v) => v === 123)).toBe(true)
  })
})

describe("official per-image names and noise seeds", () => {
  it("match the values of the official script (str2int of the path tail)", async () => {
    const { officialImageName, officialNoiseSeed } = await import("../../src/dirac/data/official-names.js")
    const cases: [string, string, number][] = [
      ["/data/ffhq/00000/00000.png", "/00000/00000", 2425327759],
      ["/data/celeba256/00000.jpg", "/celeba256/00000", 4280691705],
      ["/data/imagenet/val/n01440764/ILSVRC2012_val_00000293.JPEG", "/n01440764/ILSVRC2012_val_00000293", 4176313904],
    ]
    for (const [path, name, seed] of cases) {
      expect(officialImageName(path)).toBe(name)
      expect(officialNoiseSeed(name)).toBe(seed)
    }
  })
})
