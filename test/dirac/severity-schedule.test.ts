import { describe, expect, it } from "vitest"
import { OFFICIAL_BLUR_STD, officialBlurSchedule } from "../../src/dirac/operators/official-blur-table.js"
import { linearSchedule, severityAt, tableSchedule, uniformTableSchedule } from "../../src/dirac/operators/severity-schedule.js"

/** Candidate indices j of the official table (std = 0.3 + 2.7 j / 1999), from the reference. */
const OFFICIAL_INDICES = [
  0, 27, 44, 68, 78, 88, 105, 114, 122, 130, 138, 146, 154, 162, 170, 178, 187, 195, 204, 213, 222, 231, 241, 251, 261, 271, 282, 293, 304,
  315, 326, 338, 350, 362, 374, 386, 399, 411, 424, 437, 450, 463, 476, 489, 503, 516, 530, 544, 558, 572, 586, 600, 614, 628, 643, 657,
  672, 687, 702, 717, 733, 748, 764, 779, 795, 826, 842, 858, 890, 906, 923, 956, 973, 990, 1024, 1059, 1094, 1130, 1148, 1167, 1204, 1241,
  1279, 1298, 1318, 1357, 1377, 1397, 1437, 1477, 1518, 1559, 1601, 1643, 1686, 1729, 1773, 1817, 1862, 1907, 1953, 1999,
]

const grid = (n: number) => Array.from({ length: n + 1 }, (_, i) => i / n)

describe("official blur table", () => {
  it("has 102 rows on t_i = i / 101 whose std are 0.3 + 2.7 j / 1999", () => {
    const schedule = officialBlurSchedule()
    if (schedule.kind !== "table") throw new Error("expected a table")
    expect(schedule.t.length).toBe(102)
    schedule.t.forEach((t, i) => expect(t).toBe(i / 101))
    OFFICIAL_BLUR_STD.forEach((std, i) => expect(Math.abs(std - (0.3 + (2.7 * OFFICIAL_INDICES[i]!) / 1999))).toBeLessThan(1e-6)) // 7 digits + float32 rounding
  })

  it("gives the official std at sample severities", () => {
    const schedule = officialBlurSchedule()
    const expected: [number, number][] = [
      [0, 0.3],
      [0.1, 0.4874738],
      [0.25, 0.6697474],
      [0.5, 1.1009505],
      [0.75, 1.7658204],
      [0.9, 2.4001649],
      [0.98, 2.8745224],
      [1, 3.0],
    ]
    for (const [t, std] of expected) expect(Math.abs(severityAt(schedule, t) - std)).toBeLessThan(1e-5)
    expect(severityAt(schedule, 0)).toBe(0.3)
    expect(severityAt(schedule, 1)).toBe(3)
  })

  it("is strictly increasing in t", () => {
    const schedule = officialBlurSchedule()
    const values = grid(5000).map((t) => severityAt(schedule, t))
    for (let i = 1; i < values.length; i++) expect(values[i]!).toBeGreaterThan(values[i - 1]!)
  })
})

describe("severity schedules", () => {
  it("linear: from + (to - from) t", () => {
    const schedule = linearSchedule(0.3, 3)
    expect(severityAt(schedule, 0)).toBe(0.3)
    expect(severityAt(schedule, 1)).toBe(3)
    expect(severityAt(schedule, 0.5)).toBeCloseTo(1.65, 12)
  })

  it("table: lerp between knots, exact at the ends", () => {
    const schedule = tableSchedule([0, 0.25, 1], [1, 2, 5])
    expect(severityAt(schedule, 0.125)).toBeCloseTo(1.5, 12)
    expect(severityAt(schedule, 0.25)).toBeCloseTo(2, 12)
    expect(severityAt(schedule, 0.625)).toBeCloseTo(3.5, 12)
    expect(uniformTableSchedule([1, 2, 5])).toEqual(tableSchedule([0, 0.5, 1], [1, 2, 5]))
  })

  it("is monotone for random tables", () => {
    let seed = 5
    const next = () => (seed = (seed * 16807) % 2147483647) / 2147483647
    for (let trial = 0; trial < 20; trial++) {
      const severities = [next()]
      for (let k = 0; k < 10; k++) severities.push(severities[k]! + next() * (k % 3 === 0 ? 0 : 1))
      const schedule = uniformTableSchedule(severities)
      const values = grid(997).map((t) => severityAt(schedule, t))
      for (let i = 1; i < values.length; i++) expect(values[i]!).toBeGreaterThanOrEqual(values[i - 1]! - 1e-12)
    }
  })

  it("rejects bad input", () => {
    expect(() => severityAt(linearSchedule(0, 1), 1.01)).toThrow(RangeError)
    expect(() => severityAt(linearSchedule(0, 1), -0.01)).toThrow(RangeError)
    expect(() => severityAt(linearSchedule(0, 1), Number.NaN)).toThrow(RangeError)
    expect(() => linearSchedule(2, 1)).toThrow(RangeError)
    expect(() => tableSchedule([0, 0.5], [1, 2])).toThrow(RangeError)
    expect(() => tableSchedule([0, 0.5, 0.5, 1], [1, 2, 3, 4])).toThrow(RangeError)
    expect(() => tableSchedule([0, 1], [2, 1])).toThrow(RangeError)
    expect(() => tableSchedule([0, 1], [1])).toThrow(RangeError)
  })
})
