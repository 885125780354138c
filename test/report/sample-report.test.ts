import * as tf from "@tensorflow/tfjs-core"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { emptyTrajectories } from "../../src/dirac/sample/trajectories.js"
import { heatImage, heatScale } from "../../src/report/grid.js"
import type { StdErrorCorrelation } from "../../src/dirac/metrics/std-error-correlation.js"
import { sampleSummary, stdCaption, writeSampleReport, type SampleRunInfo } from "../../src/report/sample-report.js"
import { initBackend } from "../../src/runtime/backend/select.js"

beforeAll(async () => {
  await initBackend("cpu")
})

const info: SampleRunInfo = { dt: 0.05, tStop: 0.3, output: "x0", samples: 2, seed: 7, engine: "onnxruntime (CPU)", measurements: 16 }

describe("the sample report", () => {
  it("states the run's parameters, and how much of it the grid shows, with the std map's scale", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sample-report-"))
    const [shown, size] = [3, 12]
    const y = tf.fill<tf.Rank.R4>([shown, size, size, 3], 0.5)
    const x = new Float32Array(shown * 2 * size * size * 3).map((_, i) => (Math.floor(i / (size * size * 3)) % 2) * 0.4)
    await writeSampleReport(dir, y, x, undefined, emptyTrajectories(info.dt, 0.0025), info)
    y.dispose()
    expect(readFileSync(join(dir, "summary.md"), "utf8")).toBe(
      "Sampled 16 measurements, 2 samples each: dt 0.05, t_stop 0.3, output x0, seed 7; the network ran on onnxruntime (CPU).\n\n" +
        "grid.png shows the first 3 of 16 measurements; its std column is the pixelwise std over samples (no clean images to check it " +
        "against the error: not called an uncertainty map): black is 0 and white 0.200, the largest std shown.\n",
    )
  })

  it("draws std maps on one shared scale, so a row with less spread looks darker", () => {
    const low = new Float32Array(12).fill(0.1)
    const high = new Float32Array(12).fill(0.2)
    const max = heatScale([low, high])
    expect(max).toBeCloseTo(0.2, 6)
    expect(heatImage(low, 2, 2, max).pixels[0]).toBeCloseTo(0.5, 6)
    expect(heatImage(high, 2, 2, max).pixels[0]).toBeCloseTo(1, 6)
  })

  it("calls the std an uncertainty map only when it is clearly correlated with the error", () => {
    const correlation = (pooled: number | null, interval: [number, number] | null): StdErrorCorrelation => ({
      perImage: [0.4, 0.5],
      pooled,
      images: 2,
      mean: 0.45,
      std: 0.05,
      interval,
    })
    expect(stdCaption(correlation(0.45, [0.1, 0.8]))).toBe("uncertainty map (the pixelwise std over samples, r = 0.45 with the error)")
    expect(stdCaption(correlation(0.02, [-0.1, 0.2]))).toBe("pixelwise std over samples (r = 0.02 with the error: not an uncertainty map)")
    expect(stdCaption(correlation(0.45, [-0.2, 1]))).toMatch(/not an uncertainty map/)
    expect(stdCaption(correlation(0.45, null))).toMatch(/not an uncertainty map/)
    expect(stdCaption(correlation(null, null))).toBe("pixelwise std over samples (r = undefined with the error: not an uncertainty map)")
    expect(
      sampleSummary(info, 3, 0.2, correlation(0.02, [-0.1, 0.2]))
        .split("\n\n")
        .at(-1),
    ).toBe(
      "Pearson's r of the pixelwise std over samples with the absolute error of their mean, over 16 measurements: " +
        "0.02 pooled, 0.45 ± 0.05 per image (95% interval of the per-image mean -0.10 to 0.20). " +
        "The std is called an uncertainty map only when pooled r >= 0.3 and the 95% interval of the mean per-image r lies above 0.",
    )
  })
})
