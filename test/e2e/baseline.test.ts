import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { readSafetensors } from "../../src/dirac/io/safetensors.js"
import { events, manifests, objectsDir, pipe, workspace } from "./cli.js"

const pipeline = (tikhonov = "lambda: 0.01, iterations: 20", tvImages = "images: held") => `version: 1
name: baselines
nodes:
  held: { use: load, with: { source: synthetic, seed: 2, count: 3, resolution: 16 } }
  process: { use: degrade, in: { images: held }, with: { operator: gaussian-blur, std_max: 1.5 } }
  tv:
    use: baseline
    in: { measurements: process.measurements, process: process.process, ${tvImages} }
    with: { method: tv, iterations: 30, tune_images: 2 }
  tikhonov:
    use: baseline
    in: { measurements: process.measurements, process: process.process }
    with: { method: tikhonov, ${tikhonov} }
  scores:
    use: metric
    in: { reconstructions: [tv, tikhonov], images: held, measurements: process.measurements, process: process.process }
    with: { metrics: [psnr, ssim, eps_dc] }
`

describe("baseline node through pipe run", () => {
  it("reconstructs with tv (lambda tuned) and tikhonov, and the metric table has their rows", async () => {
    const ws = workspace()
    ws.write("p.yaml", pipeline())
    const r = pipe(ws, ["run", "p.yaml", "--json", "--threads", "1"])
    const all = events(r.stdout)
    expect(all.at(-1), r.stderr).toMatchObject({ type: "run-finished", status: "succeeded" })
    const table = readFileSync(join(all.at(-1)!.outputs, "scores", "metrics.md"), "utf8")
    expect(table).toMatch(/^\| measurement \| 3 \|/m)
    expect(table).toMatch(/^\| tv \| 3 \|/m)
    expect(table).toMatch(/^\| tikhonov \| 3 \|/m)
    const rows = JSON.parse(readFileSync(join(all.at(-1)!.outputs, "scores", "metrics.json"), "utf8")) as Array<{
      name: string
      metrics: Record<string, { mean: number }>
    }>
    const psnr = Object.fromEntries(rows.map((row) => [row.name, row.metrics.psnr!.mean]))
    expect(psnr.tv).toBeGreaterThan(psnr.measurement!)
    const meta = async (node: string) => {
      const key = manifests(ws.dir).find((m) => m.node === node)!.key
      const { metadata } = await readSafetensors(join(objectsDir(ws.dir), key, "reconstructions.safetensors"))
      return JSON.parse(metadata["pipe.meta"]!)
    }
    expect(await meta("tikhonov")).toMatchObject({
      samples: 1,
      output: "x0",
      t_stop: 0,
      dt: 0,
      steps: 20,
      engine: "baseline tikhonov (lambda 0.01)",
    })
    expect(await meta("tv")).toMatchObject({
      samples: 1,
      output: "x0",
      steps: 30,
      engine: expect.stringMatching(/^baseline tv \(lambda [0-9.e-]+\)$/),
    })
    expect(all.some((e) => typeof e.message === "string" && /lambda \S+ by mean PSNR on 2 measurements/.test(e.message))).toBe(true)
  })

  it("without lambda and without clean images, stops before running and says how to fix it", () => {
    const ws = workspace()
    ws.write("p.yaml", pipeline("iterations: 20"))
    const r = pipe(ws, ["run", "p.yaml"])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/tikhonov.*lambda.*connect the clean images to the 'images' input/s)
  })
})
