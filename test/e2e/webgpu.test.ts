import { describe, expect, it } from "vitest"
import { initBackend } from "../../src/runtime/backend/index.js"
import { events, manifests, pipe, workspace } from "./cli.js"
import { tinyPipeline } from "./tiny-pipeline.js"

// Where no WebGPU adapter exists, say why the test is skipped.
const missing = await initBackend("webgpu").then(
  () => undefined,
  (e: unknown) => (e instanceof Error ? e.message.split(/\n|\. /)[0]! : String(e)),
)

/**
 * Every node kind that reads tensors back, at the smallest size: a GPU tensor read synchronously fails the run.
 * (A tensor already read asynchronously stays readable, so "blind" samples without clean images.)
 */
const pipeline = tinyPipeline(
  "webgpu-tiny",
  `  run: { use: sample, in: { model: model, process: scheduled, measurements: process.measurements, images: held }, with: { dt: 0.5, perceptual: none } }
  blind: { use: sample, in: { model: model, process: scheduled, measurements: process.measurements }, with: { dt: 0.5, samples: 2 } }
  scores: { use: metric, in: { reconstructions: [run], images: held, measurements: process.measurements, process: scheduled }, with: { metrics: [psnr, ssim, eps_dc] } }
`,
)

describe.skipIf(missing !== undefined)(`a pipeline on --backend webgpu${missing ? ` (skipped: ${missing})` : ""}`, () => {
  it("load, degrade, schedule, train, sample and metric run; the device is shown and recorded", () => {
    const ws = workspace()
    ws.write("p.yaml", pipeline)
    const r = pipe(ws, ["run", "p.yaml", "--backend", "webgpu"])
    expect(r.code, r.stderr).toBe(0)
    const device = /^\[run\] webgpu-tiny run \S+ backend webgpu \((WebGPU on .+)\): chosen with --backend webgpu$/m.exec(r.stderr)?.[1]
    expect(device, r.stderr).toBeDefined()
    const artifacts = manifests(ws.dir)
    expect(artifacts.map((m) => m.node).sort()).toEqual(["blind", "held", "images", "model", "process", "run", "scheduled", "scores"])
    for (const m of artifacts) expect(m, m.node).toMatchObject({ device, backend: expect.stringMatching(/^webgpu\//) })
    const cached = events(pipe(ws, ["run", "p.yaml", "--backend", "webgpu", "--json"]).stdout)
    expect(cached.at(-1)).toMatchObject({ status: "succeeded", counts: { cached: 8 } })
  }, 240_000)
})
