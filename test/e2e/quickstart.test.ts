import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { events, pipe, workspace } from "./cli.js"

const root = new URL("../..", import.meta.url).pathname

/** The shipped quickstart through the real CLI, shortened with --set (steps, images, baseline iterations) so that CI runs it in about a minute. */
const shortened = (file: string, iterative: ReadonlyArray<string>) => {
  const ws = workspace()
  const r = pipe(ws, [
    "run",
    join(root, "pipelines", file),
    "--cache-dir",
    join(ws.dir, ".pipe"),
    "--json",
    "--set",
    "params.steps=20",
    "--set",
    "params.train_images=32",
    "--set",
    "params.test_images=4",
    "--set",
    "params.dt=0.25",
    ...iterative.flatMap((node) => ["--set", `${node}.with.iterations=10`]),
  ])
  expect(r.code, r.stderr).toBe(0)
  const finished = events(r.stdout).at(-1)!
  expect(finished).toMatchObject({ type: "run-finished", status: "succeeded" })
  // Sampling reports progress after every step: more often than once per batch of 4 of the 8 validation images.
  const sampling = events(r.stdout).filter((e) => e.type === "node-progress" && e.id === "validation_run")
  expect(sampling.length).toBeGreaterThan(2)
  return finished.outputs as string
}

describe.each([
  ["quickstart-blur.yaml", "wiener", ["supervised"]],
  ["quickstart-inpaint.yaml", "tikhonov", []],
])("%s, shortened", (file, classical, learned) => {
  it("runs to a report with sane metrics", () => {
    const report = shortened(file, classical === "wiener" ? ["tv"] : ["tv", classical])
    expect(readFileSync(join(report, "README.md"), "utf8")).toMatch(/\| distortion_optimised \| 4 \|/)
    for (const f of [
      "model/loss.png",
      "validation_run/psnr.png",
      "validation_run/perception.png",
      "validation_run/data-consistency.png",
      "distortion_optimised/grid.png",
      "perception_optimised/grid.png",
      "distortion_rule/early-stop.png",
      "scores/perception-distortion-mobilenet-perceptual.png",
    ]) {
      expect(existsSync(join(report, f)), f).toBe(true)
    }
    const rows = JSON.parse(readFileSync(join(report, "scores", "metrics.json"), "utf8")) as Array<{
      name: string
      count: number
      metrics: Record<string, { mean: number }>
      std_error_r?: { perImage: unknown[] }
      paired?: Record<string, Record<string, { images: number; better: number }>>
    }>
    const names = ["measurement", "distortion_optimised", "perception_optimised", classical, "tv", ...learned]
    expect(rows.map((r) => r.name)).toEqual(names)
    expect(rows.map((r) => r.std_error_r?.perImage.length)).toEqual(names.map((n) => (n === "perception_optimised" ? 4 : undefined)))
    expect(rows[2].count).toBe(8)
    const references = ["tv", ...learned]
    expect(Object.keys(rows[1].paired ?? {})).toEqual(references)
    expect(rows[2].paired!.tv!.psnr).toMatchObject({ images: 4 })
    expect(rows[0].paired).toBeUndefined()
    for (const reference of references)
      expect(readFileSync(join(report, "README.md"), "utf8")).toContain(`Against ${reference}, image by image`)
    for (const row of rows) {
      expect(row.metrics.psnr.mean).toBeGreaterThan(10)
      expect(row.metrics.psnr.mean).toBeLessThan(60)
      expect(row.metrics.ssim.mean).toBeGreaterThan(0)
      expect(row.metrics.ssim.mean).toBeLessThanOrEqual(1)
      expect(row.metrics["mobilenet-perceptual"].mean).toBeGreaterThan(0)
      // eps_dc of a reconstruction consistent with y~ sits near the noise floor sigma_1^2 = 0.0025.
      expect(row.metrics.eps_dc.mean).toBeGreaterThan(0.001)
      expect(row.metrics.eps_dc.mean).toBeLessThan(0.02)
    }
    expect(readdirSync(join(report, "perception_optimised"))).toContain("grid.png")
    expect(readFileSync(join(report, "distortion_rule", "early-stop.md"), "utf8")).toMatch(/^Chosen t_stop = \d\.\d{4}: psnr_x0 is best/)
    expect(readFileSync(join(report, "README.md"), "utf8")).toMatch(
      /Sampled 4 measurements, \d+ samples? each: dt 0\.25, t_stop [\d.]+, output \w+, seed \d+/,
    )
  }, 300_000)
})
