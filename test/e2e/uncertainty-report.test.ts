/**
 * The metric node's std_error_r column and perception-distortion plot, and the sample report's caption of its
 * std map, on a tiny pipeline: a 16 px checkpoint sampling 3 measurements once and twice each.
 */
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { events, pipe, workspace } from "./cli.js"

const checkpoint = new URL("../fixtures/torch/tiny16.ckpt", import.meta.url).pathname

const sampleWith = (samples: number) =>
  `{ use: sample, in: { model: model, process: process.process, measurements: process.measurements, images: held }, with: { dt: 0.25, engine: tfjs, perceptual: none, stop_t: 0.8, output: y, samples: ${samples} } }`

const pipeline = `version: 1
name: uncertainty
nodes:
  held: { use: load, with: { source: synthetic, seed: 2, count: 3, resolution: 16 } }
  process: { use: degrade, in: { images: held }, with: { operator: gaussian-blur, std_max: 1.5 } }
  model: { use: import-checkpoint, with: { path: ${checkpoint}, arch: tiny-16 } }
  once: ${sampleWith(1)}
  twice: ${sampleWith(2)}
  scores:
    use: metric
    in: { reconstructions: [once, twice], images: held, measurements: process.measurements }
    with: { metrics: [psnr, mobilenet-perceptual, std_error_r] }
`

describe("uncertainty and perception-distortion in the report", () => {
  it("gives std_error_r for the set of two samples only, plots the sets in the perception-distortion plane, and captions the std map by its r", () => {
    const ws = workspace()
    ws.write("p.yaml", pipeline)
    const r = pipe(ws, ["run", "p.yaml", "--json", "--backend", "wasm", "--threads", "1"])
    const all = events(r.stdout)
    expect(all.at(-1), r.stderr).toMatchObject({ type: "run-finished", status: "succeeded" })
    const report = all.at(-1)!.outputs as string
    const table = readFileSync(join(report, "scores", "metrics.md"), "utf8")
    expect(table).toMatch(/^\| \| images \| psnr \| mobilenet-perceptual \| std_error_r \|$/m)
    expect(table).toMatch(/^\| measurement \| 3 \|.*\| – \|$/m)
    expect(table).toMatch(/^\| once \| 3 \|.*\| – \|$/m)
    expect(table).toMatch(/^\| twice \| 6 \|.*\| -?\d\.\d\d pooled, -?\d\.\d\d ± \d\.\d\d per image \|$/m)
    const rows = JSON.parse(readFileSync(join(report, "scores", "metrics.json"), "utf8")) as Array<{ name: string; std_error_r?: unknown }>
    expect(rows.find((row) => row.name === "twice")?.std_error_r).toMatchObject({ images: 3, perImage: expect.any(Array) })
    expect(existsSync(join(report, "scores", "perception-distortion-mobilenet-perceptual.png"))).toBe(true)
    expect(readFileSync(join(report, "README.md"), "utf8")).toContain("(scores/perception-distortion-mobilenet-perceptual.png)")
    const summary = readFileSync(join(report, "twice", "summary.md"), "utf8")
    expect(summary).toMatch(/its std column is the (uncertainty map|pixelwise std over samples) \(.*r = -?\d\.\d\d with the error/)
    expect(summary).toMatch(/Pearson's r of the pixelwise std over samples with the absolute error of their mean, over 3 measurements/)
  }, 120_000)
})
