import { existsSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import type { StdErrorCorrelation } from "../../src/dirac/metrics/std-error-correlation.js"
import { metricsMarkdown, writeMetricsReport, type MetricRow, type Summary } from "../../src/report/metrics-report.js"

const summary = (values: number[]): Summary => ({
  mean: values.reduce((a, b) => a + b, 0) / values.length,
  std: 0,
  values,
})

const correlation = (pooled: number | null, mean: number | null): StdErrorCorrelation => ({
  perImage: [mean, mean],
  pooled,
  images: mean === null ? 0 : 2,
  mean,
  std: mean === null ? null : 0.1,
  interval: null,
})

const row = (name: string, psnr: number[], perceptual: number[], std_error_r?: StdErrorCorrelation): MetricRow => ({
  name,
  count: psnr.length,
  metrics: { psnr: summary(psnr), "mobilenet-perceptual": summary(perceptual) },
  sets: {},
  ...(std_error_r ? { std_error_r } : {}),
})

const rows = [
  row("measurement", [24, 25], [4.8, 4.6]),
  row("distortion_optimised", [26, 27], [3.2, 3.0]),
  row("perception_optimised", [25.5, 26.5, 26, 27], [3.1, 2.9, 3.0, 2.8], correlation(0.02, 0.05)),
  row("flat", [25, 26], [3.5, 3.4], correlation(null, null)),
]

describe("the metric node's report", () => {
  it("has a std_error_r column: pooled and per-image r for sets of several samples, '–' for the others, 'undefined' for a constant std", () => {
    const table = metricsMarkdown(rows, ["psnr", "std_error_r"]).split("\n")
    expect(table[0]).toBe("| | images | psnr | std_error_r |")
    expect(table[2]).toMatch(/^\| measurement \| 2 \| 24\.50 ± 0\.0 \| – \|$/)
    expect(table[3]).toMatch(/\| – \|$/)
    expect(table[4]).toMatch(/\| 0\.02 pooled, 0\.05 ± 0\.10 per image \|$/)
    expect(table[5]).toMatch(/\| undefined \(constant std\) \|$/)
    expect(table.join("\n")).not.toContain("NaN")
  })

  it("adds a table per reference of paired comparisons: signed mean ± standard error, and how many images are better", () => {
    const paired: MetricRow = {
      ...rows[1]!,
      paired: {
        tv: {
          psnr: { images: 16, mean: 0.6931, standard_error: 0.1199, better: 16 },
          "mobilenet-perceptual": { images: 16, mean: -0.26, standard_error: null, better: 15 },
        },
      },
    }
    const table = metricsMarkdown([rows[0]!, paired, rows[2]!], ["psnr", "ssim", "mobilenet-perceptual"]).split("\n")
    const at = table.findIndex((line) => line.startsWith("Against tv, image by image"))
    expect(at).toBeGreaterThan(0)
    expect(table.slice(at + 2)).toEqual([
      "| | psnr | mobilenet-perceptual |",
      "|---|---|---|",
      "| distortion_optimised | +0.693 ± 0.12, better on 16 of 16 | -0.260, better on 15 of 16 |",
    ])
    expect(metricsMarkdown(rows, ["psnr"])).not.toContain("Against")
  })

  it("plots every set in the perception-distortion plane when PSNR and a perceptual metric are scored, and only then", async () => {
    const dir = mkdtempSync(join(tmpdir(), "metrics-report-"))
    await writeMetricsReport(dir, "table", rows, ["psnr", "mobilenet-perceptual", "std_error_r"], [1, 1, 1, 1])
    const png = readFileSync(join(dir, "perception-distortion-mobilenet-perceptual.png"))
    expect(png.subarray(1, 4).toString()).toBe("PNG")
    expect(JSON.parse(readFileSync(join(dir, "metrics.json"), "utf8"))[3].std_error_r.pooled).toBeNull()

    const psnrOnly = mkdtempSync(join(tmpdir(), "metrics-report-"))
    await writeMetricsReport(psnrOnly, "table", rows, ["psnr", "ssim"], [1, 1, 1, 1])
    expect(existsSync(join(psnrOnly, "perception-distortion-mobilenet-perceptual.png"))).toBe(false)
  })
})
