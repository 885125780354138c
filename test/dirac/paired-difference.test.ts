import { describe, expect, it } from "vitest"
import { pairedDifference } from "../../src/dirac/metrics/paired-difference.js"

describe("pairedDifference", () => {
  it("is the mean, standard error and count of better images of the per-image differences", () => {
    const d = pairedDifference({ values: [30, 29, 31], ids: ["a", "b", "c"] }, { values: [29, 29.5, 30], ids: ["a", "b", "c"] }, true)!
    // differences 1, -0.5, 1: mean 0.5, sample variance 0.75, standard error sqrt(0.75 / 3) = 0.5
    expect(d.images).toBe(3)
    expect(d.mean).toBeCloseTo(0.5, 12)
    expect(d.standard_error).toBeCloseTo(0.5, 12)
    expect(d.better).toBe(2)
  })

  it("pairs by image id, averages the samples of a measurement first, and counts lower as better for distances", () => {
    const row = { values: [1.0, 1.4, 2.0, 2.2], ids: ["b", "b", "a", "a"] } // means: b 1.2, a 2.1
    const reference = { values: [2.0, 1.0], ids: ["a", "b"] }
    const d = pairedDifference(row, reference, false)!
    expect(d.images).toBe(2)
    expect(d.mean).toBeCloseTo((0.2 + 0.1) / 2, 12)
    expect(d.better).toBe(0)
    expect(pairedDifference(reference, row, false)!.better).toBe(2)
  })

  it("leaves out images not finite on either side or missing from the reference; one image has no standard error", () => {
    const d = pairedDifference({ values: [Infinity, 30, 28], ids: ["a", "b", "c"] }, { values: [40, 29], ids: ["a", "b"] }, true)!
    expect(d).toEqual({ images: 1, mean: 1, standard_error: null, better: 1 })
    expect(pairedDifference({ values: [1], ids: ["x"] }, { values: [1], ids: ["y"] }, true)).toBeUndefined()
  })
})
