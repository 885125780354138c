import * as tf from "@tensorflow/tfjs-core"
import { beforeAll, describe, expect, it } from "vitest"
import { initBackend } from "../../src/runtime/backend/select.js"
import { gaussianBlurFamily } from "../../src/dirac/operators/gaussian-blur.js"
import { inpaintGaussianFamily } from "../../src/dirac/operators/inpaint-gaussian.js"
import { imageDistance, mseDistance } from "../../src/dirac/metrics/distances.js"
import { greedySelect } from "../../src/dirac/schedule/greedy.js"
import { scheduleDegradation } from "../../src/dirac/schedule/schedule-degradation.js"
import { severityAt } from "../../src/dirac/operators/severity-schedule.js"
import { lcgValues, smoothPlusEdges } from "./degradation-fixtures.js"

beforeAll(async () => {
  await initBackend("wasm", { threads: 1 })
})

/** Algorithm 2 as printed in the paper (0-based, no memo), for metrics where every split improves. */
const paperAlgorithm2 = (n: number, m: number, distance: (i: number, j: number) => number): number[] => {
  const selected = [0, n - 1]
  let [dmax, start, end] = [distance(0, n - 1), 0, n - 1]
  for (let it = 0; it < m; it++) {
    let [best, split] = [dmax, -1]
    for (let j = start + 1; j < end; j++) {
      const worst = Math.max(distance(start, j), distance(j, end))
      if (worst < best) [best, split] = [worst, j]
    }
    selected.push(split)
    const sorted = [...selected].sort((a, b) => a - b)
    dmax = 0
    for (let k = 0; k + 1 < sorted.length; k++) {
      const d = distance(sorted[k]!, sorted[k + 1]!)
      if (d > dmax) [dmax, start, end] = [d, sorted[k]!, sorted[k + 1]!]
    }
  }
  return selected.sort((a, b) => a - b)
}

/** d(i, j) = |F(j) - F(i)| for a random strictly increasing F. */
const monotoneMetric = (n: number, seed: number) => {
  const steps = lcgValues(n, seed)
  const f = [0]
  for (let i = 1; i < n; i++) f.push(f[i - 1]! + 0.01 + steps[i]! ** 3)
  return (i: number, j: number) => Math.abs(f[j]! - f[i]!)
}

describe("greedySelect", () => {
  it("selects what the paper's Algorithm 2 selects", async () => {
    for (const [n, m, seed] of [
      [40, 10, 1],
      [200, 30, 2],
      [60, 20, 3],
      [17, 0, 4],
    ] as const) {
      const distance = monotoneMetric(n, seed)
      const result = await greedySelect({ candidates: n, points: m, distance })
      expect(result.indices).toEqual(paperAlgorithm2(n, m, distance))
      expect(result.indices.length).toBe(m + 2)
      expect(result.edgeDistances).toEqual(result.indices.slice(1).map((j, k) => distance(result.indices[k]!, j)))
      expect(result.maxDistance).toBe(Math.max(...result.edgeDistances))
      expect(result.fallbackSplits).toBe(0)
    }
  })

  it("spaces points evenly in the distance (d = |j - i|^2 gives a uniform grid) and can take every candidate", async () => {
    const result = await greedySelect({ candidates: 101, points: 3, distance: (i, j) => (j - i) ** 2 })
    expect(result.indices).toEqual([0, 25, 50, 75, 100])
    const all = await greedySelect({ candidates: 12, points: 10, distance: monotoneMetric(12, 8) })
    expect(all.indices).toEqual(Array.from({ length: 12 }, (_, i) => i))
  })

  it("evaluates each pair once, only with i < j, and reports progress", async () => {
    const seen = new Set<string>()
    const progress: [number, number][] = []
    const base = monotoneMetric(300, 9)
    const result = await greedySelect({
      candidates: 300,
      points: 25,
      distance: (i, j) => {
        expect(i).toBeLessThan(j)
        const key = `${i},${j}`
        expect(seen.has(key)).toBe(false)
        seen.add(key)
        return base(i, j)
      },
      onProgress: (done, total) => progress.push([done, total]),
    })
    expect(result.distanceEvaluations).toBe(seen.size)
    expect(progress).toEqual(Array.from({ length: 26 }, (_, k) => [k, 25]))
  })

  it("skips edges without an improving split and falls back to index midpoints", async () => {
    const flat = await greedySelect({ candidates: 9, points: 3, distance: () => 0 })
    expect(flat.indices).toEqual([0, 2, 4, 6, 8])
    expect(flat.fallbackSplits).toBe(3)
    // Every edge ending after 6 has distance 100 and no improving split: (0, 9) is split at its
    // middle (fallback), then (4, 9) is left alone and the smaller edge (0, 4) is split.
    const stuck = (i: number, j: number) => (j > 6 ? 100 : j - i)
    const result = await greedySelect({ candidates: 10, points: 2, distance: stuck })
    expect(result.indices).toEqual([0, 2, 4, 9])
    expect(result.fallbackSplits).toBe(1)
  })

  it("validates its arguments and honours an abort signal", async () => {
    await expect(greedySelect({ candidates: 5, points: 4, distance: () => 1 })).rejects.toThrow(RangeError)
    await expect(greedySelect({ candidates: 1, points: 0, distance: () => 1 })).rejects.toThrow(RangeError)
    await expect(greedySelect({ candidates: 5, points: 1, distance: () => Number.NaN })).rejects.toThrow(/NaN/)
    const controller = new AbortController()
    controller.abort()
    await expect(greedySelect({ candidates: 5, points: 1, distance: () => 1, signal: controller.signal })).rejects.toThrow()
  })
})

describe("scheduleDegradation", () => {
  it("spends most blur points at low std under 1 - SSIM (paper Fig. 8, official table)", async () => {
    const images = smoothPlusEdges(4, 32, 5)
    const tensors = tf.memory().numTensors
    const result = await scheduleDegradation({ family: gaussianBlurFamily(), images, candidates: 200, points: 20, distance: "ssim" })
    expect(result.severities.length).toBe(22)
    expect(result.severities[0]).toBe(0.3)
    expect(result.severities[21]).toBe(3)
    const below = result.severities.filter((s) => s < 1.65).length
    expect(below).toBeGreaterThan(11)
    expect(severityAt(result.schedule, 0.5)).toBeLessThan(1.65)
    expect(result.candidateIndices.map((i) => 0.3 + (2.7 * i) / 199)).toEqual(result.severities.map((s) => expect.closeTo(s, 12)))
    expect(result.candidateEvaluations).toBeLessThanOrEqual(200)
    expect(tf.memory().numTensors).toBe(tensors)
  })

  it("gives the same schedule with a tiny cache (recomputing evicted candidates)", async () => {
    const images = smoothPlusEdges(2, 24, 6)
    const family = inpaintGaussianFamily({ widthMax: 12 })
    const big = await scheduleDegradation({ family, images, candidates: 60, points: 8, distance: "mse" })
    const small = await scheduleDegradation({ family, images, candidates: 60, points: 8, distance: mseDistance, cacheBytes: 1 })
    expect(small.candidateIndices).toEqual(big.candidateIndices)
    expect(small.candidateEvaluations).toBeGreaterThan(big.candidateEvaluations)
    expect(big.severities[0]).toBe(0.1)
  })

  it("accepts an injected per-image metric and the PSNR distance", async () => {
    const images = smoothPlusEdges(2, 16, 7)
    const family = gaussianBlurFamily()
    let calls = 0
    const meanAbs = imageDistance("mean-abs", (a, b) => {
      calls++
      const size = a.pixels.length / a.shape[0]
      return Array.from({ length: a.shape[0] }, (_, k) => {
        let s = 0
        for (let p = k * size; p < (k + 1) * size; p++) s += Math.abs(a.pixels[p]! - b.pixels[p]!)
        return s / size
      })
    })
    const custom = await scheduleDegradation({ family, images, candidates: 40, points: 5, distance: meanAbs })
    expect(custom.distance).toBe("mean-abs")
    expect(calls).toBe(custom.distanceEvaluations)
    const byPsnr = await scheduleDegradation({ family, images, candidates: 40, points: 5, distance: "psnr" })
    expect(byPsnr.edgeDistances.every((d) => d >= 0)).toBe(true)
    expect(byPsnr.severities.length).toBe(7)
  })
})
