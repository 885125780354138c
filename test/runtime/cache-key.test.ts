import { describe, expect, it } from "vitest"
import { cacheKey, canonicalJson, seedFromKey } from "../../src/runtime/cache-key.js"

describe("canonicalJson", () => {
  it("sorts keys at every depth and drops undefined", () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: undefined } })).toBe('{"a":{"d":[1,{"x":1,"y":2}]},"b":1}')
  })
  it("refuses values that cannot be fingerprinted", () => {
    expect(() => canonicalJson({ lr: Number.NaN })).toThrow(/cannot fingerprint/)
  })
})

describe("cacheKey", () => {
  const material = { kind: "train", version: 1, config: { lr: 1e-4, steps: 10 }, inputs: { images: ["abc:images"] } }
  it("is stable under key order and changes with every component", () => {
    const base = cacheKey(material)
    expect(cacheKey({ ...material, config: { steps: 10, lr: 1e-4 } })).toBe(base)
    expect(cacheKey({ ...material, version: 2 })).not.toBe(base)
    expect(cacheKey({ ...material, config: { lr: 2e-4, steps: 10 } })).not.toBe(base)
    expect(cacheKey({ ...material, inputs: { images: ["abd:images"] } })).not.toBe(base)
    expect(cacheKey({ ...material, seed: 1 })).not.toBe(cacheKey({ ...material, seed: 2 }))
    expect(cacheKey({ ...material, backend: "wasm/4.22.0/simd" })).not.toBe(cacheKey({ ...material, backend: "cpu/4.22.0/js" }))
    expect(base).toMatch(/^[0-9a-f]{64}$/)
  })
  it("derives a 32-bit seed from a key", () => {
    expect(seedFromKey("ffffffff00")).toBe(4294967295)
    expect(seedFromKey("0000000a")).toBe(10)
  })
})
