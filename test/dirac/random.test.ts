import { describe, expect, it } from "vitest"
import { Rng, seedFromString } from "../../src/dirac/random.js"

describe("Rng (xoshiro128**)", () => {
  it("matches the xoshiro128** reference sequence from state [1, 2, 3, 4]", () => {
    const rng = Rng.fromState({ algorithm: "xoshiro128**", words: [1, 2, 3, 4], spareNormal: null })
    expect(Array.from({ length: 6 }, () => rng.nextUint32())).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492])
  })

  it("expands a seed with splitmix32 and draws fixed values (checked against an independent Python port)", () => {
    const rng = Rng.fromSeed(42)
    expect(rng.state()).toEqual({
      algorithm: "xoshiro128**",
      words: [939911724, 3948730756, 321366731, 3317318717],
      spareNormal: null,
    })
    expect(rng.uniform()).toBe(0.6606157208001621)
    expect(rng.normal()).toBe(1.5576636023738426)
    expect(rng.state()).toEqual({
      algorithm: "xoshiro128**",
      words: [2050360170, 2127003965, 1542201946, 911031022],
      spareNormal: -0.019829215651034723,
    })
  })

  it("resumes exactly from a serialised state, spare normal included", () => {
    const rng = Rng.fromSeed(7)
    rng.normal()
    const saved = JSON.parse(JSON.stringify(rng.state()))
    const a = Array.from({ length: 9 }, () => rng.normal())
    const resumed = Rng.fromState(saved)
    expect(Array.from({ length: 9 }, () => resumed.normal())).toEqual(a)
  })

  it("draws uniforms in [0, 1) and standard normals", () => {
    const rng = Rng.fromSeed(123)
    let min = 1
    let max = 0
    let sum = 0
    for (let i = 0; i < 100_000; i++) {
      const u = rng.uniform()
      min = Math.min(min, u)
      max = Math.max(max, u)
      sum += u
    }
    expect(min).toBeGreaterThanOrEqual(0)
    expect(max).toBeLessThan(1)
    expect(sum / 100_000).toBeCloseTo(0.5, 2)
    const z = rng.fillNormal(new Float32Array(200_000))
    const mean = z.reduce((s, v) => s + v, 0) / z.length
    const variance = z.reduce((s, v) => s + (v - mean) ** 2, 0) / z.length
    const tail = z.filter((v) => Math.abs(v) > 1.959964).length / z.length
    expect(Math.abs(mean)).toBeLessThan(0.01)
    expect(Math.abs(variance - 1)).toBeLessThan(0.01)
    expect(Math.abs(tail - 0.05)).toBeLessThan(0.003)
  })

  it("rejects invalid states", () => {
    expect(() => Rng.fromState({ algorithm: "xoshiro128**", words: [0, 0, 0, 0], spareNormal: null })).toThrow(RangeError)
    expect(() => Rng.fromState({ algorithm: "xoshiro128**", words: [1, 2, 3, 2 ** 32], spareNormal: null })).toThrow(RangeError)
  })
})

describe("seedFromString (FNV-1a, 32 bit, UTF-8)", () => {
  it("matches FNV-1a reference values", () => {
    expect(seedFromString("")).toBe(0x811c9dc5)
    expect(seedFromString("a")).toBe(0xe40c292c)
    expect(seedFromString("foobar")).toBe(0xbf9cf968)
    expect(seedFromString("/00000/00000")).toBe(268956909)
    expect(seedFromString("é")).toBe(513665217)
  })
})
