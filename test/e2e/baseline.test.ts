import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { readSafetensors } from "../../src/dirac/io/safetensors.js"
import { events, manifests, objectsDir, pipe, workspace } from "./cli.js"

const header = (operator = "gaussian-blur, std_max: 1.5") => `version: 1
name: baselines
nodes:
  held: { use: load, with: { source: synthetic, seed: 2, count: 3, resolution: 16 } }
  val_images: { use: load, with: { source: synthetic, seed: 5, count: 2, resolution: 16 } }
  val: { use: degrade, in: { images: val_images }, with: { operator: ${operator} } }
  process: { use: degrade, in: { images: held }, with: { operator: ${operator} } }
`

const tuned = "tune_measurements: val.measurements, tune_images: val_images"

const pipeline = `${header()}  tv:
    use: baseline
    in: { measurements: process.measurements, process: process.process, ${tuned} }
    with: { method: tv, iterations: 30 }
  wiener:
    use: baseline
    in: { measurements: process.measurements, process: process.process, ${tuned} }
    with: { method: wiener }
  tikhonov:
    use: baseline
    in: { measurements: process.measurements, process: process.process }
    with: { method: tikhonov, lambda: 0.01, iterations: 20 }
  leaky:
    use: baseline
    in: { measurements: process.measurements, process: process.process, tune_measurements: process.measurements, tune_images: held }
    with: { method: wiener }
  scores:
    use: metric
    in: { reconstructions: [tv, wiener, tikhonov], images: held, measurements: process.measurements, process: process.process }
    with: { metrics: [psnr, ssim, eps_dc] }
`

const validate = (text: string) => {
  const ws = workspace()
  ws.write("p.yaml", text)
  return pipe(ws, ["validate", "p.yaml"])
}

describe("baseline node through pipe run", () => {
  it("reconstructs with tv and wiener (lambda tuned on validation measurements) and tikhonov; the metric table has their rows", async () => {
    const ws = workspace()
    ws.write("p.yaml", pipeline)
    const r = pipe(ws, ["run", "p.yaml", "--json", "--threads", "1"])
    const all = events(r.stdout)
    expect(all.at(-1), r.stderr).toMatchObject({ type: "run-finished", status: "succeeded" })
    const table = readFileSync(join(all.at(-1)!.outputs, "scores", "metrics.md"), "utf8")
    for (const row of ["measurement", "tv", "wiener", "tikhonov"]) expect(table).toMatch(new RegExp(`^\\| ${row} \\| 3 \\|`, "m"))
    const rows = JSON.parse(readFileSync(join(all.at(-1)!.outputs, "scores", "metrics.json"), "utf8")) as Array<{
      name: string
      metrics: Record<string, { mean: number }>
    }>
    const psnr = Object.fromEntries(rows.map((row) => [row.name, row.metrics.psnr!.mean]))
    expect(psnr.tv).toBeGreaterThan(psnr.measurement!)
    expect(psnr.wiener).toBeGreaterThan(psnr.measurement!)
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
    expect(await meta("tv")).toMatchObject({ samples: 1, steps: 30, engine: expect.stringMatching(/^baseline tv \(lambda [0-9.e-]+\)$/) })
    expect(await meta("wiener")).toMatchObject({
      samples: 1,
      steps: 1,
      engine: expect.stringMatching(/^baseline wiener \(lambda [0-9.e-]+\)$/),
    })
    const tuned = all.flatMap((e) => {
      const match = typeof e.message === "string" ? /^lambda \S+ by mean PSNR on (\d+) validation measurements/.exec(e.message) : null
      return match ? [[e.id, Number(match[1])]] : []
    })
    expect(tuned.sort()).toEqual([
      ["leaky", 3],
      ["tv", 2],
      ["wiener", 2],
    ])
    const warnings = all.filter((e) => e.type === "node-log" && e.level === "warn")
    expect(warnings.map((e) => [e.id, e.message])).toEqual([
      ["leaky", "3 of the measurements reconstructed are also tuned on: their scores are not held out"],
    ])
  })

  it("reconstructs with a supervised network, one evaluation per measurement", async () => {
    const ws = workspace()
    ws.write(
      "p.yaml",
      `${header()}  model: { use: train, in: { images: val_images, process: process.process }, with: { preset: tiny-16, steps: 2, batch_size: 2, lr: 0.001 } }
  supervised:
    use: baseline
    in: { measurements: process.measurements, process: process.process, model: model }
    with: { method: supervised, engine: tfjs, batch_size: 2 }
  scores:
    use: metric
    in: { reconstructions: [supervised], images: held, measurements: process.measurements, process: process.process }
    with: { metrics: [psnr] }
`,
    )
    const r = pipe(ws, ["run", "p.yaml", "--json", "--threads", "1"])
    const all = events(r.stdout)
    expect(all.at(-1), r.stderr).toMatchObject({ type: "run-finished", status: "succeeded" })
    expect(readFileSync(join(all.at(-1)!.outputs, "scores", "metrics.md"), "utf8")).toMatch(/^\| supervised \| 3 \|/m)
    const key = manifests(ws.dir).find((m) => m.node === "supervised")!.key
    const { metadata, tensors } = await readSafetensors(join(objectsDir(ws.dir), key, "reconstructions.safetensors"))
    expect(JSON.parse(metadata["pipe.meta"]!)).toMatchObject({
      samples: 1,
      steps: 1,
      engine: expect.stringMatching(/^baseline supervised \(tfjs /),
    })
    expect(tensors.x!.shape).toEqual([3, 16, 16, 3])
  })

  it("without lambda and without validation data, stops before running and says how to fix it", () => {
    const r = validate(
      `${header()}  b: { use: baseline, in: { measurements: process.measurements, process: process.process }, with: { method: tikhonov } }\n`,
    )
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(
      /p\.yaml:\d+:\d+ nodes\.b\.with\.lambda: set lambda, or connect validation measurements to 'tune_measurements'/,
    )
  })

  it("tunes only with both validation inputs", () => {
    const r = validate(
      `${header()}  b: { use: baseline, in: { measurements: process.measurements, process: process.process, tune_images: val_images }, with: { method: tv } }\n`,
    )
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/nodes\.b\.in\.tune_images: tuning needs both validation measurements/)
  })

  it("refuses wiener for inpainting before anything runs, naming the methods that can", () => {
    const r = validate(
      `${header("inpaint-box, box_size: 6")}  b: { use: baseline, in: { measurements: process.measurements, process: process.process }, with: { method: wiener, lambda: 0.1 } }\n`,
    )
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(
      /p\.yaml:\d+:\d+ nodes\.b\.with\.method: wiener cannot reconstruct inpaint-box measurements; the methods that can: tikhonov, tv, supervised/,
    )
  })

  it("gives a schema error for a regulariser out of range", () => {
    const r = validate(
      `${header()}  b: { use: baseline, in: { measurements: process.measurements, process: process.process }, with: { method: tv, lambda: 0 } }\n`,
    )
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/p\.yaml:\d+:\d+ nodes\.b\.with\.lambda: must be > 0; got 0/)
  })

  it("supervised needs a model, and the classical methods take none", () => {
    const missing = validate(
      `${header()}  b: { use: baseline, in: { measurements: process.measurements, process: process.process }, with: { method: supervised } }\n`,
    )
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/nodes\.b\.with\.method: supervised needs the trained network: connect it to the 'model' input/)
    const extra = validate(
      `${header()}  model: { use: train, in: { images: val_images, process: process.process }, with: { preset: tiny-16, steps: 2 } }
  b: { use: baseline, in: { measurements: process.measurements, process: process.process, model: model }, with: { method: wiener, lambda: 0.1 } }\n`,
    )
    expect(extra.code).toBe(2)
    expect(extra.stderr).toMatch(/nodes\.b\.in\.model: only method supervised takes a model; wiener needs none/)
  })
})
